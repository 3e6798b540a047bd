/**
 * `testbed up`'s bad input that needs more than option parsing (issue 10): a busy port, Docker
 * missing, `up` twice. Each gets one line saying what to change, and nothing is left running
 * (listening sockets read with `ss -ltnp`, the state file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { up } from '../api/up.ts';
import { upGraph } from '../api/up-graph.ts';
import { upCommand } from './commands/up.ts';
import { writeUpState } from './up-state.ts';

const TESTBED = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'testbed.js');

/** Ports this process listens on, as `ss -ltnp` reports them. */
function ourListeningPorts(): number[] {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${process.pid},`)).map((l) => Number(/127\.0\.0\.1:(\d+)|\*:(\d+)|\]:(\d+)/.exec(l)?.slice(1).find(Boolean)));
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

test('--port-base onto a busy port: one line naming the port and the option, and nothing left listening', async () => {
  const busy = createServer();
  const port = await listen(busy);
  const before = ourListeningPorts();
  const dir = mkdtempSync(join(tmpdir(), 'tb-up-busy-'));
  try {
    // The gateway is published first, on the port base itself.
    await assert.rejects(up(upGraph({ broker: 'aedes', wearables: 1, path: 'terminating-gateway' }), { placement: 'local', dir, portBase: port }), (err: Error) => {
      assert.equal(err.message, `port ${port} on 127.0.0.1 is already in use; choose another with --port-base or free it`);
      return true;
    });
    assert.deepEqual(ourListeningPorts().sort(), before.sort(), 'the failed up left sockets listening');
  } finally {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('up twice: the second says what already runs and how to stop it, and starts nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-up-twice-'));
  const stateFile = join(dir, 'state.json');
  const saved = process.env.TESTBED_UP_STATE;
  process.env.TESTBED_UP_STATE = stateFile;
  // A live "first up": this very process owns the state.
  writeUpState({ pid: process.pid, placement: 'local', dir: join(dir, 'run'), startedAt: new Date().toISOString(), emulatedDevices: [], summary: {} });
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  const before = ourListeningPorts();
  try {
    assert.equal(await upCommand.run(['--readings', '0']), 1);
  } finally {
    process.stderr.write = write;
    if (saved === undefined) delete process.env.TESTBED_UP_STATE;
    else process.env.TESTBED_UP_STATE = saved;
  }
  assert.deepEqual(lines, [`testbed up: already running (pid ${process.pid}, local, ${join(dir, 'run')}); see it with \`testbed status\`, stop it with \`testbed down\`\n`]);
  assert.deepEqual(ourListeningPorts(), before, 'the second up started something');
  rmSync(dir, { recursive: true, force: true });
});

test('--topology containers without Docker: one line saying how to install it, exit 1, no state left', () => {
  const emptyPath = mkdtempSync(join(tmpdir(), 'tb-no-docker-'));
  const stateFile = join(emptyPath, 'state.json');
  // No docker or dockerd on PATH; node itself is started by its absolute path.
  const run = spawnSync(process.execPath, [TESTBED, 'up', '--topology', 'containers', '--readings', '0', '--dir', join(emptyPath, 'run')], { env: { ...process.env, PATH: emptyPath, TESTBED_UP_STATE: stateFile }, encoding: 'utf8', timeout: 180_000 });
  rmSync(emptyPath, { recursive: true, force: true });
  assert.equal(run.status, 1, `exit ${run.status}: ${run.stderr}`);
  const last = run.stderr.trim().split('\n').at(-1);
  assert.equal(last, 'testbed up: containers: dockerd is not installed (the containers topology needs a Docker daemon); run `npm run setup` as root, or: apt-get install -y docker.io');
  assert.equal(existsSync(stateFile), false, 'a state file was left for a graph that never started');
});
