/**
 * DTLS fleet benchmark (issue 11 "DTLS fleet"): N DTLS client sessions hosted by one fleet-mode
 * bridge process against the baseline of today's DTLS wearables, one client-mode bridge process
 * each, measured in the same run against the same server bridge: wall time until every session
 * has completed its handshake and had one datagram answered, and the bridges' resident memory
 * (VmRSS from /proc) per session. Then the fleet bridge alone at --fleet sessions (default 1,000).
 *
 *   node --import tsx bench/dtls-fleet.ts [--sessions N] [--fleet N]     (defaults 100, 1000)
 *
 * PSK-AES128-GCM-SHA256 (the DTLS fleet's PSK profile, one identity per device), loopback, no delay.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { DtlsBridgeProcess, ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';

const PSK = '000102030405060708090a0b0c0d0e0f';
const CIPHERS = ['PSK-AES128-GCM-SHA256'];
const DEADLINE_MS = 180_000;

function arg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bench/dtls-fleet: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
  return n;
}

/** Resident memory of a process in KiB (Linux /proc), 0 when it cannot be read. */
function rssKiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function until(what: string, done: () => boolean): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  while (!done()) {
    if (Date.now() > end) throw new Error(`bench/dtls-fleet: ${what} not done within ${DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const identity = (i: number) => `wearable-${String(i).padStart(4, '0')}`;

/** Baseline: one client-mode bridge process per device (spawn included). */
async function perProcess(server: DtlsBridgeProcess, n: number): Promise<{ seconds: number; rssKiB: number }> {
  const started = performance.now();
  const bridges = await Promise.all(Array.from({ length: n }, (_, k) => DtlsBridgeProcess.start({ mode: 'client', connect: server.dtlsAddress, pskHex: PSK, ciphers: CIPHERS, pskIdentity: identity(k + 1) }, { name: `client-${k + 1}`, startTimeoutMs: 60_000 })));
  try {
    let answered = 0;
    for (const b of bridges) b.onDatagram(() => answered++);
    await until(`${n} handshakes`, () => bridges.every((b) => b.log.ofKind('handshake').length > 0));
    for (const b of bridges) b.send(Buffer.from('reading'));
    await until(`${n} answers`, () => answered >= n);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, rssKiB: bridges.reduce((s, b) => s + rssKiB(b.pid), 0) };
  } finally {
    await Promise.all(bridges.map((b) => b.stop()));
  }
}

/** One fleet-mode bridge hosting every device's session (its spawn included). */
async function oneProcess(server: DtlsBridgeProcess, n: number): Promise<{ seconds: number; rssKiB: number }> {
  const started = performance.now();
  const fleet = await DtlsBridgeProcess.start({ mode: 'fleet', connect: server.dtlsAddress, pskHex: PSK, ciphers: CIPHERS, maxSessions: n }, { name: 'fleet' });
  try {
    const answered = new Set<number>();
    fleet.onDatagram((_p, session) => answered.add(session));
    for (let id = 1; id <= n; id++) fleet.command({ cmd: 'open', peerId: id, identity: identity(id) });
    const sent = new Set<number>();
    fleet.onEvent((o) => {
      if (o.kind !== 'handshake') return;
      const id = Number(o.detail.peerId);
      sent.add(id);
      fleet.send(Buffer.from('reading'), id);
    });
    await until(`${n} answers`, () => answered.size >= n);
    const failed = fleet.log.ofKind('handshake-failed').length;
    if (failed > 0) console.log(`  (${failed} handshakes failed and were not retried)`);
    return { seconds: (performance.now() - started) / 1000, rssKiB: rssKiB(fleet.pid) };
  } finally {
    await fleet.stop(30_000);
  }
}

const sessions = arg('--sessions', 100, 1, 1_000);
const fleetSize = arg('--fleet', 1_000, 1, 10_000);
await ensureDtlsBridge();
console.log(`bench/dtls-fleet: ${type()} ${release()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: PSK, ciphers: CIPHERS, maxPeers: Math.max(sessions, fleetSize) + 10 }, { name: 'server' });
server.onDatagram((payload, peerId) => server.send(payload.subarray(0, 4), peerId));
try {
  const base = await perProcess(server, sessions);
  const ours = await oneProcess(server, sessions);
  console.log(`${sessions} sessions, handshake + one answered datagram each (spawn included):`);
  console.log(`  one client bridge per device: ${base.seconds.toFixed(2)} s, bridges' RSS ${(base.rssKiB / 1024).toFixed(0)} MiB (${(base.rssKiB / sessions).toFixed(0)} KiB per session)`);
  console.log(`  one fleet bridge:             ${ours.seconds.toFixed(2)} s, bridge RSS ${(ours.rssKiB / 1024).toFixed(1)} MiB (${(ours.rssKiB / sessions).toFixed(0)} KiB per session)`);
  console.log(`  ratio (per-process time / fleet time) ${(base.seconds / ours.seconds).toFixed(1)}; memory ratio ${(base.rssKiB / Math.max(1, ours.rssKiB)).toFixed(1)}`);
  const big = await oneProcess(server, fleetSize);
  console.log(`${fleetSize} sessions in one fleet bridge: ${big.seconds.toFixed(2)} s (${(fleetSize / big.seconds).toFixed(0)} sessions/s), bridge RSS ${(big.rssKiB / 1024).toFixed(1)} MiB (${(big.rssKiB / fleetSize).toFixed(0)} KiB per session)`);
} finally {
  await server.stop(30_000);
}
