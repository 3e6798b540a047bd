/**
 * `testbed up --topology swarm`'s bad input (issue 11 item 6): Docker missing, and a DTLS path
 * the swarm has no service for. Each gets one line saying what to do, exit 1, and no state file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TESTBED = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'testbed.js');

function upWith(args: readonly string[], path?: string): { status: number | null; last: string; stateLeft: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'tb-up-swarm-'));
  const stateFile = join(dir, 'state.json');
  const env = { ...process.env, TESTBED_UP_STATE: stateFile, ...(path !== undefined ? { PATH: path } : {}) };
  const run = spawnSync(process.execPath, [TESTBED, 'up', '--topology', 'swarm', '--readings', '0', '--dir', join(dir, 'run'), ...args], { env, encoding: 'utf8', timeout: 180_000 });
  const result = { status: run.status, last: run.stderr.trim().split('\n').at(-1) ?? '', stateLeft: existsSync(stateFile) };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

test('--topology swarm without Docker: one line saying how to install it, exit 1, no state left', () => {
  // No docker or dockerd on PATH; node itself is started by its absolute path.
  const empty = mkdtempSync(join(tmpdir(), 'tb-no-docker-'));
  const r = upWith([], empty);
  rmSync(empty, { recursive: true, force: true });
  assert.equal(r.status, 1, r.last);
  assert.match(r.last, /^testbed up: .*dockerd is not installed .*apt-get install -y docker\.io$/);
  assert.equal(r.stateLeft, false, 'a state file was left for a graph that never started');
});

test('--topology swarm on a DTLS path: refused up front with what to use instead', () => {
  const r = upWith(['--path', 'dtls-stripping-gateway']);
  assert.equal(r.status, 1, r.last);
  assert.match(r.last, /swarm placement cannot realize recipe .*DTLS .*no swarm service yet.*use --topology containers/);
  assert.equal(r.stateLeft, false);
});
