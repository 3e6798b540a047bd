/**
 * The driver against the real bridge binary (built from Debian's pion/dtls; skipped with the
 * install command when Go is missing, a failure in CI; a Go compile error always fails):
 * handshake events, datagrams both ways with server framing, stats, clean SIGTERM shutdown,
 * startup errors, and hostile datagrams that must not stop the bridge serving a genuine client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlLine, DTLS_BRIDGE_BINARY, DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES, DTLS_BRIDGE_DIR, DtlsBridgeProcess, DtlsBridgeUnavailableError, dtlsBridgeArgs, ensureDtlsBridge, framePlaintext, unframePlaintext, type BridgeCommand } from './dtls-bridge-process.ts';
import { skipForMissingTool } from '../../cli/prerequisites.ts';

const psk = '000102030405060708090a0b0c0d0e0f';
// Only a missing Go toolchain or pion source is a skip (and a failure in CI); a compile error
// runs every test below, which then fail with the compiler's message.
const skip = await ensureDtlsBridge().then(
  () => false,
  (err: Error) => (err instanceof DtlsBridgeUnavailableError ? skipForMissingTool(err.message) : false),
);

test('the bridge builds from its Go sources (a compile error fails here with the compiler\'s message)', { skip }, async () => {
  assert.equal(await ensureDtlsBridge(), DTLS_BRIDGE_BINARY);
});

test('framing is peerId u32 BE ‖ payload; bad peer ids and short datagrams are refused', () => {
  const f = framePlaintext(258, Uint8Array.of(9, 8));
  assert.deepEqual([...f], [0, 0, 1, 2, 9, 8]);
  const u = unframePlaintext(f);
  assert.equal(u?.peerId, 258);
  assert.deepEqual([...(u?.payload ?? [])], [9, 8]);
  assert.equal(unframePlaintext(Uint8Array.of(1, 2, 3)), undefined);
  assert.throws(() => framePlaintext(0, new Uint8Array(1)), /peerId must be/);
});

test('control lines: one JSON command and a newline; a line over the bridge\'s 64 KiB limit is refused before it is sent', () => {
  assert.equal(controlLine({ cmd: 'close', peerId: 3 }), '{"cmd":"close","peerId":3}\n');
  const oversized = { cmd: 'stats', pad: 'x'.repeat(DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES) } as BridgeCommand;
  assert.throws(() => controlLine(oversized), /the stats control line is 65560 bytes, over the bridge's 65536-byte \(64 KiB\) limit/);
  // Exactly the limit still goes (the bridge's own test sends one too).
  const atLimit = { cmd: 'stats', pad: 'x'.repeat(DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES - '{"cmd":"stats","pad":""}'.length) } as BridgeCommand;
  assert.equal(controlLine(atLimit).length, DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES + 1);
  // The two sides agree on the limit.
  const go = readFileSync(join(DTLS_BRIDGE_DIR, 'bridge', 'control.go'), 'utf8');
  assert.match(go, /const MaxControlLineBytes = 64 \* 1024\n/);
  assert.equal(DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES, 64 * 1024);
});

test('arguments: a verifying client needs a server name; cert and key go together; PSK is hex', () => {
  const own = { own: { host: '127.0.0.1', port: 7000 } };
  assert.throws(() => dtlsBridgeArgs({ mode: 'client', connect: { host: '127.0.0.1', port: 1 }, caFile: 'ca.pem' }, own), /needs serverName/);
  assert.throws(() => dtlsBridgeArgs({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, certFile: 'c.pem' }, own), /go together/);
  assert.throws(() => dtlsBridgeArgs({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: 'xyz' }, own), /hex/);
  assert.deepEqual(dtlsBridgeArgs({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: psk, handshakeTimeoutMs: 1500 }, own), [
    'server', '--psk', psk, '--handshake-timeout', '1500ms', '--listen', '127.0.0.1:0', '--plain', '127.0.0.1:7000',
  ]);
});

async function pskPair() {
  const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: psk, ciphers: ['PSK-AES128-GCM-SHA256'] }, { name: 'server' });
  return server;
}

async function pskClient(server: DtlsBridgeProcess, name: string) {
  return DtlsBridgeProcess.start({ mode: 'client', connect: server.dtlsAddress, pskHex: psk, pskIdentity: name, ciphers: ['PSK-AES128-GCM-SHA256'] }, { name });
}

test('a PSK handshake, datagrams both ways, stats, and a clean SIGTERM', { skip }, async () => {
  const server = await pskPair();
  const client = await pskClient(server, 'device-a');
  try {
    const outcome = await client.handshakeOutcome(5_000);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.event.version, 'DTLS 1.2');
    assert.equal(outcome.event.cipherSuite, 'PSK-AES128-GCM-SHA256');
    const atServer = new Promise<{ payload: string; peerId: number }>((r) => server.onDatagram((p, peerId) => r({ payload: Buffer.from(p).toString(), peerId })));
    client.send(Buffer.from('reading'));
    const got = await atServer;
    assert.equal(got.payload, 'reading');
    const atClient = new Promise<string>((r) => client.onDatagram((p) => r(Buffer.from(p).toString())));
    server.send(Buffer.from('ack'), got.peerId);
    assert.equal(await atClient, 'ack');
    const stats = await server.stats();
    assert.equal(stats.handshakesOk, 1);
  } finally {
    assert.equal(await client.stop(), 0);
    assert.equal(await server.stop(), 0);
  }
  assert.ok(server.log.ofKind('closed').some((o) => o.detail.scope === 'bridge'), 'the bridge reports its own close on SIGTERM');
});

test('a wrong PSK fails the handshake with a reason, bounded by the handshake timeout', { skip }, async () => {
  const server = await pskPair();
  const client = await DtlsBridgeProcess.start({ mode: 'client', connect: server.dtlsAddress, pskHex: 'ff'.repeat(16), pskIdentity: 'x', ciphers: ['PSK-AES128-GCM-SHA256'], handshakeTimeoutMs: 1_000 }, { name: 'wrong-psk' });
  try {
    const outcome = await client.handshakeOutcome(5_000);
    assert.equal(outcome.ok, false);
    // pion drops the undecryptable Finished silently: the client only sees its timeout.
    assert.equal(outcome.event.reason, 'handshake-timeout', JSON.stringify(outcome.event));
  } finally {
    await client.stop();
    await server.stop();
  }
});

test('a startup error (unreadable certificate) becomes a clear rejection', { skip }, async () => {
  await assert.rejects(
    DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, certFile: '/nonexistent.pem', keyFile: '/nonexistent.key' }, { name: 'bad' }),
    /did not start: .*nonexistent/,
  );
});

test('garbage, truncated records and a ClientHello flood do not stop the bridge serving a genuine client', { skip }, async () => {
  const server = await pskPair();
  const attacker = createSocket('udp4');
  const { host, port } = server.dtlsAddress;
  try {
    // Garbage, a truncated DTLS header, and a truncated handshake record claiming 200 bytes.
    const truncated = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 1, 0]);
    for (const d of [Buffer.from('not dtls at all'), Buffer.from([22, 0xfe]), truncated]) attacker.send(d, port, host);
    // A flood of ClientHello-looking handshake records from one address (bounded: 200).
    const hello = Buffer.alloc(60);
    Buffer.from([22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 47, 1, 0, 0, 35, 0, 0, 0, 0, 0, 0, 0, 35, 0xfe, 0xfd]).copy(hello);
    for (let i = 0; i < 200; i++) attacker.send(hello, port, host);
    const client = await pskClient(server, 'genuine');
    try {
      assert.equal((await client.handshakeOutcome(8_000)).ok, true, 'the genuine client completed its handshake');
      const atServer = new Promise<string>((r) => server.onDatagram((p) => r(Buffer.from(p).toString())));
      client.send(Buffer.from('still here'));
      assert.equal(await atServer, 'still here');
    } finally {
      await client.stop();
    }
    assert.equal(server.log.ofKind('exit').length, 0, 'the server bridge is still running');
  } finally {
    attacker.close();
    await server.stop();
  }
});
