/**
 * Fleet benchmark (issue 11): the worked example's 5,000 wearables on this machine, each figure
 * against a baseline measured in the same run.
 *
 *   node --expose-gc --import tsx bench/fleet.ts [--wearables N] [--handshakes N] [--threads N] [--in-flight N] [--device-chain leaf|leaf+intermediate] [--no-mosquitto]
 *                                                [--only provisioning,storm,handshakes,sustained,restart,memory]
 *                                                                 (defaults 5000, 200, 1, 16, all)
 *
 * 1. provisioning: certificate + key + E3 identity per device (certs/fleet-certificates.ts)
 *    against the @peculiar/x509 path (generatePki) per certificate;
 * 2. connect storm: N mutual-TLS connections (FleetDevice → Aedes, to CONNACK, --in-flight per
 *    thread) with the devices in --threads worker threads and the broker in the main one,
 *    against N raw node:tls connections laid out the same way (same certificates, contexts,
 *    concurrency and TCP options, a bare server); then the same fleet against Mosquitto in its
 *    role container (the containers and swarm placements' broker, bench/mosquitto-broker.ts;
 *    left out with --no-mosquitto), and the same storm in one thread;
 * 3. one device's handshakes, sequential: full and resumed, to CONNACK, against raw node:tls;
 * 4. sustained readings, zero loss (seal, broker, cloud open): rising time compression until
 *    a reading is lost or sealing falls behind; p50/p99 seal-to-PUBACK latency per factor;
 * 5. restart storm: the broker restarts; time until every device is back and every queued
 *    reading is opened (4 and 5: bench/fleet-rounds.ts, the wearables in a worker thread and
 *    the broker and cloud in the main one, as the local placement runs them);
 * 6. memory: RSS per connected wearable of a process hosting only the wearables, against bare
 *    node:tls clients measured the same way (bench/fleet-memory.ts).
 * All on loopback; sections 2 and 3 build their rig with the wearables in the main thread
 * (LocalFleet 'main thread'): the timed storm runs its devices in worker threads of its own
 * (bench/fleet-storm-thread.ts), the one-thread storm and the single handshakes in the main one.
 */
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, release, type } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki, type IssuedCertificate, type Pki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { FleetDevice } from '../emulators/fleet/fleet-device.ts';
import { LocalFleet } from '../topology/local-fleet.ts';
import { fleetDeviceIds } from '../topology/fleet-rig.ts';
import type { FleetMember } from '../emulators/fleet/fleet.ts';
import type { StormJob } from './fleet-storm-thread.ts';
import { tsxWorkerSource } from '../topology/tsx-runtime.ts';
import { restartStorm, sustainedRounds } from './fleet-rounds.ts';
import { memoryPerWearable } from './fleet-memory.ts';
import { rawTlsRoundTrip } from './raw-tls-round-trip.ts';
import { startBenchMosquitto } from './mosquitto-broker.ts';

/** A bad flag: one line saying what to give instead, and exit 2 (no stack trace). */
function usage(message: string): never {
  console.error(`bench/fleet: ${message}`);
  process.exit(2);
}

function arg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < min || n > max) usage(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
  return n;
}

/** The parts to run (--only a,b): one figure can be re-measured without the others' minutes. */
const PARTS = ['provisioning', 'storm', 'handshakes', 'sustained', 'restart', 'memory'] as const;
/** A misspelt flag (--no-mosquito) would otherwise be ignored and start Docker after all. */
const FLAGS_WITH_VALUE = ['--wearables', '--handshakes', '--threads', '--in-flight', '--device-chain', '--only'];
const unknownFlag = process.argv.slice(2).find((a, i, all) => !FLAGS_WITH_VALUE.includes(a) && a !== '--no-mosquitto' && !FLAGS_WITH_VALUE.includes(all[i - 1] ?? ''));
if (unknownFlag !== undefined) usage(`unknown argument ${JSON.stringify(unknownFlag)}; flags: --wearables N, --handshakes N, --threads N, --in-flight N, --device-chain leaf|leaf+intermediate, --only ${PARTS.join(',')}, --no-mosquitto`);
const N = arg('--wearables', 5000, 10, 5000);
const HANDSHAKES = arg('--handshakes', 200, 10, 10_000);
/** Client threads of the connect storm (the broker or raw server is the main thread) and attempts in flight per thread. */
const THREADS = arg('--threads', 1, 1, 8);
const IN_FLIGHT = arg('--in-flight', 16, 1, 512);
/** The connect storm against Mosquitto as well (needs Docker and the role images, built if missing). */
const MOSQUITTO = !process.argv.includes('--no-mosquitto');
/** What each device presents in the connect storm (section 2), fleet and raw alike: its chain as the fleet sends it, or its leaf only. */
const DEVICE_CHAIN = (() => {
  const i = process.argv.indexOf('--device-chain');
  if (i < 0) return 'leaf+intermediate';
  const v = process.argv[i + 1];
  if (v !== 'leaf' && v !== 'leaf+intermediate') usage(`--device-chain takes leaf or leaf+intermediate; got ${JSON.stringify(v ?? null)}`);
  return v;
})();
type Part = (typeof PARTS)[number];
const ONLY: ReadonlySet<Part> = (() => {
  const i = process.argv.indexOf('--only');
  if (i < 0) return new Set(PARTS);
  const asked = String(process.argv[i + 1] ?? '').split(',').filter(Boolean);
  const unknown = asked.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (asked.length === 0 || unknown.length > 0) usage(`--only takes a comma-separated list of ${PARTS.join(', ')}; got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
  return new Set(asked as Part[]);
})();
const seconds = (since: number) => (performance.now() - since) / 1000;

async function provisioning(): Promise<void> {
  const sample = 200;
  let t = performance.now();
  await generatePki({ wearableIds: fleetDeviceIds(sample) });
  const peculiarPerCert = seconds(t) / sample;
  const pki = await generatePki({ wearableIds: [] });
  t = performance.now();
  const ids = fleetDeviceIds(N);
  issueFleetCertificates(pki, ids);
  ids.forEach((id, i) => provisionDevice(id, i + 1));
  const fleet = seconds(t);
  console.log(`provisioning ${N} identities (P-256 key, certificate, pseudonym, salt): ${fleet.toFixed(1)} s (${((fleet / N) * 1000).toFixed(2)} ms each); @peculiar/x509 path ${(peculiarPerCert * 1000).toFixed(1)} ms each → ${(peculiarPerCert * N).toFixed(0)} s for ${N}; speed-up ×${(peculiarPerCert / (fleet / N)).toFixed(1)}`);
}

/**
 * A connect storm with the clients in worker threads (bench/fleet-storm-thread.ts) and the server
 * in this one, so the two sides run on the two cores. Resolves when every connection is up; the
 * connections stay open until `close`.
 */
const THREAD_ENTRY = tsxWorkerSource(new URL('./fleet-storm-thread.ts', import.meta.url));

async function threadedStorm(kind: StormJob['kind'], members: readonly FleetMember[], common: Omit<StormJob, 'kind' | 'members'>): Promise<{ boot: number; seconds: number; refusals: number; close: () => Promise<void> }> {
  const per = Math.ceil(members.length / THREADS);
  const workers = Array.from({ length: THREADS }, (_, i) => new Worker(THREAD_ENTRY, { eval: true, workerData: { kind, members: members.slice(i * per, (i + 1) * per), ...common } satisfies StormJob }));
  const close = async () => void (await Promise.all(workers.map((w) => w.terminate())));
  const next = (w: Worker) =>
    new Promise<{ ready?: number; done?: boolean; refusals?: number }>((resolve, reject) => {
      w.once('message', (m: { ready?: number; done?: boolean; refusals?: number; error?: string }) => (m.error ? reject(new Error(`${kind} storm thread: ${m.error}`)) : resolve(m)));
      w.once('error', reject);
    });
  try {
    const boot = Math.max(...(await Promise.all(workers.map(next))).map((m) => m.ready ?? 0));
    const t = performance.now();
    const done = workers.map(next);
    for (const w of workers) w.postMessage('go');
    const finals = await Promise.all(done);
    return { boot, seconds: seconds(t), refusals: finals.reduce((n, m) => n + (m.refusals ?? 0), 0), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A bare node:tls server with the broker's TLS options (CloudBroker: mutual TLS, TLS 1.3, Nagle off) answering each client's first byte, for the raw storm. */
async function rawServer(pki: { ca: string; serverChain: string; serverKey: string }): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createTlsServer({ cert: pki.serverChain, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.write('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** One raw node:tls handshake after another (as bench/handshake.ts), full or resumed; per second. */
async function rawSequential(device: IssuedCertificate, pki: { ca: string; serverChain: string; serverKey: string }, resume: boolean): Promise<number> {
  const server = createTlsServer({ cert: pki.serverChain, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  // One context, built once, as the fleet device keeps its own (emulators/fleet/fleet.ts).
  const secureContext = createSecureContext({ ca: pki.ca, cert: device.chainPem, key: device.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=2' });
  const roundTrip = rawTlsRoundTrip(port, secureContext);
  const one = () => roundTrip(resume);
  await one();
  const t = performance.now();
  for (let i = 0; i < HANDSHAKES; i++) await one();
  const rate = HANDSHAKES / seconds(t);
  await new Promise((r) => server.close(() => r(undefined)));
  return rate;
}

/**
 * The fleet's connect storm against Mosquitto (the containers placement's broker, persistent
 * sessions as the fleet's broker has them), the devices in worker threads as above; its ratio is
 * to the raw storm of the same run, whose server also had a thread of its own.
 */
async function mosquittoStorm(pki: Pki, devices: readonly DeviceProvisioning[], members: readonly FleetMember[], common: Omit<StormJob, 'kind' | 'members' | 'endpoint'>, rawSeconds: number): Promise<void> {
  let broker;
  try {
    broker = await startBenchMosquitto(pki, devices, { persistentSessions: true, say: (line) => console.log(`  ${line}`) });
  } catch (err) {
    console.log(`connect storm against Mosquitto left out: ${(err as Error).message.split('\n')[0]} (run \`testbed doctor\`; or pass --no-mosquitto)`);
    return;
  }
  try {
    const load = loadavg()[0]?.toFixed(1);
    const storm = await threadedStorm('fleet', members, { ...common, endpoint: { host: broker.host, port: broker.port, serverName: CLOUD_NAME } });
    await storm.close();
    console.log(`connect storm against Mosquitto (its container, over the Docker bridge; ${THREADS} client thread(s), ${IN_FLIGHT} in flight per thread, load ${load}): ${N} mutual-TLS connections to CONNACK in ${storm.seconds.toFixed(1)} s (${(N / storm.seconds).toFixed(0)}/s); raw node:tls ${rawSeconds.toFixed(1)} s; ratio ${(rawSeconds / storm.seconds).toFixed(2)}; target < 15 s ${storm.seconds < 15 ? 'met' : 'NOT met'} (attempts refused or timed out and retried: ${storm.refusals})`);
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  console.log(`bench/fleet: ${type()} ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} wearables`);
  if (ONLY.has('provisioning')) await provisioning();

  const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  try {
    if (ONLY.has('storm') || ONLY.has('handshakes')) {
      // Sections 2 and 3 drive single devices and a one-thread storm: the wearables in this thread.
      const rig = new LocalFleet(join(dir, 'main-thread'), 'main thread');
      try {
        await rig.start({ wearables: N, speedup: 20 });
        const m = rig.materials;
        if (!m) throw new Error('bench/fleet: the local fleet has no materials');
        const tlsPki = { ca: m.pki.rootCa.certPem + m.pki.intermediateCa.certPem, serverChain: m.pki.cloud.chainPem, serverKey: m.pki.cloud.keyPem };
        const devices = [...m.pki.wearables.values()];

        if (ONLY.has('storm')) {
          // 2. connect storm: the clients in worker threads, the server (broker, or a bare node:tls
          // server for the baseline) in this one; same certificates, concurrency and TCP options.
          const members: FleetMember[] = m.fleet.devices.map((d) => {
            const issued = m.pki.wearables.get(d.deviceId) as IssuedCertificate;
            // --device-chain leaf: the device omits the intermediate the broker already holds in its
            // trust store (RFC 8446 §4.4.2: a certificate the peer is known to possess MAY be
            // omitted); the broker still validates leaf → intermediate → root. Raw and fleet alike.
            return { provisioning: d.config.provisioning, keyPem: issued.keyPem, certChainPem: DEVICE_CHAIN === 'leaf' ? issued.certPem : issued.chainPem };
          });
          const common = { caPem: tlsPki.ca, cloudE3PublicKeyPem: m.pki.cloudE3.publicKeyPem, concurrency: IN_FLIGHT, deadlineMs: 600_000 };
          const server = await rawServer(tlsPki);
          const raw = await threadedStorm('raw', members, { ...common, endpoint: { host: '127.0.0.1', port: server.port, serverName: CLOUD_NAME } });
          await raw.close();
          await server.close();
          const load = loadavg()[0]?.toFixed(1);
          const fleetStorm = await threadedStorm('fleet', members, { ...common, endpoint: { host: m.endpoint.host, port: m.endpoint.port, serverName: CLOUD_NAME } });
          await fleetStorm.close();
          console.log(`connect storm (${THREADS} client thread(s) + the server's, ${IN_FLIGHT} in flight per thread, devices present ${DEVICE_CHAIN}, load ${load}): ${N} mutual-TLS connections to CONNACK in ${fleetStorm.seconds.toFixed(1)} s (${(N / fleetStorm.seconds).toFixed(0)}/s); raw node:tls ${raw.seconds.toFixed(1)} s (${(N / raw.seconds).toFixed(0)}/s); ratio ${(raw.seconds / fleetStorm.seconds).toFixed(2)}; target < 15 s ${fleetStorm.seconds < 15 ? 'met' : 'NOT met'} (credentials loaded beforehand: fleet ${fleetStorm.boot.toFixed(1)} s, raw ${raw.boot.toFixed(1)} s; fleet attempts refused or timed out and retried: ${fleetStorm.refusals})`);
          if (MOSQUITTO) await mosquittoStorm(m.pki, m.fleet.devices.map((d) => d.config.provisioning), members, common, raw.seconds);
          // Let the broker see the storm's sessions go before the same identities connect again.
          await new Promise((r) => setTimeout(r, 2_000));

          // The same storm in this one thread (fleet, broker and cloud on one core); the memory
          // figure is section 6's, from a process hosting only the wearables.
          const boot = m.fleet.loadCredentials();
          const { seconds: storm } = await rig.connectAll(600_000);
          console.log(`connect storm in one thread (fleet, broker and cloud), load ${loadavg()[0]?.toFixed(1)}: ${N} in ${storm.toFixed(1)} s (${(N / storm).toFixed(0)}/s) after ${boot.toFixed(1)} s loading credentials`);
        }

        if (ONLY.has('handshakes')) {
          // 3. one device's handshakes, full (fresh session) and resumed, to CONNACK.
          const template = m.fleet.devices[0] as FleetDevice;
          const sequential = async (resume: boolean) => {
            let device = new FleetDevice(template.config);
            await device.connect();
            await device.disconnect();
            const t = performance.now();
            for (let i = 0; i < HANDSHAKES; i++) {
              if (!resume) device = new FleetDevice(template.config);
              await device.connect();
              await device.disconnect();
            }
            return HANDSHAKES / seconds(t);
          };
          for (const resume of [false, true]) {
            const ours = await sequential(resume);
            const base = await rawSequential(devices[0] as IssuedCertificate, tlsPki, resume);
            console.log(`${resume ? 'resumed' : 'full   '} handshake, one after another: wearable→broker (to CONNACK) ${ours.toFixed(0)}/s, raw node:tls ${base.toFixed(0)}/s, ratio ${(ours / base).toFixed(2)}`);
          }
        }
      } finally {
        await rig.stop();
      }
    }
    if (ONLY.has('sustained') || ONLY.has('restart')) {
      // Sections 4 and 5 on the local placement's layout: the wearables in a worker thread.
      const rig = new LocalFleet(join(dir, 'worker-thread'));
      try {
        await rig.start({ wearables: N, speedup: 20 });
        await rig.loadCredentials();
        await rig.connectAll(600_000);
        if (ONLY.has('sustained')) await sustainedRounds(rig, N);
        if (ONLY.has('restart')) await restartStorm(rig, N);
      } finally {
        await rig.stop();
      }
      // The same-run baseline: the second pass's layout, everything in one thread (×20 only).
      const one = new LocalFleet(join(dir, 'one-thread'), 'main thread');
      try {
        await one.start({ wearables: N, speedup: 20 });
        await one.loadCredentials();
        await one.connectAll(600_000);
        if (ONLY.has('sustained')) await sustainedRounds(one, N, [20]);
        if (ONLY.has('restart')) await restartStorm(one, N);
      } finally {
        await one.stop();
      }
    }
    if (ONLY.has('memory')) await memoryPerWearable(N, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench/fleet: ${err.message}`);
    process.exit(1);
  },
);
