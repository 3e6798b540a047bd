/**
 * Handshake benchmark: full and resumed TLS 1.3 handshakes per second (mTLS, ECDSA P-256) through
 * the project's roles (Wearable → CloudBroker, to MQTT CONNACK) against raw node:tls client and
 * server with the same certificates in the same run; and the link relay's added latency per
 * packet beyond its configured delay.
 *
 *   node --import tsx bench/handshake.ts [--count N]     (default 200 connections per case)
 *
 * Connections run one after another (latency-bound, as a device reconnecting), on loopback.
 */
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, release, type } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { ResumptionRig } from '../topology/resumption-rig.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { latency, symmetric } from '../links/impairments.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

function parseCount(argv: string[]): number {
  const i = argv.indexOf('--count');
  if (i < 0) return 200;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 10 || n > 100_000) throw new Error(`bench/handshake: --count must be an integer in 10..100000, got ${JSON.stringify(argv[i + 1] ?? null)}`);
  return n;
}

async function rawTls(count: number, resume: boolean): Promise<number> {
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  const device = pki.wearables.get('wearable-0001');
  if (!device) throw new Error('bench/handshake: no device certificate');
  const ca = `${pki.rootCa.certPem}\n${pki.intermediateCa.certPem}`;
  const server = createTlsServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let session: Buffer | undefined;
  const one = () => new Promise<void>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.rootCa.certPem, cert: device.chainPem, key: device.keyPem, servername: CLOUD_NAME, minVersion: 'TLSv1.3', ...(resume && session ? { session } : {}) });
    s.on('session', (x: Buffer) => { session = x; });
    s.write('c');
    s.on('data', () => undefined);
    s.on('end', () => { s.destroy(); resolve(); });
    s.on('error', reject);
  });
  await one(); // warm-up, and the first session
  const start = performance.now();
  for (let i = 0; i < count; i++) await one();
  const seconds = (performance.now() - start) / 1000;
  await new Promise((r) => server.close(() => r(undefined)));
  return count / seconds;
}

async function roles(count: number, resume: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hs-'));
  const rig = new ResumptionRig({ dir, rttMs: 0, tlsVersion: 'TLS 1.3' });
  await rig.start();
  const one = async () => {
    if (!resume) rig.cache.forget(CLOUD_NAME);
    const w = rig.wearable(CLOUD_NAME);
    await w.connect();
    await w.stop();
  };
  await one();
  const start = performance.now();
  for (let i = 0; i < count; i++) await one();
  const seconds = (performance.now() - start) / 1000;
  await rig.stop();
  rmSync(dir, { recursive: true, force: true });
  return count / seconds;
}

/** Ping-pong through a link with `delayMs` each way; returns the median extra ms per packet. */
async function relayOverhead(delayMs: number, pings: number): Promise<number> {
  const echo = createNetServer({ noDelay: true }, (s) => s.on('data', (b) => s.write(b)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const link = new TcpLink({ name: 'bench', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (echo.address() as AddressInfo).port }, impairments: symmetric(latency({ ms: delayMs })) });
  const at = await link.start();
  const socket = netConnect({ host: at.host, port: at.port, noDelay: true });
  await new Promise((r) => socket.once('connect', r));
  await new Promise((r) => setTimeout(r, 3 * delayMs)); // past the emulated TCP handshake
  const extra: number[] = [];
  for (let i = 0; i < pings; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write('p');
    });
    // Two packets (there and back), each delayed by delayMs.
    extra.push((performance.now() - t - 2 * delayMs) / 2);
  }
  socket.destroy();
  await link.stop();
  await new Promise((r) => echo.close(() => r(undefined)));
  extra.sort((a, b) => a - b);
  return extra[Math.floor(extra.length / 2)] as number;
}

const count = parseCount(process.argv.slice(2));
console.log(`bench/handshake: ${count} sequential connections per case; Node ${process.version}, ${type()} ${release()}, ${cpus()[0]?.model ?? 'cpu'}`);
console.log('TLS 1.3, mTLS, ECDSA P-256, loopback, no emulated delay');
for (const resume of [false, true]) {
  const raw = await rawTls(count, resume);
  const ours = await roles(count, resume);
  const label = resume ? 'resumed' : 'full   ';
  console.log(`  ${label}  raw node:tls ${raw.toFixed(0).padStart(6)} /s   wearable→broker (to CONNACK) ${ours.toFixed(0).padStart(6)} /s   ratio ${(ours / raw).toFixed(2)}`);
}
const overhead = await relayOverhead(10, 200);
console.log(`link relay: median added latency per packet beyond a configured 10 ms: ${overhead.toFixed(3)} ms (target < 1 ms: ${overhead < 1 ? 'met' : 'NOT met'})`);
