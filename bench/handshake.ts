/**
 * Handshake benchmark: full and resumed TLS 1.3 handshakes per second (mTLS, ECDSA P-256) through
 * the project's roles (Wearable → CloudBroker, to MQTT CONNACK) against raw node:tls client and
 * server with the same certificates in the same run; and the link relay's added latency per
 * packet beyond its configured delay.
 *
 *   node --import tsx bench/handshake.ts [--count N]     (default 200 connections per case)
 *
 * Connections run one after another (latency-bound, as a device reconnecting), on loopback.
 * Three kinds per case, run in interleaved slices so that a change in the host's load falls on
 * all of them alike:
 *   raw      bare node:tls client and server; the client builds its SecureContext once (as a
 *            device holds its credentials) and sends one byte, the server answers one;
 *   direct   the Wearable straight to the CloudBroker: the target row (issue 11, "Speed");
 *   relay    the same through a capturing TcpLink (the @resumption scenarios' rig): the link's
 *            own cost on top, a row of its own.
 */
import { createServer as createTlsServer, createSecureContext } from 'node:tls';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, release, type } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { ResumptionRig } from '../topology/resumption-rig.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { latency, symmetric } from '../links/impairments.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { Wearable } from '../emulators/wearable.ts';
import { provisionDevice } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { secureProfile } from '../emulators/tls-client-profile.ts';
import { TlsSessionCache } from '../emulators/tls-session-cache.ts';
import { rawTlsRoundTrip } from './raw-tls-round-trip.ts';

const DEVICE = 'wearable-0001';
/** Each kind runs its count in this many slices, taking turns with the others. */
const SLICES = 4;

function parseCount(argv: string[]): number {
  const i = argv.indexOf('--count');
  if (i < 0) return 200;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 10 || n > 100_000) {
    console.error(`bench/handshake: --count must be an integer in 10..100000, got ${JSON.stringify(argv[i + 1] ?? null)}`);
    process.exit(2);
  }
  return n;
}

/** One connection of a kind, full or resumed; the kind keeps its own session between calls. */
interface Kind {
  readonly name: string;
  one(resume: boolean): Promise<void>;
  stop(): Promise<void>;
}

async function rawKind(pki: Pki): Promise<Kind> {
  const device = pki.wearables.get(DEVICE);
  if (!device) throw new Error('bench/handshake: no device certificate');
  const ca = `${pki.rootCa.certPem}\n${pki.intermediateCa.certPem}`;
  const server = createTlsServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  // The wearable's options (secure profile), built once.
  const secureContext = createSecureContext({ ca: pki.rootCa.certPem, cert: device.chainPem, key: device.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: secureProfile.ciphers });
  return {
    name: 'raw node:tls',
    one: rawTlsRoundTrip(port, secureContext),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The Wearable straight to the CloudBroker: no relay, no capture, no key log. */
async function directKind(pki: Pki): Promise<Kind> {
  const device = pki.wearables.get(DEVICE);
  if (!device) throw new Error('bench/handshake: no device certificate');
  const broker = new CloudBroker({ host: '127.0.0.1', port: 0, serverCertChainPem: pki.cloud.chainPem, serverKeyPem: pki.cloud.keyPem, clientCaPem: `${pki.rootCa.certPem}\n${pki.intermediateCa.certPem}`, ownTopicOf: () => undefined });
  const endpoint = await broker.start();
  const cache = new TlsSessionCache();
  const wearable = new Wearable({
    provisioning: provisionDevice(DEVICE, 1),
    deviceKeyPem: device.keyPem,
    deviceCertChainPem: device.chainPem,
    caPem: pki.rootCa.certPem,
    cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
    endpoint: { ...endpoint, serverName: CLOUD_NAME },
    profile: { ...secureProfile, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' },
    clock: SimClock.compressed(1),
    sessionCache: cache,
  });
  return {
    name: 'wearable→broker',
    one: async (resume) => {
      if (!resume) cache.forget(CLOUD_NAME);
      await wearable.connect();
      await wearable.stop();
    },
    stop: () => broker.stop(),
  };
}

/** The same through the @resumption scenarios' rig: a capturing TcpLink and key logs on both ends. */
async function relayKind(): Promise<Kind> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hs-'));
  const rig = new ResumptionRig({ dir, rttMs: 0, tlsVersion: 'TLS 1.3' });
  await rig.start();
  const wearable = rig.wearable(CLOUD_NAME);
  return {
    name: 'wearable→relay→broker',
    one: async (resume) => {
      if (!resume) rig.cache.forget(CLOUD_NAME);
      await wearable.connect();
      await wearable.stop();
    },
    stop: async () => {
      await rig.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Connections per second of each kind, `count` each, in interleaved slices. */
async function interleaved(kinds: readonly Kind[], count: number, resume: boolean): Promise<number[]> {
  for (const k of kinds) {
    // Warm-up, and the first session to resume from.
    await k.one(false);
    await k.one(resume);
  }
  const ms = kinds.map(() => 0);
  const per = Math.ceil(count / SLICES);
  for (let slice = 0; slice < SLICES; slice++) {
    for (const [i, k] of kinds.entries()) {
      const t = performance.now();
      for (let n = 0; n < per; n++) await k.one(resume);
      ms[i] = (ms[i] as number) + performance.now() - t;
    }
  }
  return ms.map((m) => (per * SLICES) / (m / 1000));
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
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`bench/handshake: ${count} sequential connections per case and kind, ${SLICES} interleaved slices; Node ${process.version}, ${type()} ${release()}, ${cpus()[0]?.model ?? 'cpu'}; load ${load()}`);
console.log('TLS 1.3, mTLS, ECDSA P-256, loopback, no emulated delay');
const pki = await generatePki({ wearableIds: [DEVICE] });
const kinds = [await rawKind(pki), await directKind(pki), await relayKind()];
for (const resume of [false, true]) {
  const [raw, direct, relay] = (await interleaved(kinds, count, resume)) as [number, number, number];
  const rate = (n: number) => n.toFixed(0).padStart(5);
  console.log(`  ${resume ? 'resumed' : 'full   '}  raw node:tls ${rate(raw)} /s   wearable→broker (to CONNACK) ${rate(direct)} /s ratio ${(direct / raw).toFixed(2)} (target 0.8 ${direct / raw >= 0.8 ? 'met' : 'NOT met'})   through the capturing relay ${rate(relay)} /s ratio ${(relay / raw).toFixed(2)}`);
}
for (const k of kinds) await k.stop();
console.log(`load after: ${load()}`);
const overhead = await relayOverhead(10, 200);
console.log(`link relay: median added latency per packet beyond a configured 10 ms: ${overhead.toFixed(3)} ms (target < 1 ms: ${overhead < 1 ? 'met' : 'NOT met'})`);
