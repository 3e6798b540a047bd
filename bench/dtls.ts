/**
 * DTLS benchmark (issue 5 "Speed"): DTLS 1.2 handshakes per second and E3 datagrams per second
 * through the project's dtls-bridge with the TypeScript side, against pion-to-pion in one Go
 * process without TypeScript (`dtls-bridge bench`) in the same run; and 100 wearables completing
 * their DTLS handshakes at once against one cloud endpoint (target: under 2 s).
 *
 *   node --import tsx bench/dtls.ts [--handshakes N] [--datagrams N] [--fleet N]
 *
 * Every case: ECDHE-ECDSA-AES128-GCM-SHA256, mutual certificates (P-256), loopback, no delay.
 * Handshakes run one after another, each followed by one datagram and its answer (so the server
 * side has finished too); datagrams run 50 in flight, each answered (an ack, as the cloud does).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, type } from 'node:os';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { writePki, readPem, type PkiPaths } from '../certs/pki-files.ts';
import { DtlsBridgeProcess, ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import { DtlsCloudEndpoint } from '../emulators/dtls/dtls-cloud-endpoint.ts';
import { DtlsWearable } from '../emulators/dtls/dtls-wearable.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { assembleCloudService } from '../topology/cloud-assembly.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

const LOOPBACK = '127.0.0.1';
const CIPHER = 'ECDHE-ECDSA-AES128-GCM-SHA256';
const WINDOW = 50;

function option(argv: string[], name: string, fallback: number, min: number, max: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bench/dtls: --${name} must be an integer in ${min}..${max}, got ${JSON.stringify(argv[i + 1] ?? null)}`);
  return n;
}

interface GoBench {
  handshakesPerSec: number;
  datagramsPerSec: number;
  cipherSuite: string;
}

async function pionToPion(pki: PkiPaths, handshakes: number, datagrams: number): Promise<GoBench> {
  const binary = await ensureDtlsBridge();
  const device = pki.wearable('wearable-0001');
  const args = ['bench', '--cert', pki.cloud.chain, '--key', pki.cloud.key, '--client-cert', device.chain, '--client-key', device.key, '--ca', pki.caBundle, '--server-name', CLOUD_NAME,
    '--ciphers', CIPHER, '--handshakes', String(handshakes), '--datagrams', String(datagrams), '--window', String(WINDOW), '--payload', '97', '--answer', '26'];
  const stdout = await new Promise<string>((resolve, reject) => execFile(binary, args, { timeout: 300_000 }, (err, out, stderr) => (err ? reject(new Error(`bench/dtls: dtls-bridge bench failed: ${stderr.trim() || err.message}`)) : resolve(out))));
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as GoBench;
}

/** Server bridge answering every datagram from the TS side (26 bytes, an ack's size), client bridge driven from TS. */
async function bridgePair(pki: PkiPaths): Promise<{ server: DtlsBridgeProcess; client: DtlsBridgeProcess; answered: () => Promise<void> }> {
  const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: LOOPBACK, port: 0 }, certFile: pki.cloud.chain, keyFile: pki.cloud.key, caFile: pki.caBundle, clientAuth: 'require', ciphers: [CIPHER] }, { name: 'bench/server' });
  server.onDatagram((_payload, peerId) => server.send(new Uint8Array(26), peerId));
  const device = pki.wearable('wearable-0001');
  const client = await DtlsBridgeProcess.start({ mode: 'client', connect: server.dtlsAddress, certFile: device.chain, keyFile: device.key, caFile: pki.caBundle, serverName: CLOUD_NAME, ciphers: [CIPHER] }, { name: 'bench/client' });
  // Answers arrive in order on loopback: each resolves the oldest waiter.
  const waiting: (() => void)[] = [];
  client.onDatagram(() => waiting.shift()?.());
  const answered = () => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench/dtls: no answer within 5 s')), 5_000);
    waiting.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { server, client, answered };
}

async function bridgeHandshakes(pki: PkiPaths, count: number): Promise<number> {
  const { server, client, answered } = await bridgePair(pki);
  const handshake = async (since: number) => {
    const outcome = await client.handshakeOutcome(10_000, since);
    if (!outcome.ok) throw new Error(`bench/dtls: handshake failed: ${String(outcome.event.reason)}`);
    const answer = answered();
    client.send(new Uint8Array(97));
    await answer;
  };
  await handshake(0); // the first one, made at start
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const since = client.log.all().length;
    client.command({ cmd: 'reconnect' });
    await handshake(since);
  }
  const perSec = count / ((performance.now() - start) / 1000);
  await client.stop();
  await server.stop();
  return perSec;
}

async function bridgeDatagrams(pki: PkiPaths, count: number): Promise<number> {
  const { server, client, answered } = await bridgePair(pki);
  const first = await client.handshakeOutcome(10_000);
  if (!first.ok) throw new Error(`bench/dtls: handshake failed: ${String(first.event.reason)}`);
  const payload = new Uint8Array(97);
  const start = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) {
    const n = Math.min(WINDOW, count - sent);
    const answers = Array.from({ length: n }, () => answered());
    for (let i = 0; i < n; i++) client.send(payload);
    await Promise.all(answers);
  }
  const perSec = count / ((performance.now() - start) / 1000);
  await client.stop();
  await server.stop();
  return perSec;
}

interface Cloud {
  readonly endpoint: DtlsCloudEndpoint;
  readonly address: { host: string; port: number };
  readonly clock: SimClock;
  readonly accepted: () => number;
}

async function cloud(dir: string, pki: PkiPaths, devices: readonly DeviceProvisioning[]): Promise<Cloud> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const clock = SimClock.compressed(1);
  const { service, wasAccepted } = assembleCloudService({ dir, pki, devices, clock });
  const endpoint = new DtlsCloudEndpoint({
    listen: { host: LOOPBACK, port: 0 },
    dtls: { certFile: pki.cloud.chain, keyFile: pki.cloud.key, caFile: pki.caBundle, clientAuth: 'require', ciphers: [CIPHER], handshakeTimeoutMs: 10_000 },
    ingest: (payload, meta) => service.ingest(payload, meta),
    wasAccepted,
  });
  return { endpoint, address: await endpoint.start(), clock, accepted: () => service.audit().filter((e) => e.verdict === 'accepted').length };
}

function wearable(pki: PkiPaths, device: DeviceProvisioning, c: Cloud): DtlsWearable {
  const files = pki.wearable(device.deviceId);
  return new DtlsWearable({
    provisioning: device,
    deviceKeyPem: readPem(files.key, `the ${device.deviceId} key`),
    cloudE3PublicKeyPem: readPem(pki.cloudE3.publicKey, 'the cloud E3 public key'),
    endpoint: c.address,
    credentials: { kind: 'certificate', certFile: files.chain, keyFile: files.key, caFile: pki.caBundle, serverName: CLOUD_NAME },
    clock: c.clock,
    resend: { intervalMs: 1_000, maxAttempts: 5 },
    handshakeTimeoutMs: 10_000,
    handshakeAttempts: 1,
  });
}

/** E3 end to end: seal → DTLS → cloud opens and audits → ack back, WINDOW in flight. */
async function e3Datagrams(dir: string, pki: PkiPaths, devices: readonly DeviceProvisioning[], count: number): Promise<{ perSec: number; resends: number }> {
  const c = await cloud(dir, pki, devices);
  const w = wearable(pki, devices[0] as DeviceProvisioning, c);
  await w.connect();
  const start = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) {
    for (let i = 0; i < Math.min(WINDOW, count - sent); i++) w.sendReading();
    await w.settled(30_000);
  }
  const perSec = count / ((performance.now() - start) / 1000);
  const resends = w.log.ofKind('reading-resent').length;
  if (c.accepted() !== count) throw new Error(`bench/dtls: the cloud accepted ${c.accepted()} of ${count} readings`);
  await w.stop();
  await c.endpoint.stop();
  return { perSec, resends };
}

/** `fleet` wearables (one bridge process each) handshake with one cloud endpoint at once. */
async function fleetHandshakes(dir: string, pki: PkiPaths, devices: readonly DeviceProvisioning[]): Promise<{ wallMs: number; medianBridgeMs: number; maxBridgeMs: number }> {
  const c = await cloud(dir, pki, devices);
  const fleet = devices.map((d) => wearable(pki, d, c));
  const start = performance.now();
  await Promise.all(fleet.map((w) => w.connect()));
  const wallMs = performance.now() - start;
  const bridgeMs = fleet.map((w) => Number(w.log.ofKind('dtls-handshake')[0]?.detail.durationMs)).sort((a, b) => a - b);
  await Promise.all(fleet.map((w) => w.stop()));
  await c.endpoint.stop();
  return { wallMs, medianBridgeMs: bridgeMs[Math.floor(bridgeMs.length / 2)] as number, maxBridgeMs: bridgeMs.at(-1) as number };
}

const argv = process.argv.slice(2);
const handshakes = option(argv, 'handshakes', 100, 10, 100_000);
const datagrams = option(argv, 'datagrams', 5_000, WINDOW, 1_000_000);
const fleetSize = option(argv, 'fleet', 100, 1, 1_000);
const dir = mkdtempSync(join(tmpdir(), 'bench-dtls-'));
try {
  const ids = Array.from({ length: fleetSize }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
  const pki = await writePki(await generatePki({ wearableIds: ids }), join(dir, 'pki'));
  const devices = ids.map((id, i) => provisionDevice(id, i + 1));
  console.log(`bench/dtls: ${handshakes} handshakes, ${datagrams} datagrams (${WINDOW} in flight), fleet of ${fleetSize}; Node ${process.version}, ${type()} ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`DTLS 1.2, ${CIPHER}, mutual P-256 certificates, loopback, no emulated delay`);
  const go = await pionToPion(pki, handshakes, datagrams);
  const hs = await bridgeHandshakes(pki, handshakes);
  console.log(`  full handshakes   pion-to-pion ${go.handshakesPerSec.toFixed(0).padStart(7)} /s   bridge + TS ${hs.toFixed(0).padStart(7)} /s   ratio ${(hs / go.handshakesPerSec).toFixed(2)}`);
  const dg = await bridgeDatagrams(pki, datagrams);
  console.log(`  datagrams (97 B)  pion-to-pion ${go.datagramsPerSec.toFixed(0).padStart(7)} /s   bridge + TS ${dg.toFixed(0).padStart(7)} /s   ratio ${(dg / go.datagramsPerSec).toFixed(2)}`);
  const e3 = await e3Datagrams(join(dir, 'e3'), pki, devices, datagrams);
  console.log(`  E3 readings end to end (seal, DTLS, open, audit, ack) ${e3.perSec.toFixed(0).padStart(7)} /s   ratio to pion-to-pion datagrams ${(e3.perSec / go.datagramsPerSec).toFixed(2)}   resends ${e3.resends}`);
  const fleet = await fleetHandshakes(join(dir, 'fleet'), pki, devices);
  console.log(`${fleetSize} wearables handshaking at once (a bridge process each): all done in ${fleet.wallMs.toFixed(0)} ms (target < 2000 ms: ${fleet.wallMs < 2000 ? 'met' : 'NOT met'}); per-handshake as the bridges saw it: median ${fleet.medianBridgeMs.toFixed(1)} ms, max ${fleet.maxBridgeMs.toFixed(1)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
