// The cloud broker's tls-error record names the refused peer, also when node:tls has destroyed
// the socket before the record is written (a client certificate from another CA: node checks the
// chain after the handshake and hangs up).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { generatePki, type IssuedCertificate, type Pki } from '../certs/pki.ts';
import { CloudBroker } from './cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from './cloud/loopback-broker-config.ts';
import { peerText, UNKNOWN_PEER } from './tls-peer-address.ts';

let pki: Pki;
let otherPki: Pki;
let broker: CloudBroker;
let endpoint: { host: string; port: number };

before(async () => {
  [pki, otherPki] = await Promise.all([generatePki({ wearableIds: ['wearable-0001'] }), generatePki({ wearableIds: ['wearable-0001'] })]);
  broker = new CloudBroker(loopbackBrokerConfig(pki.cloud, { clientCaPem: pki.rootCa.certPem, ownTopicOf: () => undefined }));
  endpoint = await broker.start();
});

after(async () => {
  await broker.stop();
});

/** Connect as a device presenting `client` (or nothing); resolves with the client's own port once the broker has closed it. */
async function refusedDevice(client: IssuedCertificate | undefined): Promise<number> {
  const socket = connect({ ...endpoint, servername: 'cloud.testbed.local', ca: pki.rootCa.certPem, ...(client ? { cert: client.chainPem, key: client.keyPem } : {}), minVersion: 'TLSv1.3' });
  let localPort = 0;
  socket.on('connect', () => (localPort = socket.localPort ?? 0));
  socket.on('error', () => undefined); // the refusal is the expected outcome
  socket.setTimeout(10_000, () => socket.destroy(new Error('the broker neither admitted nor refused the device within 10 s')));
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return localPort;
}

async function refusalOf(localPort: number): Promise<string> {
  const entry = await broker.log.waitFor(`the broker's tls-error record naming 127.0.0.1:${localPort}`, (o) => o.kind === 'tls-error' && o.detail.peer === peerText('127.0.0.1', localPort), 10_000);
  return entry.summary;
}

test('a certificate from another CA (socket destroyed by node before the record): the record names the device address and port', async () => {
  const port = await refusedDevice(otherPki.wearables.get('wearable-0001'));
  assert.ok(port > 0, 'the device never connected');
  const summary = await refusalOf(port);
  assert.match(summary, new RegExp(`^TLS handshake refused from 127\\.0\\.0\\.1:${port}: .*UNABLE_TO_GET_ISSUER_CERT_LOCALLY`));
  assert.doesNotMatch(summary, /undefined/);
});

test('no client certificate: the record names the device address and port', async () => {
  const port = await refusedDevice(undefined);
  assert.match(await refusalOf(port), new RegExp(`^TLS handshake refused from 127\\.0\\.0\\.1:${port}: .*peer did not return a certificate`));
});

test('every refusal so far named its peer', () => {
  const refusals = broker.log.ofKind('tls-error');
  assert.equal(refusals.length, 2, refusals.map((r) => r.summary).join('\n'));
  for (const r of refusals) assert.doesNotMatch(r.summary, new RegExp(`undefined|${UNKNOWN_PEER}`));
});

test('an IPv6 peer is written in brackets', () => {
  assert.equal(peerText('::1', 8883), '[::1]:8883');
  assert.equal(peerText('10.0.0.2', 8883), '10.0.0.2:8883');
});
