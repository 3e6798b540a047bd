/**
 * Retention of runs/: every `testbed run` leaves runs/<time>/ (reports, captures, key logs, PKI),
 * and without pruning the directory only grows. After a run, the newest N run directories are
 * kept (--keep-runs N, else TESTBED_KEEP_RUNS, else 20) and older ones removed; never the run
 * being written, the run `reports` points at, nor a run another live `testbed run` is still
 * writing (its marker names its pid). Only directories named like a run (an ISO time, as run.ts
 * names them, or the "-earlier" ones report-files.ts keeps) are candidates: runs/up/, demo runs
 * and caches are left alone.
 */
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './commands/options.ts';
import { latestReports } from './report-files.ts';
import { alive } from '../containers/run-labels.ts';

export const DEFAULT_KEEP_RUNS = 20;
export const KEEP_RUNS_ENV = 'TESTBED_KEEP_RUNS';
const MAX_KEEP_RUNS = 100_000;

/** runs/<time> as run.ts names it (2026-11-29T08-42-08-185Z), or report-files.ts' "-earlier" copy. */
const RUN_NAME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(-earlier)?$/;

/** The marker a live run keeps in its directory: its pid, so a concurrent run's pruning spares it. */
export const WRITING_MARKER = '.writing';

/**
 * How many runs to keep: the flag if given, else the environment variable, else the default.
 * A value that is no whole number from 1 up is a usage error (exit 2) naming where it came from.
 */
export function keepRunsSetting(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const [source, text] = flag !== undefined ? ['--keep-runs', flag] : env[KEEP_RUNS_ENV] !== undefined ? [KEEP_RUNS_ENV, env[KEEP_RUNS_ENV]] : [undefined, undefined];
  if (source === undefined || text === undefined) return DEFAULT_KEEP_RUNS;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_KEEP_RUNS) {
    throw new UsageError(`${source} must be a whole number of runs to keep, from 1 to ${MAX_KEEP_RUNS} (older runs/<time>/ directories are removed after the run), got "${text}"`);
  }
  return n;
}

/** Mark a run directory as being written by this process; the returned function removes the mark. */
export function markWriting(runDir: string): () => void {
  const marker = join(runDir, WRITING_MARKER);
  writeFileSync(marker, `${process.pid}\n`, { mode: 0o600 });
  return () => rmSync(marker, { force: true });
}

/** A live process still writes this run (the marker of a run killed with -9 names a dead pid: stale). */
function beingWritten(runDir: string): boolean {
  try {
    return alive(Number(readFileSync(join(runDir, WRITING_MARKER), 'utf8').trim()));
  } catch {
    return false;
  }
}

export interface PruneOutcome {
  /** Run directories removed, oldest first. */
  readonly removed: readonly string[];
  /** Older than the newest N but spared: the current run, the one `reports` points at, a live one. */
  readonly spared: readonly string[];
  readonly keep: number;
}

/**
 * Remove the run directories of `projectRoot`/runs older than the newest `keep`. Names are ISO
 * times, so their order is their age. `current` (the run just written) is always kept.
 */
export function pruneRuns(projectRoot: string, keep: number, current?: string): PruneOutcome {
  const runsDir = join(projectRoot, 'runs');
  let names: string[];
  try {
    names = readdirSync(runsDir).filter((n) => RUN_NAME.test(n) && lstatSync(join(runsDir, n)).isDirectory());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: [], spared: [], keep };
    throw err;
  }
  names.sort();
  const reports = latestReports(projectRoot);
  const protectedDirs = new Set([current, reports === undefined ? undefined : dirname(reports)].filter((d): d is string => d !== undefined).map((d) => resolve(d)));
  const removed: string[] = [];
  const spared: string[] = [];
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    const dir = join(runsDir, name);
    if (protectedDirs.has(resolve(dir)) || beingWritten(dir)) {
      spared.push(dir);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return { removed, spared, keep };
}

/** One line for the run's output, or undefined when nothing was removed. */
export function pruneLine(outcome: PruneOutcome): string | undefined {
  const n = outcome.removed.length;
  if (n === 0) return undefined;
  const names = outcome.removed.map((d) => basename(d));
  const range = n === 1 ? names[0] : `${names[0]} … ${names.at(-1)}`;
  const spared = outcome.spared.length > 0 ? `; spared ${outcome.spared.length} older one${outcome.spared.length === 1 ? '' : 's'} still in use` : '';
  return `runs/: removed ${n} older run${n === 1 ? '' : 's'} (${range}), keeping the newest ${outcome.keep}${spared} (--keep-runs N or ${KEEP_RUNS_ENV} to change)`;
}
