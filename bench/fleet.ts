/**
 * Fleet benchmark (issue 11): the worked example's 5,000 wearables on this machine, each figure
 * against a baseline measured in the same run.
 *
 *   node --expose-gc --import tsx bench/fleet.ts [--wearables N] [--handshakes N] [--threads N] [--in-flight N]
 *                                                [--only provisioning,storm,handshakes,sustained,restart]
 *                                                                 (defaults 5000, 200, 1, 16, all)
 *
 * 1. provisioning: certificate + key + E3 identity per device (certs/fleet-certificates.ts)
 *    against the @peculiar/x509 path (generatePki) per certificate;
 * 2. connect storm: N mutual-TLS connections (FleetDevice → Aedes, to CONNACK, --in-flight per
 *    thread) with the devices in --threads worker threads and the broker in the main one,
 *    against N raw node:tls connections laid out the same way (same certificates, contexts,
 *    concurrency and TCP options, a bare server); then the same storm in one thread, and the
 *    RSS per connected wearable;
 * 3. one device's handshakes, sequential: full and resumed, to CONNACK, against raw node:tls;
 * 4. sustained readings, zero loss (seal, broker, cloud open): rising time compression until
 *    a reading is lost or sealing falls behind; p50/p99 seal-to-PUBACK latency per factor;
 * 5. restart storm: the broker restarts; time until every device is back and every queued
 *    reading is opened.
 * Everything in one process on loopback: the fleet, the broker and the cloud share the cores
 * (the threaded storm uses both).
 */
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, release, type } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki, type IssuedCertificate } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice } from '../emulators/provisioning.ts';
import { FleetDevice } from '../emulators/fleet/fleet-device.ts';
import { percentile } from '../emulators/fleet/fleet-counters.ts';
import { LocalFleet } from '../topology/local-fleet.ts';
import { fleetDeviceIds } from '../topology/fleet-rig.ts';
import type { FleetMember } from '../emulators/fleet/fleet.ts';
import type { StormJob } from './fleet-storm-thread.ts';

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

const N = arg('--wearables', 5000, 10, 5000);
const HANDSHAKES = arg('--handshakes', 200, 10, 10_000);
/** Client threads of the connect storm (the broker or raw server is the main thread) and attempts in flight per thread. */
const THREADS = arg('--threads', 1, 1, 8);
const IN_FLIGHT = arg('--in-flight', 16, 1, 512);
/** The parts to run (--only a,b): one figure can be re-measured without the others' minutes. */
const PARTS = ['provisioning', 'storm', 'handshakes', 'sustained', 'restart'] as const;
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
const mb = (bytes: number) => (bytes / 1_048_576).toFixed(0);

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
/** tsx's loader hooks do not reach worker threads by themselves: the worker registers them, then loads the TypeScript entry. */
const THREAD_ENTRY = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./fleet-storm-thread.ts', import.meta.url).href)}); })`;

async function threadedStorm(kind: StormJob['kind'], members: readonly FleetMember[], common: Omit<StormJob, 'kind' | 'members'>): Promise<{ boot: number; seconds: number; close: () => Promise<void> }> {
  const per = Math.ceil(members.length / THREADS);
  const workers = Array.from({ length: THREADS }, (_, i) => new Worker(THREAD_ENTRY, { eval: true, workerData: { kind, members: members.slice(i * per, (i + 1) * per), ...common } satisfies StormJob }));
  const close = async () => void (await Promise.all(workers.map((w) => w.terminate())));
  const next = (w: Worker) =>
    new Promise<{ ready?: number; done?: boolean }>((resolve, reject) => {
      w.once('message', (m: { ready?: number; done?: boolean; error?: string }) => (m.error ? reject(new Error(`${kind} storm thread: ${m.error}`)) : resolve(m)));
      w.once('error', reject);
    });
  try {
    const boot = Math.max(...(await Promise.all(workers.map(next))).map((m) => m.ready ?? 0));
    const t = performance.now();
    const done = workers.map(next);
    for (const w of workers) w.postMessage('go');
    await Promise.all(done);
    return { boot, seconds: seconds(t), close };
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
  let session: Buffer | undefined;
  // One context, built once, as the fleet device keeps its own (emulators/fleet/fleet.ts).
  const secureContext = createSecureContext({ ca: pki.ca, cert: device.chainPem, key: device.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=2' });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ socket: netConnect({ host: '127.0.0.1', port, noDelay: true }), servername: CLOUD_NAME, secureContext, ...(resume && session ? { session } : {}) });
      s.on('session', (x: Buffer) => (session = x));
      s.write('c');
      s.on('data', () => undefined);
      s.on('end', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
  await one();
  const t = performance.now();
  for (let i = 0; i < HANDSHAKES; i++) await one();
  const rate = HANDSHAKES / seconds(t);
  await new Promise((r) => server.close(() => r(undefined)));
  return rate;
}

async function main(): Promise<void> {
  console.log(`bench/fleet: ${type()} ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} wearables`);
  if (ONLY.has('provisioning')) await provisioning();

  const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  const rig = new LocalFleet(dir);
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
        return { provisioning: d.config.provisioning, keyPem: issued.keyPem, certChainPem: issued.chainPem };
      });
      const common = { caPem: tlsPki.ca, cloudE3PublicKeyPem: m.pki.cloudE3.publicKeyPem, concurrency: IN_FLIGHT, deadlineMs: 600_000 };
      const server = await rawServer(tlsPki);
      const raw = await threadedStorm('raw', members, { ...common, endpoint: { host: '127.0.0.1', port: server.port, serverName: CLOUD_NAME } });
      await raw.close();
      await server.close();
      const load = loadavg()[0]?.toFixed(1);
      const fleetStorm = await threadedStorm('fleet', members, { ...common, endpoint: { host: m.endpoint.host, port: m.endpoint.port, serverName: CLOUD_NAME } });
      await fleetStorm.close();
      console.log(`connect storm (${THREADS} client thread(s) + the server's, ${IN_FLIGHT} in flight per thread, load ${load}): ${N} mutual-TLS connections to CONNACK in ${fleetStorm.seconds.toFixed(1)} s (${(N / fleetStorm.seconds).toFixed(0)}/s); raw node:tls ${raw.seconds.toFixed(1)} s (${(N / raw.seconds).toFixed(0)}/s); ratio ${(raw.seconds / fleetStorm.seconds).toFixed(2)}; target < 15 s ${fleetStorm.seconds < 15 ? 'met' : 'NOT met'} (credentials loaded beforehand: fleet ${fleetStorm.boot.toFixed(1)} s, raw ${raw.boot.toFixed(1)} s)`);
      // Let the broker see the storm's sessions go before the same identities connect again.
      await new Promise((r) => setTimeout(r, 2_000));

      // The same storm in this one thread (fleet, broker and cloud on one core), and its memory.
      globalThis.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const boot = m.fleet.loadCredentials();
      const { seconds: storm } = await rig.connectAll(600_000);
      globalThis.gc?.();
      const rssPer = (process.memoryUsage().rss - rssBefore) / N;
      console.log(`connect storm in one thread (fleet, broker and cloud), load ${loadavg()[0]?.toFixed(1)}: ${N} in ${storm.toFixed(1)} s (${(N / storm).toFixed(0)}/s) after ${boot.toFixed(1)} s loading credentials`);
      console.log(`memory: ${(rssPer / 1024).toFixed(1)} KiB RSS per connected wearable (its TLS context and connection, and the broker's side of it; the cloud in the same process), ${mb(process.memoryUsage().rss)} MB in all; target <= 100 KiB ${rssPer <= 100 * 1024 ? 'met' : 'NOT met'}`);
    } else if (ONLY.has('sustained') || ONLY.has('restart')) {
      // The rounds below need a connected fleet.
      m.fleet.loadCredentials();
      await rig.connectAll(600_000);
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

    if (ONLY.has('sustained')) {
      // 4. sustained readings with zero loss, rising compression. "Sustained" means kept up: every
      // reading opened exactly once (the ledger) and the last one within a tenth of the round's
      // length (plus 0.5 s) after the round was due to end; a fleet that falls behind does not count.
      let highest = 0;
      for (const factor of [20, 40, 80, 160, 320]) {
        await rig.setClock(Math.floor(Date.now() / 1000), factor);
        m.fleet.counters.takeLatencies();
        const before = (await rig.ledger()).accepted;
        const t = performance.now();
        // Rounds of at least 5 s, so a backlog has time to show.
        const perDevice = Math.max(3, Math.ceil((5 * factor) / 30));
        const roundS = (perDevice * 30) / factor;
        try {
          await rig.report(perDevice, roundS * 1000 * 2 + 5_000);
          await rig.settle(60_000);
        } catch (err) {
          console.log(`sustained ×${factor}: fell behind (${(err as Error).message})`);
          await rig.settle(120_000).catch(() => undefined);
          break;
        }
        const took = seconds(t);
        const ledger = await rig.ledger();
        const lat = m.fleet.counters.takeLatencies();
        const opened = ledger.accepted - before;
        const lossless = ledger.gaps.length === 0 && opened === N * perDevice;
        const keptUp = took <= roundS * 1.1 + 0.5;
        console.log(`sustained ×${factor} (load ${loadavg()[0]?.toFixed(1)}): ${((N * factor) / 30).toFixed(0)} readings/s offered for ${roundS.toFixed(1)} s, ${opened} of ${N * perDevice} opened in ${took.toFixed(1)} s (${(opened / took).toFixed(0)}/s), ${ledger.gaps.length} wearables with gaps, latency seal→PUBACK p50 ${percentile(lat, 50).toFixed(0)} ms p99 ${percentile(lat, 99).toFixed(0)} ms${lossless ? '' : ' — LOSS'}${keptUp ? '' : ' — FELL BEHIND'}`);
        if (!lossless || !keptUp) break;
        highest = factor;
      }
      console.log(`highest compression sustained with zero loss: ×${highest} (${((N * highest) / 30).toFixed(0)} readings/s); target ×20 ${highest >= 20 ? 'met' : 'NOT met'}`);
    }

    if (ONLY.has('restart')) {
      // 5. restart storm: every device back and every queued reading opened. It starts from a calm
      // fleet (all connected, nothing queued), whatever the sustained rounds left behind.
      await m.fleet.waitFor(() => m.fleet.counters.connectedNow === N, 120_000, () => `before the restart storm, ${N - m.fleet.counters.connectedNow} not connected`);
      await rig.settle(120_000);
      // At ×5, as @fleet-restart: at ×20 the cloud's ±300 s timestamp window is 15 s of wall time,
      // and readings queued through a storm longer than that are refused as stale (never opened).
      await rig.setClock(Math.floor(Date.now() / 1000), 5);
      const reporting = rig.report(1, 120_000);
      const t = performance.now();
      await rig.restartBroker();
      await reporting;
      await m.fleet.waitFor(() => m.fleet.counters.connectedNow === N, 120_000, () => `${N - m.fleet.counters.connectedNow} not reconnected`);
      const reconnected = seconds(t);
      await rig.settle(120_000);
      const delivered = seconds(t);
      console.log(`restart storm (load ${loadavg()[0]?.toFixed(1)}): ${N} wearables reconnected ${reconnected.toFixed(1)} s after the restart began, every queued reading opened after ${delivered.toFixed(1)} s (the reading round itself takes 6 s at ×5); target 30 s ${delivered <= 30 ? 'met' : 'NOT met'}`);
    }
  } finally {
    await rig.stop();
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
