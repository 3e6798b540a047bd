/**
 * What `testbed up` runs, for `status`, `down`, `tail` and `seal`: a state file under the
 * git-ignored runs/ (runs/up/state.json) with the owning process's pid. A state whose process is
 * gone (kill -9, a crash) is stale: the next `up` or `down` removes it and what it left.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PlacementName } from '../topology/placements.ts';
import { alive } from '../containers/run-labels.ts';

export interface UpState {
  readonly pid: number;
  readonly placement: PlacementName;
  readonly dir: string;
  readonly startedAt: string;
  /** Devices the emulated wearables use (external sealing keeps off their sequences). */
  readonly emulatedDevices: readonly string[];
  /** What `up` printed: endpoints, PKI, evidence, client lines. */
  readonly summary: Record<string, unknown>;
}

export function stateFile(): string {
  return resolve(process.env.TESTBED_UP_STATE ?? join('runs', 'up', 'state.json'));
}

/** The owning process still runs (containers/run-labels.ts judges its labelled leftovers the same way). */
export function processAlive(pid: number): boolean {
  return alive(pid);
}

export function readUpState(path = stateFile()): UpState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as UpState;
    if (typeof state.pid !== 'number' || typeof state.dir !== 'string') throw new Error('fields missing');
    return state;
  } catch (err) {
    throw new Error(`${path} is not a testbed up state file (${(err as Error).message}); remove it and run testbed up again`, { cause: err });
  }
}

export function writeUpState(state: UpState, path = stateFile()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeUpState(path = stateFile()): void {
  rmSync(path, { force: true });
}

/** The live state, or an error saying that nothing runs (and how to start it). */
export function liveUpState(): UpState {
  const state = readUpState();
  if (!state || !processAlive(state.pid)) throw new Error('no testbed is up; start one with `testbed up` (or pass --run DIR for a finished run)');
  return state;
}
