import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisionDevice } from '../emulators/provisioning.ts';
import { parseRoleConfig, ROLE_KINDS, type RoleConfig } from './role-config.ts';

const FILE = '/config/role.json';
const device = provisionDevice('wearable-0001', 1);
const clock = { startSec: 1_700_000_000, speedup: 60, wallStartMs: 1_700_000_000_000 };
const endpoint = { host: 'gateway', port: 8883, serverName: 'gateway.testbed.local' };

const VALID: Record<RoleConfig['role'], Record<string, unknown>> = {
  wearables: { role: 'wearables', devices: [device], endpoint, profile: 'secure', clock },
  'fleet-shard': { role: 'fleet-shard', devices: [device], endpoint, clock, queueCapacity: 256 },
  'fleet-cloud': { role: 'fleet-cloud', devices: [device], broker: { ...endpoint, host: 'cloud.testbed.local', serverName: 'cloud.testbed.local' }, clock },
  gateway: {
    role: 'gateway',
    mode: 'terminate',
    listenPort: 8883,
    upstream: { ...endpoint, host: 'cloud-broker', serverName: 'cloud.testbed.local' },
    malice: [{ name: 'sniff', options: {} }, { name: 'tamper', options: { packets: [2], byteOffset: 30, bit: 0 } }, { name: 'replay', options: { packets: [1, 3], copies: 2 } }, { name: 'drop', options: { packets: [4] } }],
  },
  'cloud-service': { role: 'cloud-service', devices: [device], broker: { ...endpoint, host: 'cloud-broker', serverName: 'cloud.testbed.local' }, clock },
  'resumption-device': { role: 'resumption-device', device, endpoint: { host: 'link.testbed.local', port: 8883 }, tlsVersion: 'TLS 1.3', keepSessions: true },
  'tcp-link': { role: 'tcp-link', name: 'device-cloud', listenPort: 8883, target: { host: 'cloud.testbed.local', port: 8883 }, oneWayDelayMs: 25 },
  probe: { role: 'probe', broker: { ...endpoint, host: 'cloud.testbed.local', serverName: 'cloud.testbed.local' } },
  'first-flight-recorder': { role: 'first-flight-recorder', listenPort: 4433, target: { host: 'front.testbed.local', port: 8883 } },
  'firmware-fleet': { role: 'firmware-fleet', broker: { ...endpoint, host: 'cloud.testbed.local', serverName: 'cloud.testbed.local' }, passwordPort: 8884 },
  'mitm-proxy': { role: 'mitm-proxy', listenPort: 8883, handshakeTimeoutMs: 5_000 },
  'dtls-wearables': { role: 'dtls-wearables', devices: [device], endpoint: { ...endpoint, port: 5684 }, auth: { kind: 'certificate' }, clock, handshakeTimeoutMs: 5_000 },
  'dtls-gateway': { role: 'dtls-gateway', name: 'cloud-dtls', listenPort: 5684, auth: { kind: 'psk', pskHex: '00'.repeat(16) }, upstream: { ...endpoint, host: 'cloud.testbed.local', serverName: 'cloud.testbed.local' }, identity: 'identity-dir', malice: [] },
  'dtls-psk-attacker': { role: 'dtls-psk-attacker', listenPort: 5684, upstream: { host: '172.20.0.3', port: 5684 }, pskHex: '0f'.repeat(16), malice: [{ name: 'replay', options: { packets: [7] } }] },
  'dtls-fleet-shard': { role: 'dtls-fleet-shard', devices: [device], endpoint: { host: 'device-link.testbed.local', port: 5685 }, pskHex: '0f'.repeat(16), clock, handshakeTimeoutMs: 15_000, resend: { intervalMs: 500, maxAttempts: 21 }, window: 1 },
  'udp-link': { role: 'udp-link', name: 'device-gateway', listenPort: 5685, target: { host: '172.20.0.2', port: 5684 }, impairments: { clientToServer: [{ kind: 'loss', rate: 0.1, retransmitMs: 0 }], serverToClient: [{ kind: 'loss', rate: 0.1, retransmitMs: 0 }], seed: 42 } },
  'interception-victim': { role: 'interception-victim', victim: device, crlPems: ['-----BEGIN X509 CRL-----\n…\n-----END X509 CRL-----\n'], cloudPin: 'pin', mitm: { host: 'mitm.testbed.local', port: 8883 } },
  'dtls-mitm': { role: 'dtls-mitm', listenPort: 5684, handshakeTimeoutMs: 5_000 },
  'dtls-client': { role: 'dtls-client', victim: device },
  'dtls-cloud-endpoint': { role: 'dtls-cloud-endpoint', listenPort: 5684, devices: [device], handshakeTimeoutMs: 8_000 },
  'dtls-session-server': { role: 'dtls-session-server', listenPort: 5684, clientCertificate: false },
  'dtls-session-device': { role: 'dtls-session-device', endpoint: { host: 'device-cloud.testbed.local', port: 5685 }, clientCertificate: true },
};

/** parseRoleConfig must refuse `config` with one line naming the file and matching `expected`. */
function refuses(config: unknown, expected: RegExp): void {
  assert.throws(
    () => parseRoleConfig(JSON.stringify(config), FILE),
    (err: unknown) => {
      assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
      assert.ok(!(err instanceof TypeError), `a raw TypeError: ${err.message}`);
      assert.ok(err.message.startsWith(`role-runner: ${FILE}`), err.message);
      assert.doesNotMatch(err.message, /\n/, 'one line');
      assert.match(err.message, expected);
      return true;
    },
  );
}

/** A copy of `base` with the value at a dotted path replaced (undefined deletes it). */
function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

test('every role kind has a validator, and a valid config of each comes back unchanged', () => {
  assert.deepEqual([...ROLE_KINDS].sort(), Object.keys(VALID).sort());
  for (const config of Object.values(VALID)) assert.deepEqual(parseRoleConfig(JSON.stringify(config), FILE), config);
});

test('DTLS roles: a PSK that is not 16 bytes of hex, an unknown DTLS authentication or impairment is refused with what to write', () => {
  refuses(withField(VALID['dtls-psk-attacker'] as Record<string, unknown>, 'pskHex', 'secret'), /field "pskHex" is "secret"; write 16 bytes as 32 lower-case hex digits/);
  refuses(withField(VALID['dtls-gateway'] as Record<string, unknown>, 'auth.kind', 'raw-public-key'), /field "auth.kind" .*write one of "certificate", "psk"/);
  refuses(withField(VALID['udp-link'] as Record<string, unknown>, 'impairments.clientToServer', [{ kind: 'netem' }]), /field "impairments.clientToServer\[0\]" .*write an impairment object/);
});

test('the gateway keeps upstream sessions only when told true or false', () => {
  assert.equal(parseRoleConfig(JSON.stringify({ ...VALID.gateway, upstreamSessions: true }), FILE).role, 'gateway');
  refuses(withField(VALID.gateway as Record<string, unknown>, 'upstreamSessions', 'yes'), /field "upstreamSessions" .*write true or false/);
});

test('JSON that is not an object (null, a number, an array, a string) is refused with what to write', () => {
  for (const [value, shown] of [[null, 'null'], [42, '42'], [[VALID.gateway], 'an array'], ['wearables', '"wearables"']] as const) {
    refuses(value, new RegExp(`holds ${shown.replace(/[[\]]/g, '\\$&')}; write a JSON object such as \\{"role": "wearables"`));
  }
  assert.throws(() => parseRoleConfig('{"role":', FILE), /role-runner: \/config\/role\.json is not JSON/);
});

test('a missing or unknown role names the known kinds', () => {
  refuses({ devices: [] }, /field "role" is missing; write one of "wearables", "gateway", "cloud-service"/);
  refuses({ role: 'toaster' }, /field "role" is "toaster"; write one of "wearables", "gateway", "cloud-service"/);
  refuses({ role: null }, /field "role" is null; write one of/);
});

test('each field the runner reads is checked: missing, or of the wrong type, names the field and what to write', () => {
  const cases: [RoleConfig['role'], string, unknown, RegExp][] = [
    ['wearables', 'devices', undefined, /field "devices" is missing; write a JSON array of at least 1 device records/],
    ['wearables', 'devices', [], /field "devices" is an array; write a JSON array of at least 1 device/],
    ['wearables', 'devices', { deviceId: 'x' }, /field "devices" is \{"deviceId":"x"\}; write a JSON array/],
    ['wearables', 'devices', [null], /field "devices\[0\]" is null; write a JSON object \(a device record/],
    ['wearables', 'devices', [{ ...device, deviceId: 7 }], /field "devices\[0\]\.deviceId" is 7; write a non-empty string, e.g. "wearable-0001"/],
    ['wearables', 'devices', [{ ...device, pseudonymHex: 'abcd' }], /field "devices\[0\]\.pseudonymHex" is "abcd"; write 16 bytes as 32 lower-case hex digits/],
    ['wearables', 'devices', [{ ...device, saltHex: undefined }], /field "devices\[0\]\.saltHex" is missing; write 4 bytes as 8/],
    ['wearables', 'devices', [{ ...device, algorithm: 'des' }], /field "devices\[0\]\.algorithm" is "des"; write one of "aes-128-gcm", "chacha20-poly1305"/],
    ['wearables', 'devices', [{ ...device, mqttPassword: '' }], /field "devices\[0\]\.mqttPassword" is ""; write a non-empty string/],
    ['wearables', 'devices', [{ ...device, patientId: undefined }], /field "devices\[0\]\.patientId" is missing/],
    ['wearables', 'endpoint', undefined, /field "endpoint" is missing; write a JSON object \(\{"host": …, "port": …, "serverName": …\}\)/],
    ['wearables', 'endpoint.host', '', /field "endpoint\.host" is ""; write a non-empty string/],
    ['wearables', 'endpoint.port', '8883', /field "endpoint\.port" is "8883"; write a whole number 1\.\.65535, e.g\. 8883/],
    ['wearables', 'endpoint.port', 70_000, /field "endpoint\.port" is 70000; write a whole number 1\.\.65535/],
    ['wearables', 'endpoint.serverName', undefined, /field "endpoint\.serverName" is missing; write a non-empty string, e\.g\. "cloud\.testbed\.local"/],
    ['wearables', 'profile', 'insecure', /field "profile" is "insecure"; write one of "secure", .*"plaintext"/],
    ['wearables', 'profile', undefined, /field "profile" is missing; write one of "secure"/],
    ['wearables', 'clock', 5, /field "clock" is 5; write a JSON object \(\{"startSec"/],
    ['wearables', 'clock.startSec', -1, /field "clock\.startSec" is -1; write a whole number 0\.\.4294967295/],
    ['wearables', 'clock.speedup', 0, /field "clock\.speedup" is 0; write simulated seconds per wall-clock second, a number in \(0, 1000000\]/],
    ['wearables', 'clock.wallStartMs', 'now', /field "clock\.wallStartMs" is "now"; write wall-clock milliseconds/],
    ['gateway', 'mode', 'proxy', /field "mode" is "proxy"; write one of "relay", "terminate"/],
    ['gateway', 'listenPort', undefined, /field "listenPort" is missing; write a whole number 1\.\.65535/],
    ['gateway', 'listenPort', 8883.5, /field "listenPort" is 8883\.5; write a whole number/],
    ['gateway', 'upstream', undefined, /field "upstream" is missing; write a JSON object/],
    ['gateway', 'upstream.port', null, /field "upstream\.port" is null; write a whole number 1\.\.65535/],
    ['gateway', 'malice', undefined, /field "malice" is missing; write a JSON array of gateway malice objects/],
    ['gateway', 'malice', ['tamper'], /field "malice\[0\]" is "tamper"; write a malice object, e\.g\. \{"name": "tamper"/],
    ['gateway', 'malice', [{ name: 'flood', options: {} }], /field "malice\[0\]\.name" is "flood"; write one of "sniff", "tamper", "replay", "drop"/],
    ['gateway', 'malice', [{ name: 'tamper' }], /field "malice\[0\]\.options" is missing; write a JSON object/],
    ['gateway', 'malice', [{ name: 'tamper', options: { packets: [] } }], /field "malice\[0\]\.options\.packets" is an array; write a JSON array of at least 1 reading numbers/],
    ['gateway', 'malice', [{ name: 'tamper', options: { packets: [0] } }], /field "malice\[0\]\.options\.packets\[0\]" is 0; write a whole number 1\.\./],
    ['gateway', 'malice', [{ name: 'tamper', options: { packets: [2], bit: 8 } }], /field "malice\[0\]\.options\.bit" is 8; write a whole number 0\.\.7/],
    ['gateway', 'malice', [{ name: 'replay', options: { packets: [2], copies: 0 } }], /field "malice\[0\]\.options\.copies" is 0; write a whole number 1\.\.100/],
    ['gateway', 'malice', [{ name: 'drop', options: {} }], /field "malice\[0\]\.options\.packets" is missing/],
    ['cloud-service', 'devices', 'all', /field "devices" is "all"; write a JSON array of device records/],
    ['cloud-service', 'broker', undefined, /field "broker" is missing; write a JSON object/],
    ['cloud-service', 'broker.host', 1, /field "broker\.host" is 1; write a non-empty string/],
    ['cloud-service', 'clock', undefined, /field "clock" is missing/],
  ];
  for (const [role, path, value, expected] of cases) refuses(withField(VALID[role], path, value), expected);
});

test('a cloud service may start with no devices; optional malice options may be left out', () => {
  assert.deepEqual(parseRoleConfig(JSON.stringify({ ...VALID['cloud-service'], devices: [] }), FILE), { ...VALID['cloud-service'], devices: [] });
  const gateway = { ...VALID.gateway, malice: [{ name: 'tamper', options: { packets: [2] } }] };
  assert.deepEqual(parseRoleConfig(JSON.stringify(gateway), FILE), gateway);
});

test('a mitm-proxy or interception-victim config with a bad field is refused naming it', () => {
  refuses(withField(VALID['mitm-proxy'] as Record<string, unknown>, 'handshakeTimeoutMs', 0), /field "handshakeTimeoutMs" is 0; write a whole number 100\.\.120000/);
  refuses(withField(VALID['interception-victim'] as Record<string, unknown>, 'crlPems', []), /field "crlPems" is an array; write a JSON array of at least 1 CRLs as PEM text/);
  refuses(withField(VALID['interception-victim'] as Record<string, unknown>, 'mitm.port', 70_000), /field "mitm\.port" is 70000/);
});
