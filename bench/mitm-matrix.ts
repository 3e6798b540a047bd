/**
 * bench/mitm-matrix: runs the whole forged-certificate × client matrix on the local topology,
 * prints each cell's observed outcome (blocked / intercepted, and the client's reason) and the
 * wall time, against a baseline in the same run: the same number of attempts with the genuine
 * cloud certificate presented (every client connects), so the ratio shows the cost of failing.
 *
 *   node --import tsx bench/mitm-matrix.ts [--json]
 *
 * Issue 3 target: the whole matrix (≥ 17 cases × ≥ 6 clients) in under 60 s on 2 cores.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { FORGED_CASE_NAMES } from '../certs/forged-catalogue.ts';
import { attemptInterception, matrixClientNames, GENUINE_CLOUD_CERTIFICATE, type InterceptionOutcome } from '../topology/mitm-rig.ts';

const json = process.argv.includes('--json');
const runDir = mkdtempSync(join(tmpdir(), 'mitm-matrix-'));
const clients = matrixClientNames();
const skip = process.argv.flatMap((a, i) => (a === '--skip' ? (process.argv[i + 1] ?? '').split(',') : []));
const cases = [...FORGED_CASE_NAMES].filter((c) => !skip.includes(c));

function verdict(o: InterceptionOutcome): string {
  const mqtt = o.proxy.filter((p) => p.kind === 'mqtt-packet');
  if (!o.attempt.handshakeCompleted && o.plaintextBytes === 0) return o.attempt.timedOut ? 'blocked(hung)' : 'blocked';
  if (mqtt.some((p) => p.detail.cmd === 'connect')) return 'intercepted';
  return `odd(handshake=${o.attempt.handshakeCompleted},bytes=${o.plaintextBytes})`;
}

async function main(): Promise<void> {
  console.log(`mitm matrix: ${cases.length} forged cases × ${clients.length} clients = ${cases.length * clients.length} attempts; node ${process.version}; ${cpus()[0]?.model} × ${cpus().length}`);
  const t0 = performance.now();
  await attemptInterception({ runDir, dir: join(runDir, 'warmup'), forgedCase: cases[0] as string, client: 'secure' });
  const prepMs = performance.now() - t0;
  console.log(`prepared PKI + forged catalogue (+ first attempt) in ${prepMs.toFixed(0)} ms`);
  const rows: { forgedCase: string; client: string; verdict: string; reason: string; ms: number }[] = [];
  const start = performance.now();
  let n = 0;
  for (const forgedCase of cases) {
    for (const client of clients) {
      const t = performance.now();
      const o = await attemptInterception({ runDir, dir: join(runDir, `${forgedCase}-${client}`), forgedCase, client });
      rows.push({ forgedCase, client, verdict: verdict(o), reason: [o.attempt.error, o.alertSeenByMitm].filter(Boolean).join(' | ') || '-', ms: performance.now() - t });
      n += 1;
      if (!json && n % 14 === 0) console.log(`  ${n}/${cases.length * clients.length} attempts`);
    }
  }
  const matrixMs = performance.now() - start;
  // Baseline in the same run: the same clients, as many attempts, against the genuine cloud
  // certificate (every handshake completes and the session carries the readings).
  const baseStart = performance.now();
  let baseAttempts = 0;
  let baseConnected = 0;
  for (let i = 0; i < cases.length; i++) {
    for (const client of clients) {
      const o = await attemptInterception({ runDir, dir: join(runDir, `baseline-${i}-${client}`), forgedCase: GENUINE_CLOUD_CERTIFICATE, client });
      baseAttempts += 1;
      if (o.attempt.handshakeCompleted) baseConnected += 1;
    }
  }
  const baseMs = performance.now() - baseStart;
  if (!json) process.stdout.write('\n');
  if (json) console.log(JSON.stringify(rows, null, 1));
  else {
    for (const r of rows) console.log(`| ${r.forgedCase.padEnd(34)} | ${r.client.padEnd(17)} | ${r.verdict.padEnd(11)} | ${r.reason.slice(0, 90)} |`);
  }
  const worst = rows.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`\nbaseline: ${baseAttempts} attempts with the genuine certificate in ${(baseMs / 1000).toFixed(1)} s (${(baseMs / baseAttempts).toFixed(0)} ms/attempt; ${baseConnected}/${baseAttempts} connected)`);
  console.log(`ratio matrix/baseline per attempt: ${(matrixMs / rows.length / (baseMs / baseAttempts)).toFixed(2)}`);
  console.log(`\nmatrix: ${rows.length} attempts in ${(matrixMs / 1000).toFixed(1)} s (${(matrixMs / rows.length).toFixed(0)} ms/attempt; slowest ${worst.forgedCase} × ${worst.client} ${worst.ms.toFixed(0)} ms) — target < 60 s: ${matrixMs < 60_000 ? 'PASS' : 'OVER'}`);
}

await main();
