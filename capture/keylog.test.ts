// The real thing: a TLS 1.3 connection through a relay that taps it into a pcap. The capture
// must not show the application message, and Wireshark's engine (tshark) must reveal it once
// given our key log — proving the pcap and the key log together are usable evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, connect as netConnect, createServer as netServer } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer, type Server as TlsServer } from 'node:tls';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyLog } from './keylog.ts';
import { PcapWriter, TcpConversationTap } from './pcap-writer.ts';
import { containsBytes, readPcap, reassembleTcpStreams } from './pcap-reader.ts';
import { missingTool, runTool, within } from './test-tools.ts';
import { skipForMissingTool } from '../cli/prerequisites.ts';

const MARKER = 'E4-MARKER-heart-rate-72-bpm-7f3a9c';
const REPLY = 'E4-REPLY-ack-5d21e0';
/** Throwaway self-signed ECDSA P-256 certificate for 127.0.0.1 (key file mode 0600). */
async function selfSignedCertificate(dir: string): Promise<{ key: Buffer; cert: Buffer }> {
  const keyPath = join(dir, 'server.key');
  const certPath = join(dir, 'server.pem');
  const { code, stderr } = await runTool('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1',
    '-subj', '/CN=127.0.0.1 DO NOT TRUST - TESTING ONLY', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  assert.equal(code, 0, stderr);
  chmodSync(keyPath, 0o600);
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

/**
 * A minimal TCP relay like links/ will have: forwards bytes both ways and feeds every chunk to
 * a TcpConversationTap. Resolves `done` once the relayed connection is fully closed.
 */
function tappedRelay(writer: PcapWriter, upstreamPort: number): { listen(): Promise<number>; done: Promise<void>; close(): void } {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  const server = netServer((downstream: Socket) => {
    const tap = new TcpConversationTap(writer,
      { address: downstream.remoteAddress!.replace(/^::ffff:/, ''), port: downstream.remotePort! },
      { address: '127.0.0.1', port: upstreamPort });
    tap.open();
    const upstream = netConnect(upstreamPort, '127.0.0.1');
    let closeInitiator: 'client' | 'server' | undefined;
    downstream.on('data', (bytes: Buffer) => { tap.data('client-to-server', bytes); upstream.write(bytes); });
    upstream.on('data', (bytes: Buffer) => { tap.data('server-to-client', bytes); downstream.write(bytes); });
    downstream.on('end', () => { closeInitiator ??= 'client'; upstream.end(); });
    upstream.on('end', () => { closeInitiator ??= 'server'; downstream.end(); });
    const bothClosed = Promise.all([once(downstream, 'close'), once(upstream, 'close')]);
    void bothClosed.then(() => { tap.close(closeInitiator ?? 'client'); finish(); });
  });
  return {
    async listen() {
      server.listen(0, '127.0.0.1');
      await within(once(server, 'listening'), 'the relay to listen');
      return (server.address() as AddressInfo).port;
    },
    done,
    close: () => server.close(),
  };
}

async function listeningTlsServer(key: Buffer, cert: Buffer): Promise<{ server: TlsServer; port: number; received: Promise<string> }> {
  let deliver: (text: string) => void = () => undefined;
  const received = new Promise<string>((resolve) => { deliver = resolve; });
  const server = tlsServer({ key, cert, minVersion: 'TLSv1.3' }, (socket) => {
    socket.setEncoding('utf8');
    socket.once('data', (text: string) => {
      deliver(text);
      socket.end(REPLY);
    });
  });
  server.listen(0, '127.0.0.1');
  await within(once(server, 'listening'), 'the TLS server to listen');
  return { server, port: (server.address() as AddressInfo).port, received };
}

test('a tapped TLS 1.3 connection hides the marker, and tshark with our key log reveals it', async (t) => {
  for (const tool of ['openssl', 'tshark']) {
    const missing = await missingTool(tool);
    if (missing) return t.skip(skipForMissingTool(missing));
  }
  const dir = mkdtempSync(join(tmpdir(), 'capture-keylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { key, cert } = await selfSignedCertificate(dir);
  const tls = await listeningTlsServer(key, cert);
  t.after(() => tls.server.close());

  const pcapPath = join(dir, 'run', 'e4.pcap');
  const keylogPath = join(dir, 'run', 'e4.keylog');
  const writer = PcapWriter.open(pcapPath);
  const keylog = KeyLog.open(keylogPath);
  const relay = tappedRelay(writer, tls.port);
  t.after(() => relay.close());
  const relayPort = await relay.listen();

  const client = tlsConnect({ host: '127.0.0.1', port: relayPort, ca: cert, minVersion: 'TLSv1.3' });
  keylog.attach(client);
  await within(once(client, 'secureConnect'), 'the TLS handshake');
  client.setEncoding('utf8');
  let reply = '';
  client.on('data', (text: string) => { reply += text; });
  client.write(MARKER);
  assert.equal(await within(tls.received, 'the server to receive the marker'), MARKER);
  await within(once(client, 'end'), 'the server to finish its reply');
  client.end();
  await within(relay.done, 'the relayed connection to close');
  assert.equal(reply, REPLY);
  await writer.close();
  await keylog.close();

  // The key log is a secret: owner-only, and it holds the TLS 1.3 secrets of the client.
  assert.equal(statSync(keylogPath).mode & 0o777, 0o600);
  const keylogText = readFileSync(keylogPath, 'latin1');
  assert.equal(keylog.lineCount, keylogText.trim().split('\n').length);
  for (const label of ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) {
    assert.match(keylogText, new RegExp(`^${label} [0-9a-f]{64} [0-9a-f]{64,96}$`, 'm'));
  }

  // On the wire: the relay saw the TLS records, never the marker.
  const marker = new TextEncoder().encode(MARKER);
  const capture = readPcap(pcapPath);
  assert.deepEqual(capture.problems, []);
  const [stream] = reassembleTcpStreams(capture.packets);
  assert.ok(stream && stream.clientToServer.length > MARKER.length, 'the capture holds the client records');
  assert.equal(stream.clientToServer[0], 0x16, 'the client starts with a TLS handshake record');
  assert.equal(containsBytes(readFileSync(pcapPath), marker), false);
  assert.equal(containsBytes(stream.clientToServer, marker), false);

  // Wireshark's engine: without the key log, only encrypted application data; with it, the marker.
  // tshark 4.0 field names: tls.app_data is the encrypted record body; the decrypted plaintext
  // of a port with no application dissector shows up as data.data.
  const decodeAs = ['-d', `tcp.port==${tls.port},tls`];
  const fields = ['-Y', 'tls.app_data', '-T', 'fields', '-e', 'tls.app_data', '-e', 'data.data'];
  const blind = await runTool('tshark', ['-r', pcapPath, ...decodeAs, '-o', 'tcp.check_checksum:TRUE', ...fields]);
  assert.equal(blind.code, 0, blind.stderr);
  assert.ok(blind.stdout.trim().length > 0, 'tshark sees TLS application data records');
  const markerHex = Buffer.from(MARKER).toString('hex');
  assert.equal(blind.stdout.includes(markerHex), false, 'no marker without the key log');

  const decrypted = await runTool('tshark', ['-r', pcapPath, ...decodeAs, '-o', `tls.keylog_file:${keylogPath}`, ...fields]);
  assert.equal(decrypted.code, 0, decrypted.stderr);
  const plaintexts = decrypted.stdout.split('\n').map((line) => line.split('\t')[1] ?? '');
  assert.ok(plaintexts.includes(markerHex), `tshark with the key log reveals the marker as data.data:\n${decrypted.stdout}`);
  assert.ok(decrypted.stdout.includes(Buffer.from(REPLY).toString('hex')), 'and the server reply');
});

test('a key log is owner-only even when the file existed, appends, and stops at close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capture-keylog-'));
  try {
    const path = join(dir, 'old.keylog');
    writeFileSync(path, 'CLIENT_RANDOM aa bb\n', { mode: 0o644 });
    const keylog = KeyLog.open(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const server = tlsServer({});
    keylog.attach(server);
    server.emit('keylog', Buffer.from('SERVER_TRAFFIC_SECRET_0 01 02\n'));
    server.emit('keylog', Buffer.from('EXPORTER_SECRET 03 04')); // missing newline gets one
    await keylog.close();
    server.emit('keylog', Buffer.from('CLIENT_TRAFFIC_SECRET_0 05 06\n')); // after close: not written
    assert.equal(keylog.lineCount, 2);
    assert.equal(readFileSync(path, 'latin1'), 'CLIENT_RANDOM aa bb\nSERVER_TRAFFIC_SECRET_0 01 02\nEXPORTER_SECRET 03 04\n');
    assert.throws(() => keylog.attach(server), /keylog: .* is closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
