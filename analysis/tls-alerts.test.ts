import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { generatePki } from '../certs/pki.ts';
import { alertName, wireAlerts } from './tls-alerts.ts';
import type { TcpStream } from '../capture/pcap-reader.ts';

/** A real TLS 1.3 mutual-TLS refusal, bytes recorded by a relay, secrets by the client's key log. */
async function refusedWithoutCertificate(): Promise<{ stream: TcpStream; keyLog: string }> {
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  const server = createTlsServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca: pki.rootCa.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  const relay = createTcpServer((down) => {
    const up = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
    down.on('data', (b) => (c2s.push(b), up.write(b)));
    up.on('data', (b) => (s2c.push(b), down.write(b)));
    down.on('close', () => up.destroy());
    up.on('close', () => down.end());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  let keyLog = '';
  await new Promise<void>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: (relay.address() as AddressInfo).port, ca: pki.rootCa.certPem, servername: 'cloud.testbed.local', minVersion: 'TLSv1.3' });
    socket.on('keylog', (line) => (keyLog += line.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
  relay.close();
  server.close();
  const stream = { client: { address: '127.0.0.1', port: 1 }, server: { address: '127.0.0.1', port: 2 }, clientToServer: Buffer.concat(c2s), serverToClient: Buffer.concat(s2c), segments: [], missingBytes: { clientToServer: 0, serverToClient: 0 } };
  return { stream, keyLog };
}

test('a TLS 1.3 refusal of a missing client certificate is read from the encrypted record with the key log', async () => {
  const { stream, keyLog } = await refusedWithoutCertificate();
  const read = wireAlerts(stream, keyLog);
  assert.deepEqual(read.problems, []);
  assert.equal(read.serverHello?.version, 0x0304);
  const fromServer = read.alerts.filter((a) => a.from === 'server');
  assert.deepEqual(fromServer.map((a) => [a.name, a.level, a.encrypted]), [[alertName(116), 'fatal', true]]);
  assert.equal(read.serverApplicationRecords, 0);
});

test('without the key log the same alert stays opaque and the reader says why', async () => {
  const { stream } = await refusedWithoutCertificate();
  const read = wireAlerts(stream, '');
  assert.deepEqual(read.alerts.filter((a) => a.from === 'server'), []);
  assert.ok(read.undecrypted > 0);
  assert.match(read.problems.join(' '), /no TLS 1\.3 secrets for client random [0-9a-f]{64}/);
});

test('a plaintext alert before the ServerHello is read without keys; garbage is a problem, not a throw', () => {
  const stream = { client: { address: 'a', port: 1 }, server: { address: 'b', port: 2 }, clientToServer: new Uint8Array([1, 2, 3, 4, 5, 6]), serverToClient: new Uint8Array([21, 3, 3, 0, 2, 2, 70]), segments: [], missingBytes: { clientToServer: 0, serverToClient: 0 } };
  const read = wireAlerts(stream);
  assert.deepEqual(read.alerts.map((a) => a.name), ['protocol_version (70)']);
  assert.match(read.problems.join(' '), /client→server: no TLS record at byte 0/);
});
