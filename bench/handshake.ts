/**
 * Handshake benchmark: full and resumed TLS 1.3 handshakes per second (mTLS, ECDSA P-256) through
 * the project's roles (Wearable → CloudBroker, to MQTT CONNACK) against raw node:tls client and
 * server with the same certificates in the same run; and the link relay's added latency per
 * packet beyond its configured delay.
 *
 *   node --import tsx bench/handshake.ts [--count N] [--no-mosquitto]    (default 200 connections per case)
 *
 * Connections run one after another (latency-bound, as a device reconnecting), on loopback.
 * Three kinds per case, run in interleaved slices so that a change in the host's load falls on
 * all of them alike:
 *   raw      bare node:tls client and server; the client builds its SecureContext once (as a
 *            device holds its credentials) and sends one byte, the server answers one;
 *   direct   the Wearable straight to the CloudBroker (Aedes, in this process: the local
 *            placement's broker): the target row (issue 11, "Speed");
 *   relay    the same through a capturing TcpLink (the @resumption scenarios' rig): the link's
 *            own cost on top, a row of its own;
 * and, unless --no-mosquitto (they need Docker and the role images, built if missing):
 *   mosquitto  the Wearable to Mosquitto in its role container (the containers and swarm
 *            placements' broker, bench/mosquitto-broker.ts), reached over the Docker bridge;
 *   raw-proc raw node:tls with its server in a process of its own (bench/raw-tls-server-process.ts):
 *            the same layout as a broker in its own process, so that row has a fair baseline too.
 */
import { createServer as createTlsServer, createSecureContext, type SecureContext } from 'node:tls';
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
import { startRawServerProcess } from './raw-tls-server-process.ts';
import { startBenchMosquitto } from './mosquitto-broker.ts';

const DEVICE = 'wearable-0001';
/** Each kind runs its count in this many slices, taking turns with the others. */
const SLICES = 4;

function parseFlags(argv: string[]): { count: number; mosquitto: boolean } {
  const known = new Set(['--count', '--no-mosquitto']);
  const unknown = argv.find((a, i) => a.startsWith('--') && !known.has(a) && argv[i - 1] !== '--count');
  if (unknown) {
    console.error(`bench/handshake: unknown flag ${unknown}; use --count N and/or --no-mosquitto`);
    process.exit(2);
  }
  return { count: parseCount(argv), mosquitto: !argv.includes('--no-mosquitto') };
}

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

/** The raw client's context: the wearable's options (secure profile), built once. */
function rawClientContext(pki: Pki): SecureContext {
  const device = pki.wearables.get(DEVICE);
  if (!device) throw new Error('bench/handshake: no device certificate');
  return createSecureContext({ ca: pki.rootCa.certPem, cert: device.chainPem, key: device.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: secureProfile.ciphers });
}

const brokerCa = (pki: Pki) => `${pki.rootCa.certPem}\n${pki.intermediateCa.certPem}`;

async function rawKind(pki: Pki): Promise<Kind> {
  const server = createTlsServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca: brokerCa(pki), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    name: 'raw node:tls',
    one: rawTlsRoundTrip(port, rawClientContext(pki)),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Raw node:tls with the server in a process of its own: the baseline laid out as a broker process. */
async function rawProcessKind(pki: Pki): Promise<Kind> {
  const server = await startRawServerProcess({ certChainPem: pki.cloud.chainPem, keyPem: pki.cloud.keyPem, caPem: brokerCa(pki) });
  return { name: 'raw node:tls, server process', one: rawTlsRoundTrip(server.port, rawClientContext(pki)), stop: server.stop };
}

/** A Wearable with the secure profile (TLS 1.3 only) for `endpoint`, and its session cache. */
function benchWearable(pki: Pki, endpoint: { host: string; port: number }): { wearable: Wearable; cache: TlsSessionCache } {
  const device = pki.wearables.get(DEVICE);
  if (!device) throw new Error('bench/handshake: no device certificate');
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
  return { wearable, cache };
}

/** One connection of the Wearable, to CONNACK and a clean MQTT disconnect; full unless `resume`. */
function wearableOne(w: { wearable: Wearable; cache: TlsSessionCache }): Kind['one'] {
  return async (resume) => {
    if (!resume) w.cache.forget(CLOUD_NAME);
    await w.wearable.connect();
    await w.wearable.stop();
  };
}

/** The Wearable straight to the CloudBroker: no relay, no capture, no key log. */
async function directKind(pki: Pki): Promise<Kind> {
  const broker = new CloudBroker({ host: '127.0.0.1', port: 0, serverCertChainPem: pki.cloud.chainPem, serverKeyPem: pki.cloud.keyPem, clientCaPem: brokerCa(pki), ownTopicOf: () => undefined });
  const endpoint = await broker.start();
  return { name: 'wearable→broker', one: wearableOne(benchWearable(pki, endpoint)), stop: () => broker.stop() };
}

/** The Wearable to Mosquitto in its role container (the containers and swarm placements' broker). */
async function mosquittoKind(pki: Pki): Promise<Kind> {
  const broker = await startBenchMosquitto(pki, [provisionDevice(DEVICE, 1)], { say: (line) => console.log(`  ${line}`) });
  return { name: 'wearable→Mosquitto', one: wearableOne(benchWearable(pki, broker)), stop: broker.stop };
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

const { count, mosquitto } = parseFlags(process.argv.slice(2));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`bench/handshake: ${count} sequential connections per case and kind, ${SLICES} interleaved slices; Node ${process.version}, ${type()} ${release()}, ${cpus()[0]?.model ?? 'cpu'}; load ${load()}`);
console.log('TLS 1.3, mTLS, ECDSA P-256, loopback (Mosquitto: the Docker bridge), no emulated delay');
const pki = await generatePki({ wearableIds: [DEVICE] });
const kinds = [await rawKind(pki), await directKind(pki), await relayKind()];
if (mosquitto) {
  try {
    // One at a time, so that a Mosquitto that fails to start leaves no raw server process behind.
    kinds.push(await rawProcessKind(pki));
    kinds.push(await mosquittoKind(pki));
  } catch (err) {
    if (kinds.length > 3) await kinds.splice(3)[0]?.stop();
    console.log(`  Mosquitto rows left out: ${(err as Error).message.split('\n')[0]} (run \`testbed doctor\`; or pass --no-mosquitto)`);
  }
}
const verdict = (ratio: number) => `ratio ${ratio.toFixed(2)} (target 0.8 ${ratio >= 0.8 ? 'met' : 'NOT met'})`;
try {
  for (const resume of [false, true]) {
    const [raw, direct, relay, rawProcess, toMosquitto] = await interleaved(kinds, count, resume);
    const rate = (n: number | undefined) => (n ?? 0).toFixed(0).padStart(5);
    const mode = resume ? 'resumed' : 'full   ';
    console.log(`  ${mode}  raw node:tls ${rate(raw)} /s   wearable→broker (Aedes, to CONNACK) ${rate(direct)} /s ${verdict((direct ?? 0) / (raw ?? 1))}   through the capturing relay ${rate(relay)} /s ratio ${((relay ?? 0) / (raw ?? 1)).toFixed(2)}`);
    if (rawProcess !== undefined && toMosquitto !== undefined) {
      console.log(`  ${mode}  wearable→Mosquitto (its container, to CONNACK) ${rate(toMosquitto)} /s ${verdict(toMosquitto / (raw ?? 1))}; against raw with its server in a process of its own (${rate(rawProcess)} /s): ratio ${(toMosquitto / rawProcess).toFixed(2)}`);
    }
  }
} finally {
  // The Mosquitto container and the raw server process go on every path, a failed round included.
  for (const k of kinds) await k.stop().catch((err: Error) => console.error(`bench/handshake: stopping ${k.name}: ${err.message}`));
}
console.log(`load after: ${load()}`);
const overhead = await relayOverhead(10, 200);
console.log(`link relay: median added latency per packet beyond a configured 10 ms: ${overhead.toFixed(3)} ms (target < 1 ms: ${overhead < 1 ? 'met' : 'NOT met'})`);
