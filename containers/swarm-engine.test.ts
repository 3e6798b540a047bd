/**
 * The swarm engine's decisions and its bad-input lines, with a stand-in docker: a node in no
 * swarm is made one (once), a worker / locked / broken node is refused with what to run, a swarm
 * init that fails says so in one line, and a missing docker CLI says how to install it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, type DockerResult } from './docker-cli.ts';
import { deadTask, ensureSwarm, parseTaskStates, swarmDecision, type DockerRunner } from './swarm-engine.ts';

/** A docker that answers `info` with a state and records what else it was asked. */
function fakeDocker(state: string, init: 'ok' | Error = 'ok'): { run: DockerRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: DockerRunner = async (args) => {
    calls.push([...args]);
    if (args[0] === 'info') return { stdout: `${state}\n`, stderr: '' } satisfies DockerResult;
    if (args[0] === 'swarm' && args[1] === 'init') {
      if (init instanceof Error) throw init;
      return { stdout: 'Swarm initialized', stderr: '' };
    }
    throw new Error(`unexpected docker ${args.join(' ')}`);
  };
  return { run, calls };
}

test('an active manager is left as it is; a node in no swarm is made a one-node swarm on loopback', async () => {
  const manager = fakeDocker('active true');
  await ensureSwarm(() => undefined, manager.run);
  assert.deepEqual(manager.calls.map((c) => c[0]), ['info']);
  const fresh = fakeDocker('inactive false');
  const said: string[] = [];
  await ensureSwarm((l) => said.push(l), fresh.run);
  assert.deepEqual(fresh.calls[1], ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  assert.match(said.join('\n'), /ran `docker swarm init --advertise-addr 127\.0\.0\.1`.*`docker swarm leave --force` undoes it/);
});

test('a swarm that cannot be made is refused in one line saying what to run', async () => {
  const failing = fakeDocker('inactive false', new Error('docker swarm init…: could not choose an IP address to advertise'));
  await assert.rejects(ensureSwarm(() => undefined, failing.run), (err: Error) => {
    assert.match(err.message, /^swarm: this node is in no swarm, and `docker swarm init --advertise-addr 127\.0\.0\.1` failed \(.*could not choose an IP address.*\); fix what docker said and run that command yourself$/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  await assert.rejects(ensureSwarm(() => undefined, fakeDocker('active false').run), /swarm worker.*`docker node promote/);
  await assert.rejects(ensureSwarm(() => undefined, fakeDocker('locked false').run), /locked.*`docker swarm unlock`/);
  await assert.rejects(ensureSwarm(() => undefined, fakeDocker('error false').run), /state is "error".*`docker swarm leave --force`/);
});

test('docker missing: one line, what to install', async () => {
  const path = process.env.PATH;
  process.env.PATH = mkdtempSync(join(tmpdir(), 'tb-no-docker-'));
  try {
    await assert.rejects(ensureSwarm(() => undefined, docker), (err: Error) => {
      assert.match(err.message, /docker CLI is not installed; run `npm run setup` \(installs docker\.io\) or: apt-get install -y docker\.io/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
});

test('swarm decisions', () => {
  assert.deepEqual(swarmDecision({ localNodeState: 'active', controlAvailable: true }), { action: 'ready' });
  assert.deepEqual(swarmDecision({ localNodeState: 'inactive', controlAvailable: false }), { action: 'init' });
  assert.equal(swarmDecision({ localNodeState: 'pending', controlAvailable: false }).action, 'refuse');
});

test('task states: a failed or finished task is found, with its slot and error', () => {
  const tasks = parseTaskStates('run-wearables.1|Running 3 seconds ago|\nrun-wearables.2|Failed 1 second ago|task: non-zero exit (1)\n');
  assert.deepEqual(tasks.map((t) => t.slot), [1, 2]);
  assert.deepEqual(deadTask(tasks), { slot: 2, state: 'Failed 1 second ago', error: 'task: non-zero exit (1)' });
  assert.equal(deadTask(parseTaskStates('x.1|Starting 1 second ago|\nx.2|Running 1 second ago|')), undefined);
  assert.equal(deadTask(parseTaskStates('x.1|Rejected 2 seconds ago|invalid mount config for type "bind": bind source path does not exist'))?.slot, 1);
});
