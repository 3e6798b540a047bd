/**
 * wolfssl-bridge's TLS 1.3-over-TCP modes end to end (emulators/tls13-early-data/): the front
 * (tls-server) hands each connection's plaintext to a TCP upstream, the device (tls-client)
 * resumes and sends its bytes as 0-RTT early data; hostile input (garbage on the TCP port, an
 * oversized record, a connection flood bounded by --max-peers) leaves the front serving a genuine
 * client; bad flags get one line. Run by wolfssl-bridge/test.sh. Skipped, with the build command,
 * where wolfSSL is not built.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki } from '../../certs/pki.ts';
import { writePki, type PkiPaths } from '../../certs/pki-files.ts';
import { CLOUD_NAME } from '../../certs/genuine-profiles.ts';
import { skipForMissingTool } from '../../cli/prerequisites.ts';
import { WOLFSSL_BRIDGE_BINARY, WolfsslBridgeUnavailableError, ensureWolfsslBridge } from '../../emulators/dtls/wolfssl-bridge.ts';
import { WolfsslTlsProcess, type TcpAddress } from '../../emulators/tls13-early-data/wolfssl-tls-process.ts';

const DEVICE = 'wearable-0001';
const skip = await ensureWolfsslBridge().then(
  () => false,
  (err: Error) => (err instanceof WolfsslBridgeUnavailableError ? skipForMissingTool(err.message) : false),
);
const dir = mkdtempSync(join(tmpdir(), 'wolfssl-tls-test-'));
const running: { stop(): Promise<void> }[] = [];
after(async () => {
  for (const r of running) await r.stop();
  rmSync(dir, { recursive: true, force: true });
});
let pkiPromise: Promise<PkiPaths> | undefined;
const pki = (): Promise<PkiPaths> => (pkiPromise ??= generatePki({ wearableIds: [DEVICE] }).then((p) => writePki(p, join(dir, 'pki'))));

/** A TCP upstream that records what each connection sent and answers "ok:" + the bytes. */
async function upstream(): Promise<{ address: TcpAddress; received: Buffer[] }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('data', (b: Buffer) => {
      received.push(b);
      s.write(Buffer.concat([Buffer.from('ok:'), b]));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  running.push({ stop: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) });
  const a = server.address() as AddressInfo;
  return { address: { host: a.address, port: a.port }, received };
}

async function front(to: TcpAddress, extra: { singleUseTickets?: boolean; maxPeers?: number; keyLogFile?: string } = {}): Promise<WolfsslTlsProcess> {
  const p = await pki();
  const f = await WolfsslTlsProcess.start({ mode: 'tls-server', listen: { host: '127.0.0.1', port: 0 }, upstream: to, certFile: p.cloud.chain, keyFile: p.cloud.key, caFile: p.caBundle, earlyData: true, singleUseTickets: extra.singleUseTickets ?? true, handshakeTimeoutMs: 2_000, ...(extra.maxPeers ? { maxPeers: extra.maxPeers } : {}), ...(extra.keyLogFile ? { keyLogFile: extra.keyLogFile } : {}) }, 'front');
  running.push(f);
  return f;
}

async function device(to: TcpAddress, keyLogFile?: string): Promise<WolfsslTlsProcess> {
  const p = await pki();
  const c = p.wearable(DEVICE);
  const d = await WolfsslTlsProcess.start({ mode: 'tls-client', connect: to, serverName: CLOUD_NAME, certFile: c.chain, keyFile: c.key, caFile: p.caBundle, earlyData: true, handshakeTimeoutMs: 3_000, ...(keyLogFile ? { keyLogFile } : {}) }, 'device');
  running.push(d);
  return d;
}

/** The bytes the device received since observation `since`, once `text` is among them. */
async function answer(d: WolfsslTlsProcess, since: number, text: string): Promise<string> {
  const got = () => d.log.all().slice(since).filter((o) => o.kind === 'received').map((o) => Buffer.from(String(o.detail.hex), 'hex').toString()).join('');
  await d.waitAfter(since, `"${text}" from the upstream`, (o) => o.kind === 'received' && got().includes(text), 5_000);
  return got();
}

test('TLS 1.3 with mutual TLS: full, then resumed with 0-RTT early data; the upstream gets both, the key log is 0600', { skip }, async () => {
  const up = await upstream();
  const keyLogFile = join(dir, 'tls.keylog');
  const f = await front(up.address, { keyLogFile });
  const d = await device(f.address);
  let since = d.log.all().length;
  const first = await d.connect(Buffer.from('reading 1'), 'after-handshake');
  assert.equal(first.kind, 'handshake', JSON.stringify(first.detail));
  assert.equal(first.detail.version, 'TLS 1.3');
  assert.equal(first.detail.resumed, false);
  assert.match(await answer(d, since, 'ok:reading 1'), /ok:reading 1/);
  d.close();
  since = d.log.all().length;
  const second = await d.connect(Buffer.from('reading 2'), 'early-data');
  assert.equal(second.detail.resumed, true, JSON.stringify(second.detail));
  assert.equal(second.detail.earlyDataBytes, 9, JSON.stringify(second.detail));
  assert.match(await answer(d, since, 'ok:reading 2'), /ok:reading 2/);
  assert.ok(f.log.ofKind('early-data').some((o) => o.detail.bytes === 9), 'the front reported no 9-byte early-data event');
  assert.deepEqual(up.received.map(String), ['reading 1', 'reading 2']);
  assert.equal(statSync(keyLogFile).mode & 0o777, 0o600);
});

test('hostile input: garbage, an oversized record and a flood bounded by --max-peers; a genuine client is still served', { skip }, async () => {
  const up = await upstream();
  const f = await front(up.address, { maxPeers: 8 });
  const poke = (bytes: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const s = connect(f.address, () => s.end(bytes));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setTimeout(4_000, () => s.destroy());
      s.resume();
    });
  await poke(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  // A handshake record announcing 2^14 + 2049 bytes (over RFC 8446 §5.1's limit), then that many.
  const oversized = Buffer.alloc(5 + 16384 + 2049, 0x41);
  oversized.set([22, 3, 3, (16384 + 2049) >> 8, (16384 + 2049) & 0xff]);
  await poke(oversized);
  // 40 connections that say nothing: at most 8 are held (each until --handshake-timeout), the rest are refused.
  const flood = await Promise.all(Array.from({ length: 40 }, () => new Promise<Socket>((r) => { const s = connect(f.address, () => r(s)); s.on('error', () => r(s)); })));
  await new Promise((r) => setTimeout(r, 2_500)); // past the 2 s handshake timeout: the held ones are let go
  for (const s of flood) s.destroy();
  const stats = await f.stats();
  assert.ok(Number(stats.peersRefused) >= 32 - 8, `the flood was not bounded: ${JSON.stringify(stats)}`);
  assert.ok(Number(stats.handshakesFailed) >= 2, `garbage and the oversized record should fail their handshakes: ${JSON.stringify(stats)}`);
  const d = await device(f.address);
  const since = d.log.all().length;
  const ok = await d.connect(Buffer.from('still here'), 'after-handshake');
  assert.equal(ok.kind, 'handshake', JSON.stringify(ok.detail));
  assert.match(await answer(d, since, 'ok:still here'), /ok:still here/);
});

test('bad flags: one line that says what to fix, exit status 2', { skip }, async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((r) => execFile(WOLFSSL_BRIDGE_BINARY, args, { timeout: 5_000 }, (err, _o, stderr) => r({ code: (err as { code?: number } | null)?.code ?? 0, stderr })));
  const noUpstream = await run(['tls-server', '--listen', '127.0.0.1:0', '--cert', 'a', '--key', 'b']);
  assert.equal(noUpstream.code, 2);
  assert.match(noUpstream.stderr.trim(), /^wolfssl-bridge: tls-server needs --upstream ADDR/);
  assert.equal(noUpstream.stderr.trim().split('\n').length, 1);
  const badAddr = await run(['tls-client', '--connect', 'nowhere', '--ca', 'x', '--server-name', 'y']);
  assert.equal(badAddr.code, 2);
  assert.match(badAddr.stderr, /--connect takes an IPv4 address and port/);
});
