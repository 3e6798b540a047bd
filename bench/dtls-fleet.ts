/**
 * DTLS fleet benchmark (issue 11 "DTLS fleet"): N DTLS client sessions hosted by one fleet-mode
 * bridge process against the baseline of today's DTLS wearables, one client-mode bridge process
 * each, measured in the same run against the same server bridge: wall time until every session
 * has completed its handshake and had one datagram answered, and the bridges' resident memory
 * (VmRSS from /proc) per session. Then the fleet bridge alone at --fleet sessions (default 1,000).
 *
 *   node --import tsx bench/dtls-fleet.ts [--sessions N] [--fleet N]     (defaults 100, 1000)
 *       [--loss PERCENT] [--reorder PERCENT]
 *
 * With --loss or --reorder: then the fleet bridge at --fleet sessions through a UDP link
 * (links/udp-link.ts) that loses / holds back 30 ms that share of datagrams each way, against
 * the same link without impairments in the same run: sessions opened 32 at a time, handshakes
 * retried (pion's flight retransmissions can outlast the bound), then every session's datagram
 * resent every 300 ms until it is answered, as the DTLS fleet devices do.
 *
 * PSK-AES128-GCM-SHA256 (the DTLS fleet's PSK profile, one identity per device), loopback, no delay.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { DtlsBridgeProcess, ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import { DtlsFleetTransport } from '../emulators/dtls/dtls-fleet-transport.ts';
import { UdpLink } from '../links/udp-link.ts';
import { loss, reorder, type LinkImpairments } from '../links/impairments.ts';

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

/**
 * The fleet bridge through a relay with these impairments: every session handshaken (retried up
 * to 4 times) and its one datagram answered, resent every 300 ms until it is; bounded by DEADLINE_MS.
 */
async function throughLink(server: DtlsBridgeProcess, n: number, impairments: LinkImpairments): Promise<{ seconds: number; retries: number; resends: number; lost: number; held: number }> {
  const started = performance.now();
  const link = new UdpLink({ name: 'bench', listen: { host: '127.0.0.1', port: 0 }, target: server.dtlsAddress, impairments });
  const endpoint = await link.start();
  const fleet = await DtlsFleetTransport.start({ connect: endpoint, pskHex: PSK, ciphers: CIPHERS, maxSessions: n, handshakeTimeoutMs: 15_000 });
  try {
    const answered = new Set<number>();
    let retries = 0;
    let resends = 0;
    const deadline = Date.now() + DEADLINE_MS;
    const handshaken: number[] = [];
    // Opened 32 at a time, the bridge's own handshake slots (as emulators/dtls/dtls-fleet-shard.ts).
    let next = 1;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next <= n) {
        const id = next++;
        retries += (await fleet.openWithRetries(id, identity(id), () => answered.add(id), 30_000, 4)) - 1;
        handshaken.push(id);
      }
    }));
    await Promise.all(handshaken.map(async (id) => {
      for (let sends = 0; !answered.has(id); sends++) {
        if (Date.now() > deadline) throw new Error(`bench/dtls-fleet: session ${id} got no answer through the link within ${DEADLINE_MS / 1000} s`);
        if (sends > 0) resends++;
        fleet.send(id, Buffer.from('reading'));
        await new Promise((r) => setTimeout(r, 300));
      }
    }));
    const notes = link.log.ofKind('impaired').map((o) => String(o.detail.note));
    return { seconds: (performance.now() - started) / 1000, retries, resends, lost: notes.filter((t) => t.startsWith('lost')).length, held: notes.filter((t) => t.startsWith('held')).length };
  } finally {
    await fleet.stop();
    await link.stop();
  }
}

function percentArg(name: string): number {
  return arg(name, 0, 0, 50) / 100;
}

const sessions = arg('--sessions', 100, 1, 1_000);
const fleetSize = arg('--fleet', 1_000, 1, 10_000);
await ensureDtlsBridge();
console.log(`bench/dtls-fleet: ${type()} ${release()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
// Room for every phase's sessions: a closed client's peer lingers on the server a while, and the
// lossy phase's retried handshakes leave half-open ones (at fleet + 10 the link phases failed).
const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: PSK, ciphers: CIPHERS, maxPeers: Math.max(sessions, fleetSize) * 3 + 10 }, { name: 'server' });
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
  const lossRate = percentArg('--loss');
  const reorderRate = percentArg('--reorder');
  if (lossRate > 0 || reorderRate > 0) {
    const each = [loss({ rate: lossRate }), reorder({ rate: reorderRate, holdMs: 30 })];
    const clean = await throughLink(server, fleetSize, { seed: 11 });
    const lossy = await throughLink(server, fleetSize, { clientToServer: each, serverToClient: each, seed: 11 });
    console.log(`${fleetSize} sessions through a UDP link relay, handshake + one datagram answered each (resent every 300 ms until answered):`);
    console.log(`  clean link (baseline):                 ${clean.seconds.toFixed(2)} s, ${clean.retries} handshakes retried, ${clean.resends} resends`);
    console.log(`  ${(lossRate * 100).toFixed(0)}% loss, ${(reorderRate * 100).toFixed(0)}% held back 30 ms, each way: ${lossy.seconds.toFixed(2)} s, ${lossy.retries} handshakes retried, ${lossy.resends} resends; the link lost ${lossy.lost} and held back ${lossy.held} datagrams`);
    console.log(`  ratio (lossy / clean time) ${(lossy.seconds / clean.seconds).toFixed(2)}`);
  }
} finally {
  await server.stop(30_000);
}
