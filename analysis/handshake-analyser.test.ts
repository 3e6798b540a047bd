// The analyser on captures the tests make themselves: hand-built records through the pcap writer
// with a fake clock (exact times), and real node:tls handshakes through a capturing TcpLink
// (structure only: kinds, flights, round trips, bytes; no timing is asserted on real sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type SecureVersion, type TLSSocket, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { PcapWriter, TcpConversationTap } from '../capture/pcap-writer.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { within } from '../capture/test-tools.ts';
import { generatePki, type Pki } from '../certs/pki.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { analyseCapture, describeFlights, HELLO_RETRY_REQUEST_RANDOM, type HandshakeAnalysis } from './handshake-analyser.ts';

const client = { address: '10.0.0.1', port: 40000 };
const server = { address: '10.0.0.2', port: 8883 };

const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];
const record = (type: number, body: number[] | Uint8Array) => Uint8Array.from([type, 3, 3, ...u16(body.length), ...body]);
const handshake = (type: number, body: number[]) => [type, ...u24(body.length), ...body];
const extension = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
function hello(type: 1 | 2, random: Uint8Array, extensions: number[][]): number[] {
  const ext = extensions.flat();
  const middle = type === 1 ? [...u16(2), 0x13, 0x01, 1, 0] : [0x13, 0x01, 0];
  return handshake(type, [3, 3, ...random, 0, ...middle, ...u16(ext.length), ...ext]);
}
const sni = (name: string) => extension(0, [...u16(name.length + 3), 0, ...u16(name.length), ...Buffer.from(name)]);
const tls13 = extension(43, [3, 4]);
const psk = extension(41, [0, 0]);
const random = new Uint8Array(32).fill(0x42);

/** Writes a conversation with a fake clock: each step is [ms, direction, bytes]. */
function capture(dir: string, steps: [number, 'client-to-server' | 'server-to-client', Uint8Array][], name = 'c.pcap'): string {
  const path = join(dir, name);
  const writer = PcapWriter.open(path);
  let now = 1_700_000_000_000_000n;
  const tap = new TcpConversationTap(writer, client, server, { clock: () => now });
  tap.open();
  for (const [ms, direction, bytes] of steps) {
    now = 1_700_000_000_000_000n + BigInt(ms * 1000);
    tap.data(direction, bytes);
  }
  tap.close('client');
  void writer.close();
  return path;
}

function only(path: string): HandshakeAnalysis {
  const analyses = analyseCapture(readPcap(path).packets);
  assert.equal(analyses.length, 1);
  return analyses[0] as HandshakeAnalysis;
}

test('synthetic TLS 1.3 with a HelloRetryRequest: kinds, flights and round trips counted and timed exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-'));
  const path = capture(dir, [
    [0, 'client-to-server', record(22, hello(1, random, [sni('cloud.testbed.local')]))],
    [50, 'server-to-client', record(22, hello(2, HELLO_RETRY_REQUEST_RANDOM, [tls13]))],
    [50, 'client-to-server', Buffer.concat([record(20, [1]), record(22, hello(1, random, [sni('cloud.testbed.local'), psk]))])],
    [100, 'server-to-client', Buffer.concat([record(22, hello(2, random, [tls13, psk])), record(20, [1]), record(23, new Array(60).fill(9))])],
    [100, 'client-to-server', record(23, new Array(40).fill(1))],
    [150, 'server-to-client', record(23, new Array(8).fill(2))],
  ]);
  const a = only(path);
  assert.equal(a.protocol, 'TLS 1.3');
  assert.equal(a.kind, 'resumed');
  assert.equal(a.helloRetryRequest, true);
  assert.equal(a.clientOfferedResumption, true);
  assert.equal(a.serverName, 'cloud.testbed.local');
  assert.deepEqual(describeFlights(a), [
    // ClientHello: 5 record + 4 handshake + 35 (version, random, empty session id) + 6 (suites,
    // compression) + 2 + 28 (SNI of 19 characters) = 80 bytes.
    '→ ClientHello (80 B)', '← HelloRetryRequest (55 B)', '→ change_cipher_spec, ClientHello (92 B)',
    '← ServerHello, change_cipher_spec, application_data (132 B)', '→ application_data (45 B)', '← application_data (13 B)',
  ]);
  // TCP + HRR + ServerHello + the client's Finished/CONNECT answered by CONNACK.
  assert.equal(a.roundTripsToFirstApplicationByte, 4);
  assert.deepEqual(a.roundTrips.map((r) => r.layer), ['tcp', 'tls', 'tls', 'tls']);
  assert.equal(a.timeToFirstApplicationByteMs, 150, 'the fake tap clock put the SYN at 0 and the server answer at 150 ms');
  assert.deepEqual(a.handshakeBytes, { clientToServer: 80 + 92 + 45, serverToClient: 55 + 132 });
  assert.deepEqual(a.bytes, { clientToServer: 80 + 92 + 45, serverToClient: 55 + 132 + 13 });
  assert.deepEqual(a.problems, []);
  rmSync(dir, { recursive: true, force: true });
});

test('garbage, truncation and a capture with no TLS are reported, never thrown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-'));
  const garbage = only(capture(dir, [[0, 'client-to-server', Buffer.from('GET / HTTP/1.1\r\n\r\n')]], 'g.pcap'));
  assert.equal(garbage.records.length, 0);
  assert.match(garbage.problems.join('\n'), /client-to-server byte 0 is not a TLS record header/);
  const cut = record(22, hello(1, random, [sni('x')])).subarray(0, 30);
  const truncated = only(capture(dir, [[0, 'client-to-server', cut]], 't.pcap'));
  assert.match(truncated.problems.join('\n'), /ends with 30 bytes of an incomplete TLS record/);
  const badHello = only(capture(dir, [[0, 'client-to-server', record(22, [1, 0, 0, 3, 3, 3, 7])]], 'h.pcap'));
  assert.match(badHello.problems.join('\n'), /a malformed ClientHello/);
  writeFileSync(join(dir, 'junk.pcap'), 'not a capture');
  assert.deepEqual(analyseCapture(readPcap(join(dir, 'junk.pcap')).packets), []);
  rmSync(dir, { recursive: true, force: true });
});

interface Handshakes {
  first: HandshakeAnalysis;
  second: HandshakeAnalysis;
  reused: [boolean, boolean];
}

/** Two real handshakes through a capturing relay, the second offering the first's session. */
async function twoHandshakes(pki: Pki, dir: string, version: SecureVersion, serverExtra: TlsOptions = {}): Promise<Handshakes> {
  const tlsServer = createTlsServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, minVersion: 'TLSv1.2', ...serverExtra }, (s) => {
    s.once('data', (b: Buffer) => s.end(b));
  });
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
  const writer = PcapWriter.open(join(dir, `${version}.pcap`));
  const link = new TcpLink({ name: 'x', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (tlsServer.address() as AddressInfo).port }, capture: writer });
  const at = await link.start();
  const reused: boolean[] = [];
  let session: Buffer | undefined;
  try {
    for (let i = 0; i < 2; i++) {
      const socket: TLSSocket = tlsConnect({ host: at.host, port: at.port, ca: pki.rootCa.certPem, servername: 'cloud.testbed.local', maxVersion: version, ...(session ? { session } : {}) });
      socket.on('session', (s: Buffer) => {
        session = s;
      });
      await within(new Promise<void>((resolve, reject) => {
        socket.on('error', reject);
        socket.write('hello');
        socket.on('data', () => undefined);
        socket.on('end', () => resolve());
      }), 'the TLS conversation');
      reused.push(socket.isSessionReused());
      socket.destroy();
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await link.stop();
    await new Promise((r) => tlsServer.close(() => r(undefined)));
    await writer.close();
  }
  const analyses = analyseCapture(readPcap(writer.path).packets);
  assert.equal(analyses.length, 2);
  return { first: analyses[0] as HandshakeAnalysis, second: analyses[1] as HandshakeAnalysis, reused: reused as [boolean, boolean] };
}

test('real node:tls handshakes through a capturing link: TLS 1.3 and 1.2, full and resumed, and a HelloRetryRequest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-real-'));
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  await t.test('TLS 1.3: full then resumed, both 1 TLS round trip before application data; resumed carries far fewer server bytes', async () => {
    const { first, second, reused } = await twoHandshakes(pki, dir, 'TLSv1.3');
    assert.deepEqual(reused, [false, true]);
    assert.equal(first.protocol, 'TLS 1.3');
    assert.equal(first.kind, 'full');
    assert.equal(second.kind, 'resumed');
    assert.equal(first.clientOfferedResumption, false);
    assert.equal(second.clientOfferedResumption, true);
    // TCP + ClientHello → ServerHello…Finished + client Finished → server data.
    assert.equal(first.roundTripsToFirstApplicationByte, 3, describeFlights(first).join('\n'));
    assert.equal(second.roundTripsToFirstApplicationByte, 3, describeFlights(second).join('\n'));
    assert.ok(second.handshakeBytes.serverToClient < 0.5 * first.handshakeBytes.serverToClient, `${second.handshakeBytes.serverToClient} vs ${first.handshakeBytes.serverToClient}`);
    assert.deepEqual([...first.problems, ...second.problems], []);
  });

  await t.test('TLS 1.2: full 2 TLS round trips with the certificate in clear, resumed (ticket) 1', async () => {
    const { first, second, reused } = await twoHandshakes(pki, dir, 'TLSv1.2');
    assert.deepEqual(reused, [false, true]);
    assert.equal(first.protocol, 'TLS 1.2');
    assert.equal(first.kind, 'full');
    assert.equal(first.serverCertificateInClear, true);
    assert.equal(second.kind, 'resumed');
    assert.equal(second.serverCertificateInClear, false);
    // The client speaks first (as MQTT's CONNECT): TCP + 2 TLS round trips + its request, or TCP + 1 + 1.
    assert.equal(first.roundTripsToFirstApplicationByte, 4, describeFlights(first).join('\n'));
    assert.equal(second.roundTripsToFirstApplicationByte, 3, describeFlights(second).join('\n'));
  });

  await t.test('a server accepting only P-256 answers the default X25519 key share with a HelloRetryRequest', async () => {
    const { first } = await twoHandshakes(pki, dir, 'TLSv1.3', { ecdhCurve: 'P-256' });
    assert.equal(first.helloRetryRequest, true);
    assert.equal(first.roundTripsToFirstApplicationByte, 4, describeFlights(first).join('\n'));
  });
});
