/**
 * bench/fleet.ts's memory figure: RSS per connected wearable, read from /proc/PID/status (VmRSS)
 * of a process hosting only the wearables (the fleet shard's routes over fork IPC,
 * topology/fleet-shard-thread.ts), before and after every wearable connected; the broker's and
 * the cloud's side (this process) reported apart. Baseline in the same run, measured the same way:
 * a process holding one bare node:tls client per device (bench/fleet-raw-holder.ts), each with
 * its own TLS context and one connection, against a bare node:tls server here.
 *
 * Both on the allocator a fleet host starts with (topology/fleet-host-allocator.ts: jemalloc where
 * installed), then both again on glibc malloc, for what the allocator alone changes.
 *
 * "Before" is each process ready with every credential as PEM text and no TLS context yet;
 * "after" includes each device's context and connection, as a wearable holds them.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { LocalFleet } from '../topology/local-fleet.ts';
import type { RawHoldJob } from './fleet-raw-holder.ts';
import { tsxExecArgv } from '../topology/tsx-runtime.ts';
import { GLIBC_MALLOC, fleetHostAllocator, type HostAllocator } from '../topology/fleet-host-allocator.ts';

const KIB = 1024;

/** A process's resident set, from the kernel's own account (kB in /proc/PID/status). */
export function vmRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB$/m);
  if (!line) throw new Error(`bench/fleet-memory: no VmRSS line in /proc/${pid}/status (is /proc mounted?)`);
  return Number(line[1]) * KIB;
}

/** Let the process settle (timers, freed buffers) before a reading of its RSS. */
const settle = () => new Promise((r) => setTimeout(r, 1_500));

interface Measured {
  readonly perWearable: number;
  readonly before: number;
  readonly after: number;
}

async function rawBaseline(job: Omit<RawHoldJob, 'endpoint'>, server: { chainPem: string; keyPem: string }, allocator: HostAllocator): Promise<Measured> {
  const tls = createTlsServer({ cert: server.chainPem, key: server.keyPem, ca: job.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.write('k'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
  const child = fork(fileURLToPath(new URL('./fleet-raw-holder.ts', import.meta.url)), [], { execArgv: tsxExecArgv(), serialization: 'advanced', env: { ...process.env, ...allocator.env } });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench/fleet-memory: the raw holder did not answer within 600 s')), 600_000);
      child.once('message', (m) => {
        clearTimeout(timer);
        const r = m as Record<string, unknown>;
        if (r.error) reject(new Error(`bench/fleet-memory: raw holder: ${String(r.error)}`));
        else resolve(r);
      });
      child.once('exit', (code) => reject(new Error(`bench/fleet-memory: the raw holder exited (code ${code})`)));
    });
  try {
    const ready = next();
    child.send({ job: { ...job, endpoint: { host: '127.0.0.1', port: (tls.address() as AddressInfo).port, serverName: CLOUD_NAME } } satisfies RawHoldJob });
    await ready;
    await settle();
    const before = vmRssBytes(child.pid as number);
    const done = next();
    child.send('go');
    await done;
    await settle();
    const after = vmRssBytes(child.pid as number);
    return { before, after, perWearable: (after - before) / job.credentials.length };
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((r) => tls.close(() => r()));
  }
}

/** The wearables in a process of their own on `allocator`, then bare node:tls clients on the same allocator. */
async function onAllocator(n: number, dir: string, allocator: HostAllocator): Promise<{ fleet: Measured; raw: Measured; brokerPer: number }> {
  const rig = new LocalFleet(join(dir, `memory-${allocator.name.replace(/\W+/g, '-')}`), 'forked process', allocator);
  try {
    await rig.start({ wearables: n, speedup: 20 });
    const pki = rig.issued;
    await settle();
    globalThis.gc?.();
    const before = vmRssBytes(rig.wearablesPid);
    const brokerBefore = vmRssBytes(process.pid);
    await rig.connectAll(600_000);
    await settle();
    globalThis.gc?.();
    const after = vmRssBytes(rig.wearablesPid);
    const brokerPer = (vmRssBytes(process.pid) - brokerBefore) / n;
    await rig.stop();
    const credentials = [...pki.wearables.values()].map((w) => ({ keyPem: w.keyPem, certChainPem: w.chainPem }));
    // The fleet device's trust store: the root only (topology/local-fleet.ts).
    const raw = await rawBaseline({ credentials, caPem: pki.rootCa.certPem, concurrency: 16 }, pki.cloud, allocator);
    return { fleet: { before, after, perWearable: (after - before) / n }, raw, brokerPer };
  } finally {
    await rig.stop();
  }
}

/**
 * The figure on the allocator a fleet host starts with (jemalloc where installed), its bare
 * node:tls baseline on the same allocator, and the same pair on glibc malloc: what the allocator
 * alone changes, in the same run.
 */
export async function memoryPerWearable(n: number, dir: string): Promise<void> {
  const host = fleetHostAllocator();
  const kib = (b: number) => (b / KIB).toFixed(1);
  const mib = (b: number) => (b / KIB / KIB).toFixed(0);
  const line = (what: string, m: Awaited<ReturnType<typeof onAllocator>>) =>
    `${what}: ${kib(m.fleet.perWearable)} KiB RSS per connected wearable in a process hosting only the ${n} wearables (VmRSS ${mib(m.fleet.before)} → ${mib(m.fleet.after)} MiB); ` +
    `bare node:tls client per device, same allocator and measurement: ${kib(m.raw.perWearable)} KiB (${mib(m.raw.before)} → ${mib(m.raw.after)} MiB); ratio ${(m.fleet.perWearable / m.raw.perWearable).toFixed(2)}; ` +
    `the broker's and cloud's side, apart: ${kib(m.brokerPer)} KiB per connection`;
  const measured = await onAllocator(n, dir, host);
  console.log(`memory (load ${loadavg()[0]?.toFixed(1)}), the fleet host's allocator, ${host.note}: ${line(host.name, measured)}; target <= 100 KiB per wearable ${measured.fleet.perWearable <= 100 * KIB ? 'met' : 'NOT met'}`);
  if (host.name !== GLIBC_MALLOC.name) {
    const glibc = await onAllocator(n, dir, GLIBC_MALLOC);
    console.log(`memory (load ${loadavg()[0]?.toFixed(1)}), the same on glibc malloc for comparison: ${line(GLIBC_MALLOC.name, glibc)}; ${host.name} holds ${((1 - measured.fleet.perWearable / glibc.fleet.perWearable) * 100).toFixed(0)} % less per wearable`);
  }
}
