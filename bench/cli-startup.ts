/**
 * CLI start-up: what a user waits for before a command does anything. Since cli/main.ts loads a
 * command's module only when that command runs, `testbed --version` or `testbed energy` no longer
 * load Cucumber, the Docker clients and the topology code of `run` and `up`. Measured against two
 * baselines in the same run, in alternating rounds so machine load hits all cases alike:
 *   node -e 0                   bare Node start (the floor)
 *   eager: load every command   what every invocation paid before (tsx + all command modules)
 *   testbed --version           the launcher, tsx and main.ts only
 *   testbed energy              one light command and its modules
 *
 *   node --import tsx bench/cli-startup.ts [--rounds N]     (default 5; at most 50)
 *
 * Wall time and CPU time (user + system of the child) per case, median over the rounds. A spawn
 * that takes over 120 s is killed and reported. Prints figures only: exit code 0.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = Math.min(50, Math.max(1, Number(roundsArg >= 0 ? process.argv[roundsArg + 1] : 5) || 5));

const CASES: { name: string; args: string[] }[] = [
  { name: 'node -e 0 (floor)', args: ['-e', '0'] },
  { name: 'eager: load every command', args: ['--import', 'tsx', '-e', "await (await import('./cli/main.ts')).loadCommands()"] },
  { name: 'testbed --version', args: [join(ROOT, 'bin/testbed.js'), '--version'] },
  { name: 'testbed energy --profile esp32', args: [join(ROOT, 'bin/testbed.js'), 'energy', '--profile', 'esp32'] },
];

/** One spawn: wall ms, and the CPU ms (user + system) bash's `times` reports for its child. */
function once(args: string[]): { wallMs: number; cpuMs: number } {
  const started = process.hrtime.bigint();
  // bash's `times` prints the children's user and system time after the child ends.
  const r = spawnSync('bash', ['-c', `"$0" "$@" >/dev/null; times`, process.execPath, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}: ${r.stderr}`}`);
  const childLine = r.stdout.trim().split('\n').at(-1) ?? '';
  const seconds = [...childLine.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wallMs, cpuMs: seconds.reduce((a, b) => a + b, 0) * 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const results = CASES.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
for (let round = 0; round < ROUNDS; round++) {
  CASES.forEach((c, i) => {
    const { wallMs, cpuMs } = once(c.args);
    results[i]?.wall.push(wallMs);
    results[i]?.cpu.push(cpuMs);
  });
}

console.log(`CLI start-up, ${ROUNDS} alternating rounds, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`${'case'.padEnd(34)} ${'wall ms'.padStart(9)} ${'CPU ms'.padStart(9)}  CPU vs eager`);
const eagerCpu = median(results[1]?.cpu ?? []);
CASES.forEach((c, i) => {
  const r = results[i] as { wall: number[]; cpu: number[] };
  const cpu = median(r.cpu);
  console.log(`${c.name.padEnd(34)} ${median(r.wall).toFixed(0).padStart(9)} ${cpu.toFixed(0).padStart(9)}  ${(cpu / eagerCpu).toFixed(2)}×`);
});
