/**
 * Fleet benchmark (issue 11): the worked example's 5,000 wearables on this machine, each figure
 * against a baseline measured in the same run.
 *
 *   node --import tsx bench/fleet.ts [--wearables N] [--handshakes N]      (defaults 5000, 200)
 *
 * 1. provisioning: certificate + key + E3 identity per device (certs/fleet-certificates.ts)
 *    against the @peculiar/x509 path (generatePki) per certificate;
 * 2. connect storm: N mutual-TLS connections (FleetDevice → Aedes, to CONNACK, 16 in flight)
 *    against N raw node:tls connections (same certificates, same concurrency, raw server);
 *    RSS per connected wearable;
 * 3. one device's handshakes, sequential: full and resumed, to CONNACK, against raw node:tls;
 * 4. sustained readings, zero loss (seal, broker, cloud open): rising time compression until
 *    a reading is lost or sealing falls behind; p50/p99 seal-to-PUBACK latency per factor;
 * 5. restart storm: the broker restarts; time until every device is back and every queued
 *    reading is opened.
 * Everything in one process on loopback: the fleet, the broker and the cloud share the cores.
 */
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
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

function arg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bench/fleet: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
  return n;
}

const N = arg('--wearables', 5000, 10, 5000);
const HANDSHAKES = arg('--handshakes', 200, 10, 10_000);
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

/** N raw node:tls mutual-TLS connections, `concurrency` in flight, held open until all are up. */
async function rawConnectStorm(devices: readonly IssuedCertificate[], pki: { ca: string; serverChain: string; serverKey: string }, concurrency: number): Promise<number> {
  const server = createTlsServer({ cert: pki.serverChain, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const open: TLSSocket[] = [];
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < devices.length) {
        const d = devices[next++] as IssuedCertificate;
        await new Promise<void>((resolve, reject) => {
          const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, cert: d.chainPem, key: d.keyPem, servername: CLOUD_NAME, minVersion: 'TLSv1.3' }, () => resolve());
          s.on('error', reject);
          open.push(s);
        });
      }
    }),
  );
  const elapsed = seconds(t);
  for (const s of open) s.destroy();
  await new Promise((r) => server.close(() => r(undefined)));
  return elapsed;
}

/** One raw node:tls handshake after another (as bench/handshake.ts), full or resumed; per second. */
async function rawSequential(device: IssuedCertificate, pki: { ca: string; serverChain: string; serverKey: string }, resume: boolean): Promise<number> {
  const server = createTlsServer({ cert: pki.serverChain, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let session: Buffer | undefined;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, cert: device.chainPem, key: device.keyPem, servername: CLOUD_NAME, minVersion: 'TLSv1.3', ...(resume && session ? { session } : {}) });
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
  await provisioning();

  const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  const rig = new LocalFleet(dir);
  try {
    await rig.start({ wearables: N, speedup: 20 });
    const m = rig.materials;
    if (!m) throw new Error('bench/fleet: the local fleet has no materials');
    const tlsPki = { ca: m.pki.rootCa.certPem + m.pki.intermediateCa.certPem, serverChain: m.pki.cloud.chainPem, serverKey: m.pki.cloud.keyPem };
    const devices = [...m.pki.wearables.values()];

    // 2. connect storm, fleet and raw node:tls, same certificates, same concurrency.
    const raw = await rawConnectStorm(devices, tlsPki, 16);
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const { seconds: storm } = await rig.connectAll(600_000);
    globalThis.gc?.();
    const rssPer = (process.memoryUsage().rss - rssBefore) / N;
    console.log(`connect storm: ${N} mutual-TLS connections to CONNACK in ${storm.toFixed(1)} s (${(N / storm).toFixed(0)}/s); raw node:tls ${raw.toFixed(1)} s (${(N / raw).toFixed(0)}/s); ratio ${(raw / storm).toFixed(2)}`);
    console.log(`memory: ${(rssPer / 1024).toFixed(1)} KiB RSS per connected wearable (broker and cloud in the same process), ${mb(process.memoryUsage().rss)} MB in all`);

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

    // 4. sustained readings with zero loss, rising compression.
    let highest = 0;
    for (const factor of [20, 40, 80, 160, 320]) {
      await rig.setClock(Math.floor(Date.now() / 1000), factor);
      m.fleet.counters.takeLatencies();
      const before = (await rig.ledger()).accepted;
      const t = performance.now();
      const perDevice = 2;
      try {
        await rig.report(perDevice, ((perDevice * 30) / factor) * 1000 * 2 + 5_000);
        await rig.settle(60_000);
      } catch (err) {
        console.log(`sustained ×${factor}: fell behind (${(err as Error).message})`);
        break;
      }
      const ledger = await rig.ledger();
      const lat = m.fleet.counters.takeLatencies();
      const opened = ledger.accepted - before;
      const lossless = ledger.gaps.length === 0 && opened === N * perDevice;
      console.log(`sustained ×${factor}: ${(N * factor / 30).toFixed(0)} readings/s offered, ${opened} of ${N * perDevice} opened in ${seconds(t).toFixed(1)} s, ${ledger.gaps.length} wearables with gaps, latency seal→PUBACK p50 ${percentile(lat, 50).toFixed(0)} ms p99 ${percentile(lat, 99).toFixed(0)} ms${lossless ? '' : ' — LOSS'}`);
      if (!lossless) break;
      highest = factor;
    }
    console.log(`highest compression with zero loss: ×${highest} (${(N * highest / 30).toFixed(0)} readings/s)`);

    // 5. restart storm: every device back and every queued reading opened.
    await rig.setClock(Math.floor(Date.now() / 1000), 20);
    const reporting = rig.report(1, 120_000);
    const t = performance.now();
    await rig.restartBroker();
    await reporting;
    await m.fleet.waitFor(() => m.fleet.counters.connectedNow === N, 120_000, () => `${N - m.fleet.counters.connectedNow} not reconnected`);
    const reconnected = seconds(t);
    await rig.settle(120_000);
    console.log(`restart storm: ${N} wearables reconnected ${reconnected.toFixed(1)} s after the restart began, every queued reading opened after ${seconds(t).toFixed(1)} s (the reading round itself takes 1.5 s at ×20)`);
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
