import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudBrokerContainer, parseMosquittoLog } from './cloud-broker-container.ts';
import { provisionDevice } from '../emulators/provisioning.ts';

const device = { ...provisionDevice('wearable-0001', 1), pseudonymHex: 'ab'.repeat(16) };

test('the Mosquitto configuration asks for TLS 1.3, a client certificate, the CN as username and no Nagle', () => {
  const conf = new CloudBrokerContainer('img').withDevices([device]).withGateway('gateway-01').withSubscriber('cloud-service').configuration();
  for (const line of ['require_certificate true', 'use_identity_as_username true', 'tls_version tlsv1.3', 'set_tcp_nodelay true', 'allow_anonymous false']) {
    assert.match(conf, new RegExp(`^${line}$`, 'm'), line);
  }
});

test('the ACL gives each wearable its own topic, the gateway every E3 topic, and only the cloud service read access', () => {
  const acl = new CloudBrokerContainer('img').withDevices([device]).withGateway('gateway-01').withSubscriber('cloud-service').acl();
  assert.match(acl, new RegExp(`user wearable-0001\\ntopic write wearables/${'ab'.repeat(16)}/e3\\n`));
  assert.match(acl, /user gateway-01\ntopic write wearables\/\+\/e3\n/);
  assert.match(acl, /user cloud-service\ntopic read wearables\/\+\/e3\n/);
  assert.equal((acl.match(/topic read/g) ?? []).length, 1, 'nobody else may read readings');
});

test('setters refuse what Mosquitto could not use, with the fix', () => {
  assert.throws(() => new CloudBrokerContainer('img').withGateway('gate way'), /CloudBrokerContainer: gateway CN "gate way" cannot be a Mosquitto username/);
  assert.throws(() => new CloudBrokerContainer('img').withTlsVersion('tlsv1' as never), /TLS version must be one of "tlsv1.3", "tlsv1.2", "tlsv1.1" \(Mosquitto 2.0 has none lower\)/);
});

test('start() cross-checks before touching Docker', async () => {
  await assert.rejects(new CloudBrokerContainer('img').withSubscriber('cloud-service').start(), /has no network; call withInternalNetwork/);
});

test('the broker log becomes observations; a denied PUBLISH is not counted as delivered', () => {
  const log = [
    "1700000000: Opening ipv4 listen socket on port 8883.",
    "1700000001: New client connected from 172.20.0.3:40000 as wearable-0001 (p2, c1, k60, u'gateway-01').",
    `1700000001: Received PUBLISH from wearable-0001 (d0, q1, r0, m1, 'wearables/${'ab'.repeat(16)}/e3', ... (96 bytes))`,
    "1700000002: Received PUBLISH from wearable-0001 (d0, q1, r0, m2, 'wearables/other/e3', ... (96 bytes))",
    "1700000002: Denied PUBLISH from wearable-0001 (d0, q1, r0, m2, 'wearables/other/e3', ... (96 bytes))",
    '1700000003: Client wearable-0001 disconnected.',
  ].join('\n');
  const obs = parseMosquittoLog(log);
  assert.deepEqual(obs.map((o) => o.kind), ['listening', 'mqtt-connect', 'publish', 'publish-refused', 'client-disconnect']);
  assert.equal(obs[1]?.detail.identity, 'gateway-01');
  assert.equal(obs[2]?.detail.identity, 'gateway-01', 'the publisher is named by its certificate, not its client id');
  assert.equal(obs[2]?.at, 1_700_000_001_000);
});

test('a TLS policy becomes listener options: its lowest version and both cipher lists (emulators/tls-server-policy.ts)', () => {
  const conf = new CloudBrokerContainer('img').withDevices([device]).withSubscriber('cloud-service').withTlsVersion('tlsv1.1').withCiphers('ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0', 'TLS_AES_128_GCM_SHA256').configuration();
  for (const line of ['tls_version tlsv1.1', 'ciphers ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0', 'ciphers_tls1.3 TLS_AES_128_GCM_SHA256']) assert.match(conf, new RegExp(`^${line.replace(/[.+]/g, '\\$&')}$`, 'm'), line);
  assert.doesNotMatch(new CloudBrokerContainer('img').configuration(), /^ciphers/m, 'no cipher lines unless a policy asks');
  assert.throws(() => new CloudBrokerContainer('img').withCiphers('AES128-SHA\nlistener 1883', 'TLS_AES_128_GCM_SHA256'), /is not an OpenSSL cipher list/);
});
