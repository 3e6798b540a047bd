/**
 * bench/mitm-matrix-containers: the forged-certificate × client matrix on both placements, side
 * by side, in one run: `local` (victim, link and MITM on loopback in this process) and
 * `containers` (topology/containers-interception.ts: one long-lived MITM container told per
 * attempt which certificate to present, one victim container per client kind, a tcpdump
 * sidecar capture per attempt). Prints each placement's wall time and per-attempt time, their
 * ratio, and every cell whose verdict differs between the placements (there should be none).
 *
 *   node --import tsx bench/mitm-matrix-containers.ts [--skip case,case]
 *
 * Target (the containers matrix through Cucumber in ~5 minutes on 2 cores): the attempts alone
 * must leave room for report writing, i.e. well under 300 s here.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORGED_CASE_NAMES } from '../certs/forged-catalogue.ts';
import { attemptInterception, matrixClientNames, GENUINE_CLOUD_CERTIFICATE, type AttemptOptions, type InterceptionOutcome } from '../topology/mitm-rig.ts';
import { attemptInterceptionInContainers, stopContainersInterception } from '../topology/containers-interception.ts';

const skip = process.argv.flatMap((a, i) => (a === '--skip' ? (process.argv[i + 1] ?? '').split(',') : []));
const cases = [GENUINE_CLOUD_CERTIFICATE, ...FORGED_CASE_NAMES].filter((c) => !skip.includes(c));
const clients = matrixClientNames();

function verdict(o: InterceptionOutcome): string {
  if (!o.attempt.handshakeCompleted && o.plaintextBytes === 0) return o.attempt.timedOut ? 'blocked(hung)' : 'blocked';
  if (o.proxy.some((p) => p.kind === 'mqtt-packet' && p.detail.cmd === 'connect')) return 'intercepted';
  return `odd(handshake=${o.attempt.handshakeCompleted},bytes=${o.plaintextBytes})`;
}

type Attempt = (o: AttemptOptions) => Promise<InterceptionOutcome>;

async function matrix(name: string, attempt: Attempt): Promise<{ ms: number; prepMs: number; verdicts: Map<string, string> }> {
  const runDir = mkdtempSync(join(tmpdir(), `mitm-matrix-${name}-`));
  // Untimed: the PKI and forged catalogue (and, in containers, the long-lived containers).
  const t0 = performance.now();
  await attempt({ runDir, dir: join(runDir, 'scenarios', 'warmup'), forgedCase: GENUINE_CLOUD_CERTIFICATE, client: 'secure' });
  for (const client of ['mosquitto_pub']) await attempt({ runDir, dir: join(runDir, 'scenarios', `warmup-${client}`), forgedCase: GENUINE_CLOUD_CERTIFICATE, client });
  const prepMs = performance.now() - t0;
  const verdicts = new Map<string, string>();
  const start = performance.now();
  for (const forgedCase of cases) {
    for (const client of clients) {
      const o = await attempt({ runDir, dir: join(runDir, 'scenarios', `${forgedCase}-${client}`), forgedCase, client, readings: 2, timeoutMs: 5_000 });
      verdicts.set(`${forgedCase} × ${client}`, `${verdict(o)} ${[o.attempt.error, o.alertSeenByMitm].filter(Boolean).join(' | ').slice(0, 60)}`);
    }
    process.stdout.write(`  ${name}: ${verdicts.size}/${cases.length * clients.length}\r`);
  }
  return { ms: performance.now() - start, prepMs, verdicts };
}

async function main(): Promise<void> {
  const n = cases.length * clients.length;
  console.log(`mitm matrix on both placements: ${cases.length} certificates (the genuine control + ${cases.length - 1} forged) × ${clients.length} clients = ${n} attempts each; node ${process.version}; ${cpus()[0]?.model} × ${cpus().length}`);
  const local = await matrix('local', attemptInterception);
  let containers;
  try {
    containers = await matrix('containers', attemptInterceptionInContainers);
  } finally {
    await stopContainersInterception();
  }
  const differ = [...local.verdicts].filter(([cell, v]) => containers.verdicts.get(cell)?.split(' ')[0] !== v.split(' ')[0]);
  console.log('\n| placement | attempts | set-up (untimed) | matrix wall time | per attempt |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, r] of [['local', local], ['containers', containers]] as const) {
    console.log(`| ${name} | ${n} | ${(r.prepMs / 1000).toFixed(1)} s | ${(r.ms / 1000).toFixed(1)} s | ${(r.ms / n).toFixed(0)} ms |`);
  }
  console.log(`| ratio containers / local | | | ${(containers.ms / local.ms).toFixed(2)} | |`);
  console.log(`\ncells whose verdict differs between the placements: ${differ.length}${differ.map(([cell, v]) => `\n  ${cell}: local ${v}; containers ${containers.verdicts.get(cell)}`).join('')}`);
}

await main();
