import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './commands/options.ts';
import { DEFAULT_KEEP_RUNS, KEEP_RUNS_ENV, WRITING_MARKER, keepRunsSetting, markWriting, pruneLine, pruneRuns } from './run-retention.ts';

/** runs/<time> names an hour apart, oldest first, as run.ts names them. */
const runName = (i: number): string => new Date(Date.UTC(2026, 0, 1, i)).toISOString().replace(/[:.]/g, '-');

function project(runs: number): { root: string; dirs: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'tb-retention-'));
  const dirs = Array.from({ length: runs }, (_, i) => join(root, 'runs', runName(i)));
  for (const d of dirs) {
    mkdirSync(join(d, 'reports'), { recursive: true });
    writeFileSync(join(d, 'reports', 'cucumber-junit.xml'), '<testsuite/>');
  }
  return { root, dirs };
}

const left = (root: string): string[] => readdirSync(join(root, 'runs')).sort();

test('keeps the newest N runs and removes the older ones, saying so in one line', () => {
  const { root, dirs } = project(6);
  const outcome = pruneRuns(root, 3, dirs[5]);
  assert.deepEqual(outcome.removed, dirs.slice(0, 3));
  assert.deepEqual(left(root), [runName(3), runName(4), runName(5)]);
  const line = pruneLine(outcome) ?? '';
  assert.equal(line.split('\n').length, 1);
  assert.match(line, new RegExp(`^runs/: removed 3 older runs \\(${runName(0)} … ${runName(2)}\\), keeping the newest 3 \\(--keep-runs N or ${KEEP_RUNS_ENV} to change\\)$`));
  assert.equal(pruneLine(pruneRuns(root, 3, dirs[5])), undefined, 'nothing to prune prints nothing');
});

test('never removes the run being written nor the one reports points at, even when older than the newest N', () => {
  const { root, dirs } = project(5);
  symlinkSync(join('runs', runName(1), 'reports'), join(root, 'reports'));
  const outcome = pruneRuns(root, 1, dirs[0]);
  assert.deepEqual(left(root), [runName(0), runName(1), runName(4)]);
  assert.deepEqual(outcome.spared, [dirs[0], dirs[1]]);
  assert.match(pruneLine(outcome) ?? '', /removed 2 older runs .*; spared 2 older ones still in use/);
});

test("spares a run another live process is writing, and removes one whose writer died", async () => {
  const { root, dirs } = project(4);
  const done = markWriting(dirs[0] as string);
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
  await new Promise((ok) => child.once('spawn', ok));
  try {
    writeFileSync(join(dirs[1] as string, WRITING_MARKER), `${child.pid}\n`);
    writeFileSync(join(dirs[2] as string, WRITING_MARKER), '2147483646\n'); // a pid no process has: a run killed with -9
    pruneRuns(root, 1, dirs[3]);
    assert.deepEqual(left(root), [runName(0), runName(1), runName(3)]);
    done();
    assert.ok(!existsSync(join(dirs[0] as string, WRITING_MARKER)), 'the marker outlived the run');
    pruneRuns(root, 1, dirs[3]);
    assert.deepEqual(left(root), [runName(1), runName(3)]);
  } finally {
    child.kill();
  }
});

test('leaves alone what is no run: runs/up, demo runs, caches, a link, a stray file', () => {
  const { root, dirs } = project(2);
  for (const d of ['up', `demo-${runName(0)}`, '.swarm-tsx-cache']) mkdirSync(join(root, 'runs', d));
  writeFileSync(join(root, 'runs', `${runName(0).slice(0, -1)}Y`), 'not a run');
  symlinkSync(dirs[0] as string, join(root, 'runs', `${runName(0).slice(0, -5)}999Z`));
  mkdirSync(join(root, 'runs', `${runName(0)}-earlier`));
  const outcome = pruneRuns(root, 1, dirs[1]);
  assert.deepEqual(outcome.removed.map((d) => d.slice(root.length)), [`/runs/${runName(0)}`, `/runs/${runName(0)}-earlier`]);
  assert.ok(existsSync(join(root, 'runs', 'up')) && existsSync(join(root, 'runs', '.swarm-tsx-cache')) && existsSync(join(root, 'runs', `demo-${runName(0)}`)));
});

test('a project without runs/ prunes nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-retention-'));
  assert.deepEqual(pruneRuns(root, 1).removed, []);
});

test('--keep-runs beats the environment variable, which beats the default; bad values are usage errors naming their source', () => {
  assert.equal(keepRunsSetting(undefined, {}), DEFAULT_KEEP_RUNS);
  assert.equal(keepRunsSetting(undefined, { [KEEP_RUNS_ENV]: '7' }), 7);
  assert.equal(keepRunsSetting('3', { [KEEP_RUNS_ENV]: '7' }), 3);
  for (const bad of ['0', '-1', '2.5', 'ten', '', '1e3', '100001']) {
    assert.throws(() => keepRunsSetting(bad, {}), (err: Error) => err instanceof UsageError && /^--keep-runs must be a whole number of runs to keep, from 1 to 100000 .*got "/.test(err.message) && !err.message.includes('\n'), bad);
  }
  assert.throws(() => keepRunsSetting(undefined, { [KEEP_RUNS_ENV]: 'all' }), /: TESTBED_KEEP_RUNS must be a whole number/);
});

test('testbed run with a bad --keep-runs: one line, exit 2, before anything runs', () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'testbed.js');
  const r = spawnSync(process.execPath, [bin, 'run', '--list', '--keep-runs', 'none'], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr.trim(), /^testbed run: --keep-runs must be a whole number of runs to keep, from 1 to 100000 .*got "none"$/);
});
