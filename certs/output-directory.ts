/**
 * Where generated keys may be written: a check that refuses, in one sentence, a directory that
 * cannot be created or written, and a bounded replacement for `mkdirSync(dir, { recursive: true })`.
 *
 * Why not the recursive mkdir: Node 20's recursive mkdirSync retries the parent whenever mkdir
 * says ENOENT, and procfs answers ENOENT for a new name under /proc even though /proc exists —
 * so `testbed pki --out /proc/x` spun at 100 % CPU forever. Here each missing level is created
 * once, from the nearest existing ancestor down, and any refusal is reported as it comes.
 */
import { accessSync, constants, existsSync, mkdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** statfs(2) f_type magic numbers (linux/magic.h) of kernel pseudo-filesystems: nothing can be written there. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
]);

/** The nearest ancestor of `path` (or `path` itself) that exists; bounded by the path's depth. */
export function nearestExisting(path: string): string {
  let current = resolve(path);
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

/** Why `dir` cannot be used as an output directory, or undefined if it can. */
export function outputDirectoryProblem(dir: string): string | undefined {
  const target = resolve(dir);
  const existing = nearestExisting(target);
  const fsName = PSEUDO_FILESYSTEMS.get(Number(statfsSync(existing).type));
  if (fsName) return `${target} is on ${fsName}, a kernel pseudo-filesystem where no file can be written; choose a directory such as /tmp/pki`;
  if (!statSync(existing).isDirectory()) {
    return existing === target
      ? `${target} exists and is not a directory; choose a new or empty directory`
      : `${existing} is not a directory, so ${target} cannot be created under it; choose another directory`;
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return existing === target
      ? `${target} is not writable by this user; choose a directory you can write to`
      : `${existing} is not writable by this user, so ${target} cannot be created in it; choose a directory you can write to`;
  }
  return undefined;
}

/** Creates `dir` and its missing ancestors with `mode`, one level at a time (see above). */
export function makeDirectories(dir: string, mode: number): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let current = target; !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode });
    } catch (error) {
      throw new Error(`cannot create ${level} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a directory you can write to`, { cause: error });
    }
  }
}
