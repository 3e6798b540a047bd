/**
 * What a role runner in a container is told, as plain JSON (written by the containers topology,
 * mounted at CONFIG_PATH). Paths are container paths: the run's PKI is mounted read-only at
 * PKI_DIR, the evidence directory read-write at EVIDENCE_DIR, the control socket's directory at
 * CONTROL_DIR.
 */
import { E3_ALGORITHMS, type E3Algorithm } from '../crypto/e3-packet.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import { clientProfiles, wearableProfiles } from '../emulators/tls-client-profile.ts';
import { COMMAND_HANDLERS, type CommandHandlerName } from '../emulators/commands/command-handlers.ts';
import { IMPAIRMENT_KINDS, type Impairment, type LinkImpairments } from '../links/impairments.ts';

export const CONFIG_PATH = '/config/role.json';
export const PKI_DIR = '/pki';
export const IDENTITY_DIR = '/identity';
export const EVIDENCE_DIR = '/evidence';
export const CONTROL_DIR = '/control';
/** The project tree, mounted read-only: roles run the same code as in the local topology. */
export const PROJECT_DIR = '/testbed';
/** The runner prints this once its role is up (the containers' wait strategy). */
export const READY_LINE = 'role-runner: ready';
/** TLS port of every TLS-speaking role (MQTT over TLS, IANA). */
export const MQTT_TLS_PORT = 8883;
/** Plain MQTT (IANA 1883): only for the plaintext pitfall scenario. */
export const MQTT_PLAIN_PORT = 1883;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
}

export interface WearablesRole {
  readonly role: 'wearables';
  readonly devices: readonly DeviceProvisioning[];
  readonly endpoint: Endpoint;
  readonly profile: string;
  readonly clock: SimClockSpec;
  /** Take sealed cloud commands with this handler (emulators/commands/command-handlers.ts); none when absent. */
  readonly commandHandler?: CommandHandlerName;
}

/** A shard of the fleet (containers/roles/fleet-shard.ts): topology/containers-fleet.ts. */
export interface FleetShardRole {
  readonly role: 'fleet-shard';
  readonly devices: readonly DeviceProvisioning[];
  readonly endpoint: Endpoint;
  readonly clock: SimClockSpec;
  readonly queueCapacity: number;
}

/** The fleet's cloud service: a persistent-session subscriber keeping the delivery ledger (containers/roles/fleet-cloud.ts). */
export interface FleetCloudRole {
  readonly role: 'fleet-cloud';
  readonly devices: readonly DeviceProvisioning[];
  readonly broker: Endpoint;
  readonly clock: SimClockSpec;
}

export interface GatewayRole {
  readonly role: 'gateway';
  readonly mode: 'relay' | 'terminate';
  readonly listenPort: number;
  readonly upstream: Endpoint;
  readonly malice: readonly { readonly name: string; readonly options: Readonly<Record<string, unknown>> }[];
  /** Client profile of its upstream (E4) TLS; "secure" when absent (emulators/tls-client-profile.ts). */
  readonly upstreamProfile?: string;
  /** Keep its upstream TLS sessions and offer them back on reconnect (the resumption scenario). */
  readonly upstreamSessions?: boolean;
}

export interface CloudServiceRole {
  readonly role: 'cloud-service';
  readonly devices: readonly DeviceProvisioning[];
  readonly broker: Endpoint;
  readonly clock: SimClockSpec;
  /** DTLS paths: acknowledge readings on `cloud/acks/<pseudonym>` (emulators/dtls/cloud-acks.ts). */
  readonly dtlsAcks?: boolean;
  /** Send sealed device commands and audit their responses (emulators/cloud/command-center.ts). */
  readonly commands?: boolean;
}

/** One device of the handshake scenarios, with its own TLS session cache (containers/roles/resumption-device.ts). */
export interface ResumptionDeviceRole {
  readonly role: 'resumption-device';
  readonly device: DeviceProvisioning;
  /** Where the device connects (the emulated link); the server name is chosen per connection. */
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly tlsVersion: 'TLS 1.2' | 'TLS 1.3';
  /** Keep TLS sessions and offer them back; false = every handshake is full. */
  readonly keepSessions: boolean;
}

/** An emulated link as a userspace relay (links/tcp-link.ts) with a latency per direction (containers/roles/tcp-link-relay.ts). */
export interface TcpLinkRelayRole {
  readonly role: 'tcp-link';
  readonly name: string;
  readonly listenPort: number;
  readonly target: { readonly host: string; readonly port: number };
  /** Delay added to each direction, in ms (half the emulated round trip). */
  readonly oneWayDelayMs: number;
}

/** The 0-RTT replay's on-path attacker (containers/roles/first-flight-recorder.ts): a relay that keeps each connection's first flight. */
export interface FirstFlightRecorderRole {
  readonly role: 'first-flight-recorder';
  readonly listenPort: number;
  readonly target: { readonly host: string; readonly port: number };
}

/** A probe of the broker's own policy (containers/roles/probe.ts): what it offers comes with each request. */
/** The firmware fleet and the attacker with a leaked image (containers/roles/firmware-fleet.ts). */
export interface FirmwareFleetRole {
  readonly role: 'firmware-fleet';
  /** The broker's mutual-TLS listener. */
  readonly broker: Endpoint;
  /** Its username-and-password TLS listener on the same host (hard-coded credentials). */
  readonly passwordPort: number;
}

export interface ProbeRole {
  readonly role: 'probe';
  readonly broker: Endpoint;
}

/** How a DTLS client or server authenticates: certificates (the run's PKI) or a pre-shared key (RFC 4279). */
export type DtlsAuth = { readonly kind: 'certificate' } | { readonly kind: 'psk'; readonly pskHex: string };

/** DTLS wearables (emulators/dtls/dtls-wearable.ts, one pion bridge each; containers/roles/dtls-roles.ts). */
export interface DtlsWearablesRole {
  readonly role: 'dtls-wearables';
  readonly devices: readonly DeviceProvisioning[];
  /** UDP address of the DTLS server (or the link before it); serverName is checked in its certificate. */
  readonly endpoint: Endpoint;
  readonly auth: DtlsAuth;
  readonly clock: SimClockSpec;
  readonly handshakeTimeoutMs: number;
  /** Handshake again after this many unacknowledged sends of a reading; absent: never. */
  readonly reconnectAfterSends?: number;
}

/**
 * A DTLS server that strips DTLS and forwards each E3 packet as an MQTT PUBLISH over its own
 * mutual TLS (emulators/dtls/dtls-gateway.ts): the home gateway (certificate DTLS), or in
 * containers the cloud's DTLS endpoint (PSK DTLS) in front of Mosquitto.
 */
export interface DtlsGatewayRole {
  readonly role: 'dtls-gateway';
  readonly name: 'gateway' | 'cloud-dtls';
  readonly listenPort: number;
  readonly auth: DtlsAuth;
  readonly upstream: Endpoint;
  /** Its MQTT client identity: the run's gateway certificate, or the one mounted at IDENTITY_DIR. */
  readonly identity: 'gateway' | 'identity-dir';
  readonly malice: GatewayRole['malice'];
}

/** The on-path attacker holding the DTLS PSK (emulators/dtls/dtls-psk-attacker.ts). */
export interface DtlsPskAttackerRole {
  readonly role: 'dtls-psk-attacker';
  readonly listenPort: number;
  readonly upstream: { readonly host: string; readonly port: number };
  readonly pskHex: string;
  readonly malice: GatewayRole['malice'];
}

/** A UDP relay with impairments (links/udp-link.ts): a lossy link without tc netem. */
export interface UdpLinkRole {
  readonly role: 'udp-link';
  readonly name: string;
  readonly listenPort: number;
  readonly target: { readonly host: string; readonly port: number };
  readonly impairments: LinkImpairments;
}

/** DTLS wearables on ONE fleet bridge process, each its own PSK session (containers/roles/dtls-fleet-shard.ts). */
export interface DtlsFleetShardRole {
  readonly role: 'dtls-fleet-shard';
  readonly devices: readonly DeviceProvisioning[];
  /** Where every session goes: the device link relay, or the gateway (a name the bridge resolves). */
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly pskHex: string;
  readonly clock: SimClockSpec;
  readonly handshakeTimeoutMs: number;
  readonly resend: { readonly intervalMs: number; readonly maxAttempts: number };
  readonly window: number;
}

/** The MITM proxy, told per attempt what to present (containers/roles/mitm-proxy.ts). */
export interface MitmProxyRole {
  readonly role: 'mitm-proxy';
  readonly listenPort: number;
  /** A victim that neither completes nor aborts its handshake is cut off after this long. */
  readonly handshakeTimeoutMs: number;
}

/** The forged-certificate matrix's victim, one attempt per request (containers/roles/interception-victim.ts). */
export interface InterceptionVictimRole {
  readonly role: 'interception-victim';
  readonly victim: DeviceProvisioning;
  /** The CAs' CRLs (PEM) for the secure-crl profile. */
  readonly crlPems: readonly string[];
  /** SPKI pin (base64 SHA-256) of the cloud's key for the pinned profile (RFC 7469). */
  readonly cloudPin: string;
  /** The MITM's address on the victim's network. */
  readonly mitm: { readonly host: string; readonly port: number };
}

/** The DTLS MITM of the DTLS forged-certificate matrix, told per attempt what to present (containers/roles/dtls-interception.ts). */
export interface DtlsMitmRole {
  readonly role: 'dtls-mitm';
  readonly listenPort: number;
  readonly handshakeTimeoutMs: number;
}

/** A DTLS client of wearable-0001's (pion bridge or openssl s_client -dtls1_2), one run per request (containers/roles/dtls-interception.ts). */
export interface DtlsClientRole {
  readonly role: 'dtls-client';
  readonly victim: DeviceProvisioning;
}

/** The cloud's certificate DTLS endpoint with its cloud service, fresh per scenario (containers/roles/dtls-interception.ts). */
export interface DtlsCloudEndpointRole {
  readonly role: 'dtls-cloud-endpoint';
  readonly listenPort: number;
  readonly devices: readonly DeviceProvisioning[];
  readonly handshakeTimeoutMs: number;
}

/** The cloud's bridge server keeping DTLS sessions, for DTLS resumption (containers/roles/dtls-sessions.ts). */
export interface DtlsSessionServerRole {
  readonly role: 'dtls-session-server';
  readonly listenPort: number;
  /** Require wearable-0001's certificate (then pion keeps no session). */
  readonly clientCertificate: boolean;
}

/** The device's bridge client keeping its DTLS session, one handshake per request (containers/roles/dtls-sessions.ts). */
export interface DtlsSessionDeviceRole {
  readonly role: 'dtls-session-device';
  /** The UDP link before the cloud's server. */
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly clientCertificate: boolean;
  /** Keep the DTLS session for resumption (default true). */
  readonly sessionStore?: boolean;
}

export type RoleConfig = WearablesRole | FleetShardRole | FleetCloudRole | GatewayRole | CloudServiceRole | ResumptionDeviceRole | TcpLinkRelayRole | ProbeRole | DtlsWearablesRole | DtlsGatewayRole | DtlsPskAttackerRole | UdpLinkRole | MitmProxyRole | InterceptionVictimRole | DtlsMitmRole | DtlsClientRole | DtlsCloudEndpointRole | DtlsSessionServerRole | DtlsSessionDeviceRole | FirmwareFleetRole | FirstFlightRecorderRole | DtlsFleetShardRole;
export type RoleKind = RoleConfig['role'];

// ---------------------------------------------------------------------------------------------
// Validation. The runner trusts every field it reads, so each is checked here, once, and a bad
// file stops the container with one line naming the file, the field and what to write (instead
// of a TypeError deep inside a role). Checkers are small functions composed per field; a role
// kind is one entry of ROLE_VALIDATORS.

/** A field checker: returns the value typed, or throws a RoleConfigFieldError. */
type Check<T> = (value: unknown, field: string) => T;

class RoleConfigFieldError extends Error {
  constructor(readonly field: string, readonly expected: string, readonly got: unknown) {
    super(`field "${field}" ${got === undefined ? 'is missing' : `is ${shown(got)}`}; write ${expected}`);
  }
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}…` : json;
}

const fail = (field: string, expected: string, got: unknown): never => {
  throw new RoleConfigFieldError(field, expected, got);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function nonEmptyString(example: string): Check<string> {
  return (v, field) => (typeof v === 'string' && v.trim() !== '' ? v : fail(field, `a non-empty string, e.g. ${JSON.stringify(example)}`, v));
}

function hex(bytes: number): Check<string> {
  const pattern = new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
  return (v, field) => (typeof v === 'string' && pattern.test(v) ? v : fail(field, `${bytes} bytes as ${bytes * 2} lower-case hex digits`, v));
}

function wholeNumber(min: number, max: number, example: number): Check<number> {
  return (v, field) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(field, `a whole number ${min}..${max}, e.g. ${example}`, v));
}

function number(ok: (n: number) => boolean, expected: string): Check<number> {
  return (v, field) => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : fail(field, expected, v));
}

function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v, field) => (values.includes(v as T) ? (v as T) : fail(field, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v));
}

function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, field) => (v === undefined ? undefined : check(v, field));
}

function listOf<T>(item: Check<T>, what: string, minimum = 0): Check<readonly T[]> {
  return (v, field) => {
    if (!Array.isArray(v) || v.length < minimum) return fail(field, `a JSON array of ${minimum > 0 ? `at least ${minimum} ` : ''}${what}`, v);
    return v.map((x, i) => item(x, `${field}[${i}]`));
  };
}

type Shape<T> = { readonly [K in keyof T]-?: Check<T[K]> };

/** A JSON object with these fields, each checked; fields it does not list are left out. */
function object<T>(shape: Shape<T>, what: string): Check<T> {
  return (v, field) => {
    if (!isObject(v)) return fail(field, `a JSON object (${what})`, v);
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape) as [string, Check<unknown>][]) {
      const value = check(v[key], field === '' ? key : `${field}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  };
}

const port = wholeNumber(1, 65_535, MQTT_TLS_PORT);

const endpoint: Check<Endpoint> = object<Endpoint>(
  { host: nonEmptyString('cloud-broker'), port, serverName: nonEmptyString('cloud.testbed.local') },
  '{"host": …, "port": …, "serverName": …}',
);

const clock: Check<SimClockSpec> = object<SimClockSpec>(
  {
    // The E3 timestamp is a u32 of seconds (docs/architecture.md §4 The E3 packet).
    startSec: wholeNumber(0, 0xffff_ffff, 1_700_000_000),
    speedup: number((n) => n > 0 && n <= 1_000_000, 'simulated seconds per wall-clock second, a number in (0, 1000000], e.g. 60'),
    wallStartMs: number((n) => n >= 0, 'wall-clock milliseconds since 1970 (Date.now()), e.g. 1700000000000'),
  },
  '{"startSec": …, "speedup": …, "wallStartMs": …}',
);

const device: Check<DeviceProvisioning> = object<DeviceProvisioning>(
  {
    deviceId: nonEmptyString('wearable-0001'),
    patientId: nonEmptyString('MRN-04700000 Patient wearable-0001'),
    pseudonymHex: hex(16),
    saltHex: hex(4),
    algorithm: oneOf<E3Algorithm>(E3_ALGORITHMS),
    mqttPassword: nonEmptyString('a random per-device password'),
  },
  'a device record as written by provisionDevice()',
);

const devices = (minimum: number): Check<readonly DeviceProvisioning[]> => listOf(device, 'device records (emulators/provisioning.ts)', minimum);

/** Reading numbers a malice acts on: 1 is the first reading (emulators/gateway-malice.ts). */
const packets = listOf(wholeNumber(1, 1_000_000, 1), 'reading numbers from 1', 1);

/** The options each malice reads, by malice name (role-runner.ts maliceFrom). */
const MALICE_OPTIONS: Readonly<Record<string, Check<Readonly<Record<string, unknown>>>>> = {
  sniff: object<Record<string, never>>({}, '{}'),
  tamper: object({ packets, byteOffset: optional(wholeNumber(0, 95, 30)), bit: optional(wholeNumber(0, 7, 0)) }, '{"packets": [2], "byteOffset"?: …, "bit"?: …}'),
  replay: object({ packets, copies: optional(wholeNumber(1, 100, 1)) }, '{"packets": [2], "copies"?: …}'),
  drop: object({ packets }, '{"packets": [2]}'),
  // Downstream, on the cloud's commands (emulators/command-malice.ts): command numbers from 1.
  'tamper-commands': object({ commands: packets }, '{"commands": [2]}'),
  'replay-commands': object({ commands: packets, copies: optional(wholeNumber(1, 100, 1)) }, '{"commands": [1], "copies"?: …}'),
  'forge-commands': object({ body: nonEmptyString('{"command":"set_temp","temp":35}') }, '{"body": "<command JSON>"}'),
  delay: object({ packets, heldSeconds: wholeNumber(1, 86_400, 600), speedup: wholeNumber(1, 10_000, 600) }, '{"packets": [2], "heldSeconds": 600, "speedup": 600}'),
  reorder: object({ packets }, '{"packets": [2]}'),
  downgrade: object<Record<string, never>>({}, '{}'),
};

const malice: Check<GatewayRole['malice'][number]> = (v, field) => {
  if (!isObject(v)) return fail(field, 'a malice object, e.g. {"name": "tamper", "options": {"packets": [2]}}', v);
  const name = oneOf(Object.keys(MALICE_OPTIONS))(v.name, `${field}.name`);
  return { name, options: (MALICE_OPTIONS[name] as Check<Readonly<Record<string, unknown>>>)(v.options, `${field}.options`) };
};

const flag: Check<boolean> = (v, field) => (typeof v === 'boolean' ? v : fail(field, 'true or false', v));

const udpAddress = object<{ host: string; port: number }>({ host: nonEmptyString('gateway.testbed.local'), port }, '{"host": …, "port": …}');

/** A PSK of 16 bytes (the PSK-AES128-GCM-SHA256 suite's key, RFC 4279 §2, RFC 6655). */
const pskHex = hex(16);

const dtlsAuth: Check<DtlsAuth> = (v, field) => {
  if (!isObject(v)) return fail(field, '{"kind": "certificate"} or {"kind": "psk", "pskHex": …}', v);
  const kind = oneOf(['certificate', 'psk'] as const)(v.kind, `${field}.kind`);
  return kind === 'certificate' ? { kind } : { kind, pskHex: pskHex(v.pskHex, `${field}.pskHex`) };
};

/** Impairments as data (links/impairments.ts); their settings are checked again by the relay. */
const impairmentData: Check<Impairment> = (v, field) =>
  isObject(v) && (IMPAIRMENT_KINDS as readonly unknown[]).includes(v.kind) ? (v as unknown as Impairment) : fail(field, `an impairment object {"kind": ${IMPAIRMENT_KINDS.map((k) => JSON.stringify(k)).join(' | ')}, …}`, v);

const impairments = object<LinkImpairments>(
  { clientToServer: optional(listOf(impairmentData, 'impairments')), serverToClient: optional(listOf(impairmentData, 'impairments')), seed: optional(wholeNumber(0, 2 ** 31, 42)) },
  '{"clientToServer"?: […], "serverToClient"?: […], "seed"?: …}',
);

/**
 * One validator per role kind. Adding a kind to RoleConfig is adding its entry here (the mapped
 * type makes a missing one a compile error).
 */
const ROLE_VALIDATORS: { readonly [K in RoleKind]: Check<Extract<RoleConfig, { role: K }>> } = {
  wearables: object<WearablesRole>(
    {
      role: oneOf(['wearables']),
      devices: devices(1),
      endpoint,
      profile: oneOf([...wearableProfiles.keys()]),
      clock,
      commandHandler: optional(oneOf<CommandHandlerName>(COMMAND_HANDLERS)),
    },
    'a wearables role',
  ),
  gateway: object<GatewayRole>(
    {
      role: oneOf(['gateway']),
      mode: oneOf(['relay', 'terminate']),
      listenPort: port,
      upstream: endpoint,
      malice: listOf(malice, `gateway malice objects {"name": …, "options": {…}}`),
      upstreamProfile: optional(oneOf([...clientProfiles.keys()])),
      upstreamSessions: optional(flag),
    },
    'a gateway role',
  ),
  'cloud-service': object<CloudServiceRole>(
    {
      role: oneOf(['cloud-service']),
      devices: devices(0),
      broker: endpoint,
      clock,
      dtlsAcks: optional(flag),
      commands: optional(flag),
    },
    'a cloud-service role',
  ),
  'resumption-device': object<ResumptionDeviceRole>(
    {
      role: oneOf(['resumption-device']),
      device,
      endpoint: object({ host: nonEmptyString('link.testbed.local'), port }, '{"host": …, "port": …}'),
      tlsVersion: oneOf(['TLS 1.2', 'TLS 1.3']),
      keepSessions: (v, field) => (typeof v === 'boolean' ? v : fail(field, 'true or false', v)),
    },
    'a resumption-device role',
  ),
  'tcp-link': object<TcpLinkRelayRole>(
    {
      role: oneOf(['tcp-link']),
      name: nonEmptyString('device-cloud'),
      listenPort: port,
      target: object({ host: nonEmptyString('cloud.testbed.local'), port }, '{"host": …, "port": …}'),
      oneWayDelayMs: number((n) => n >= 0 && n <= 5_000, 'milliseconds of delay per direction, 0..5000, e.g. 25'),
    },
    'a tcp-link role',
  ),
  probe: object<ProbeRole>({ role: oneOf(['probe']), broker: endpoint }, 'a probe role'),
  'first-flight-recorder': object<FirstFlightRecorderRole>({ role: oneOf(['first-flight-recorder']), listenPort: port, target: object({ host: nonEmptyString('front.testbed.local'), port }, '{"host": …, "port": …}') }, 'a first-flight-recorder role'),
  'firmware-fleet': object<FirmwareFleetRole>({ role: oneOf(['firmware-fleet']), broker: endpoint, passwordPort: port }, 'a firmware-fleet role'),
  'dtls-wearables': object<DtlsWearablesRole>(
    { role: oneOf(['dtls-wearables']), devices: devices(1), endpoint, auth: dtlsAuth, clock, handshakeTimeoutMs: wholeNumber(100, 120_000, 5_000), reconnectAfterSends: optional(wholeNumber(2, 99, 4)) },
    'a DTLS wearables role',
  ),
  'dtls-gateway': object<DtlsGatewayRole>(
    {
      role: oneOf(['dtls-gateway']),
      name: oneOf(['gateway', 'cloud-dtls']),
      listenPort: port,
      auth: dtlsAuth,
      upstream: endpoint,
      identity: oneOf(['gateway', 'identity-dir']),
      malice: listOf(malice, `gateway malice objects {"name": …, "options": {…}}`),
    },
    'a DTLS-stripping gateway role',
  ),
  'dtls-psk-attacker': object<DtlsPskAttackerRole>(
    { role: oneOf(['dtls-psk-attacker']), listenPort: port, upstream: udpAddress, pskHex, malice: listOf(malice, `malice objects {"name": …, "options": {…}}`) },
    'a DTLS PSK attacker role',
  ),
  'udp-link': object<UdpLinkRole>(
    { role: oneOf(['udp-link']), name: nonEmptyString('device-gateway'), listenPort: port, target: udpAddress, impairments },
    'a UDP link role',
  ),
  'dtls-fleet-shard': object<DtlsFleetShardRole>(
    {
      role: oneOf(['dtls-fleet-shard']),
      devices: devices(1),
      endpoint: udpAddress,
      pskHex,
      clock,
      handshakeTimeoutMs: wholeNumber(100, 120_000, 15_000),
      resend: object({ intervalMs: wholeNumber(10, 60_000, 500), maxAttempts: wholeNumber(1, 100, 21) }, '{"intervalMs": 500, "maxAttempts": 21}'),
      window: wholeNumber(1, 1_000, 1),
    },
    'a DTLS fleet shard role',
  ),
  'mitm-proxy': object<MitmProxyRole>({ role: oneOf(['mitm-proxy']), listenPort: port, handshakeTimeoutMs: wholeNumber(100, 120_000, 5_000) }, 'a mitm-proxy role'),
  'interception-victim': object<InterceptionVictimRole>(
    {
      role: oneOf(['interception-victim']),
      victim: device,
      crlPems: listOf(nonEmptyString('-----BEGIN X509 CRL-----…'), 'CRLs as PEM text', 1),
      cloudPin: nonEmptyString('base64 of the SHA-256 of the cloud key'),
      mitm: object({ host: nonEmptyString('mitm.testbed.local'), port }, '{"host": …, "port": …}'),
    },
    'an interception-victim role',
  ),
  'dtls-mitm': object<DtlsMitmRole>({ role: oneOf(['dtls-mitm']), listenPort: port, handshakeTimeoutMs: wholeNumber(100, 120_000, 5_000) }, 'a DTLS MITM role'),
  'dtls-client': object<DtlsClientRole>({ role: oneOf(['dtls-client']), victim: device }, 'a DTLS client role'),
  'dtls-cloud-endpoint': object<DtlsCloudEndpointRole>(
    { role: oneOf(['dtls-cloud-endpoint']), listenPort: port, devices: devices(1), handshakeTimeoutMs: wholeNumber(100, 120_000, 8_000) },
    'a cloud DTLS endpoint role',
  ),
  'dtls-session-server': object<DtlsSessionServerRole>({ role: oneOf(['dtls-session-server']), listenPort: port, clientCertificate: flag }, 'a DTLS session server role'),
  'dtls-session-device': object<DtlsSessionDeviceRole>({ role: oneOf(['dtls-session-device']), endpoint: udpAddress, clientCertificate: flag, sessionStore: optional(flag) }, 'a DTLS session device role'),
  'fleet-shard': object<FleetShardRole>(
    { role: oneOf(['fleet-shard']), devices: devices(1), endpoint, clock, queueCapacity: wholeNumber(1, 60_000, 256) },
    'a fleet shard role',
  ),
  'fleet-cloud': object<FleetCloudRole>({ role: oneOf(['fleet-cloud']), devices: devices(1), broker: endpoint, clock }, 'a fleet cloud service role'),
};

export const ROLE_KINDS = Object.keys(ROLE_VALIDATORS) as RoleKind[];

/**
 * Parse and check a role config file. Every problem is one line naming `source`, the field and
 * what to write there.
 */
export function parseRoleConfig(text: string, source: string): RoleConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`role-runner: ${source} is not JSON (${(err as Error).message}); the containers topology writes it, re-run the scenario`);
  }
  if (!isObject(parsed)) {
    throw new Error(`role-runner: ${source} holds ${shown(parsed)}; write a JSON object such as {"role": "${ROLE_KINDS[0]}", …} (the containers topology writes it, re-run the scenario)`);
  }
  try {
    const role = oneOf(ROLE_KINDS)(parsed.role, 'role');
    return ROLE_VALIDATORS[role](parsed, '');
  } catch (err) {
    if (err instanceof RoleConfigFieldError) throw new Error(`role-runner: ${source}: ${err.message}`);
    throw err;
  }
}
