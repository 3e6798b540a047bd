/**
 * The containers placement against a real Docker daemon: roles up on internal networks with no
 * route out, readings opened by the cloud through Mosquitto, and nothing labelled left behind —
 * after stop(), after Ctrl-C, and (at the next start) after a kill -9. Skipped, with the reason,
 * where no daemon answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { skipForMissingTool } from '../cli/prerequisites.ts';
import { ContainersTopology, lastHostAddress } from './containers-topology.ts';
import { dockerDaemonStatus } from '../containers/docker-daemon.ts';
import { docker } from '../containers/docker-cli.ts';
import { PID_LABEL, removeLeftovers } from '../containers/run-labels.ts';
import { WearableContainer } from '../containers/wearable-container.ts';
import { tamper } from '../emulators/gateway-malice.ts';
import { provisionDevice } from '../emulators/provisioning.ts';

const status = await dockerDaemonStatus();
const skip = status.running ? false : skipForMissingTool(`no Docker daemon: ${status.reason}`);
if (!skip) await ContainersTopology.prepare();
const fixture = join(import.meta.dirname, '..', 'containers', 'test-fixtures', 'run-until-signal.ts');

async function labelledBy(pid: number): Promise<string[]> {
  const containers = (await docker(['ps', '-aq', '--filter', `label=${PID_LABEL}=${pid}`])).stdout.split('\n').filter(Boolean);
  const networks = (await docker(['network', 'ls', '-q', '--filter', `label=${PID_LABEL}=${pid}`])).stdout.split('\n').filter(Boolean);
  return [...containers, ...networks];
}

/** Start the fixture; resolve with the child once it printed UP (bounded). */
function startChild(): Promise<{ child: ReturnType<typeof spawn>; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mkdtempSync(join(tmpdir(), 'tb-run-'))], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fixture not up within 60 s: ${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/^UP /m.test(out)) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`fixture exited (${code}) before UP: ${out}`)));
  });
}

test('roles come up on internal networks without a route out, the cloud opens what the wearable sent, and stop() leaves nothing', { skip, timeout: 120_000 }, async () => {
  const topology = new ContainersTopology(mkdtempSync(join(tmpdir(), 'tb-topo-')));
  try {
    await topology.start({ wearables: 2, path: 'terminating-gateway', gatewayMalice: [tamper({ packets: [2] })], speedup: 600 /* as the scenarios: at 3000× the cloud's ±300 s window is 0.1 s of wall time, and a loaded machine made readings "stale" */, wearableProfile: 'secure' });
    const sent = await topology.report('wearable-0002', 3);
    await topology.settle();
    const audit = await topology.audit();
    assert.deepEqual(audit.map((e) => `${e.verdict}:${e.reason ?? ''}:${e.sequence}`), ['accepted::1', 'rejected:bad tag:2', 'accepted::3']);
    assert.deepEqual(audit[0]?.reading !== undefined, true);
    assert.equal(sent[0]?.packet.length, 96);
    const ids = (await docker(['ps', '-q', '--filter', `label=org.testbed.run=${topology.runId}`])).stdout.split('\n').filter(Boolean);
    assert.ok(ids.length >= 4, `expected the roles' containers, found ${ids.length}`);
    for (const id of ids) {
      // Every network a role is on is one of this run's --internal networks (Docker drops what
      // would leave them), never the default bridge, which routes out.
      const networks = (await docker(['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', id])).stdout.trim().split(' ').filter(Boolean);
      if (networks.length === 0) {
        // A capture sidecar: it has no network of its own, it shares a role's namespace.
        assert.match((await docker(['inspect', '--format', '{{.HostConfig.NetworkMode}}', id])).stdout, /^container:/);
        continue;
      }
      for (const net of networks) {
        assert.ok(net.startsWith(`${topology.runId}-`), `container ${id} is on network ${net}, not one of the run's`);
        assert.equal((await docker(['network', 'inspect', '--format', '{{.Internal}}', net])).stdout.trim(), 'true', `${net} is not internal`);
      }
    }
    // Reachable only where wired: the gateway reaches the broker, the wearables cannot (their
    // network is not the cloud's; Docker drops what would be forwarded between them).
    const role = async (image: string) => (await docker(['ps', '-q', '--filter', `label=org.testbed.run=${topology.runId}`, '--filter', `label=org.testbed.image=${image}`])).stdout.trim();
    const brokerIp = (await docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', await role('cloud-broker')])).stdout.trim();
    const probe = `const s=require('net').connect(8883,'${brokerIp}');s.setTimeout(2000,()=>{console.log('timeout');process.exit(0)});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
    assert.equal((await docker(['exec', await role('gateway'), 'node', '-e', probe])).stdout.trim(), 'connected');
    assert.notEqual((await docker(['exec', await role('wearable'), 'node', '-e', probe])).stdout.trim(), 'connected', 'a wearable reached the broker around the gateway');
    const broker = await topology.observations('cloud-broker');
    assert.equal(broker.filter((o) => o.kind === 'publish').length, 3, 'Mosquitto let through the three publishes');
    assert.ok(broker.some((o) => o.kind === 'mqtt-connect' && o.detail.identity === 'cloud-service'), 'the cloud service subscribed with its own certificate');
  } finally {
    const evidence = await topology.stop();
    assert.equal(evidence.captures.length, 2);
  }
  assert.deepEqual(await labelledBy(process.pid), [], 'containers or networks left after stop()');
});

test('Ctrl-C mid-scenario removes every container and network of the run', { skip, timeout: 120_000 }, async () => {
  const { child, exited } = await startChild();
  assert.ok((await labelledBy(child.pid as number)).length > 0, 'the fixture had containers up');
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.deepEqual(await labelledBy(child.pid as number), []);
});

test('after a kill -9 mid-scenario, the next start removes what the dead run left', { skip, timeout: 120_000 }, async () => {
  const { child, exited } = await startChild();
  child.kill('SIGKILL');
  await exited;
  assert.ok((await labelledBy(child.pid as number)).length > 0, 'a killed run cannot clean up after itself');
  await removeLeftovers(); // what ContainersTopology.prepare() runs at every start
  assert.deepEqual(await labelledBy(child.pid as number), []);
});

test('a missing image is named with the fix, and no registry is asked', { skip }, async () => {
  const c = new WearableContainer('testbed-wearable:not-built').withRun('tb-test').withInternalNetwork('tb-test-none').withMounts({ project: '/', pki: '/', evidence: '/', control: '/tmp' });
  await assert.rejects(c.withDevices([provisionDevice('wearable-0001', 1)]).withEndpoint({ host: 'h', port: 1, serverName: 'h' }).withClock({ startSec: 0, speedup: 1, wallStartMs: 0 }).start(), /containers: the wearables image testbed-wearable:not-built is not built; `testbed run --topology containers` builds it/);
});

test('a daemon that does not answer is reported with the cause and the fix', async () => {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${join(tmpdir(), 'no-such-docker.sock')}`;
  try {
    const s = await dockerDaemonStatus();
    assert.equal(s.running, false);
    assert.match(s.reason ?? '', /containers: (the Docker daemon does not answer .*start it with `testbed setup --only docker`|Docker is not installed)/);
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
});

test('transparent interception: a wearable pointed at the cloud is taken by the gateway through iptables REDIRECT', { skip, timeout: 120_000 }, async () => {
  const topology = new ContainersTopology(mkdtempSync(join(tmpdir(), 'tb-intercept-')), { interception: 'transparent' });
  try {
    await topology.start({ wearables: 1, path: 'relay-gateway', gatewayMalice: [], speedup: 600, wearableProfile: 'secure' });
    await topology.report('wearable-0001', 2);
    await topology.settle();
    const wearable = await topology.observations('wearable:wearable-0001');
    assert.equal(wearable.find((o) => o.kind === 'tls-handshake')?.detail.peerSubjectCn, 'cloud.testbed.local', 'the wearable believes it talks to the cloud');
    const relayed = (await topology.observations('gateway')).filter((o) => o.kind === 'raw-bytes');
    assert.ok(relayed.length > 0, 'yet every byte went through the gateway');
    assert.equal((await topology.audit()).filter((e) => e.verdict === 'accepted').length, 2);
  } finally {
    await topology.stop();
  }
});

test('transparent interception by a terminating gateway: the secure wearable refuses the gateway\'s certificate for the cloud\'s name', { skip, timeout: 120_000 }, async () => {
  const topology = new ContainersTopology(mkdtempSync(join(tmpdir(), 'tb-intercept-')), { interception: 'transparent' });
  try {
    await topology.start({ wearables: 1, path: 'terminating-gateway', gatewayMalice: [], speedup: 600, wearableProfile: 'secure' });
    await assert.rejects(topology.report('wearable-0001', 1), /Host: cloud\.testbed\.local\. is not in the cert's altnames: DNS:gateway\.testbed\.local/);
    assert.equal((await topology.audit()).length, 0, 'nothing reached the cloud');
  } finally {
    await topology.stop();
  }
});

test('lastHostAddress: the top host address of a subnet, refused for what is no subnet', () => {
  assert.equal(lastHostAddress('172.18.0.0/16'), '172.18.255.254');
  assert.equal(lastHostAddress('192.168.112.0/20'), '192.168.127.254');
  assert.throws(() => lastHostAddress('fd00::/64'), /not an IPv4 subnet/);
});
