/**
 * Where a run's reports go. Every run keeps its own in runs/<time>/reports/; `reports` at the
 * project root is a symbolic link to the latest run's, so CI still reads reports/cucumber-junit.xml.
 * Cucumber writes each report under a temporary name, and only a run that got as far as running
 * scenarios renames them into place: a run stopped by a bad --tags leaves the previous reports,
 * and no empty file, behind.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

/** The report directory's link back to its run, for relative links to evidence (step-definitions/evidence.ts). */
export const RUN_LINK = 'run';
const PARTIAL = '.partial-';

export interface PendingReports {
  readonly dir: string;
  /** Temporary path → final path. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * Send Cucumber's file formats that write into `reports/` to the run's report directory under
 * temporary names; other targets are left as configured.
 */
export function redirectReports(files: Record<string, string>, runDir: string): { files: Record<string, string>; pending: PendingReports } {
  const dir = join(runDir, 'reports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const back = join(dir, RUN_LINK);
  if (!isLink(back)) symlinkSync('..', back);
  const pending = new Map<string, string>();
  const out: Record<string, string> = {};
  for (const [target, formatter] of Object.entries(files)) {
    if (relative('reports', target).startsWith('..')) {
      out[target] = formatter;
      continue;
    }
    const final = join(dir, relative('reports', target));
    const temp = join(dirname(final), `${PARTIAL}${basename(final)}`);
    pending.set(temp, final);
    out[temp] = formatter;
  }
  return { files: out, pending: { dir, files: pending } };
}

/** Rename the finished reports into place. */
export function publishReports(pending: PendingReports): string[] {
  const done: string[] = [];
  for (const [temp, final] of pending.files) {
    if (!existsSync(temp)) continue;
    renameSync(temp, final);
    done.push(final);
  }
  return done;
}

/** Remove what a run that never ran its scenarios left half-written. */
export function discardReports(pending: PendingReports): void {
  for (const temp of pending.files.keys()) rmSync(temp, { force: true });
  if (readdirSync(pending.dir).every((f) => f === RUN_LINK)) rmSync(pending.dir, { recursive: true, force: true });
}

/**
 * Point `reports` (at the project root) at this run's report directory, replacing the link in
 * one rename. A `reports/` directory left by an older version is kept, moved into runs/.
 */
export function linkLatestReports(projectRoot: string, runDir: string): void {
  const link = join(projectRoot, 'reports');
  const stat = existsSync(link) || isLink(link) ? lstatSync(link) : undefined;
  if (stat?.isDirectory()) {
    const kept = join(projectRoot, 'runs', `${new Date(stat.mtimeMs).toISOString().replace(/[:.]/g, '-')}-earlier`);
    mkdirSync(kept, { recursive: true, mode: 0o700 });
    renameSync(link, join(kept, 'reports'));
  }
  const temp = `${link}${PARTIAL}${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(relative(projectRoot, join(runDir, 'reports')), temp);
  renameSync(temp, link);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Where `reports` points now, for messages (undefined when it is no link). */
export function latestReports(projectRoot: string): string | undefined {
  const link = join(projectRoot, 'reports');
  return isLink(link) && statSync(link, { throwIfNoEntry: false })?.isDirectory() ? resolve(projectRoot, readlinkSync(link)) : undefined;
}
