/**
 * The swarm placement's plan: a reporting graph becomes four services (the wearables one
 * replicated, one task per shard) and each service one `docker service create` argument list.
 * Pure functions: no docker is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleet, interception, reporting } from '../topology/recipes.ts';
import { swarmPlacement } from '../topology/placements.ts';
import { RUN_LABEL } from './run-labels.ts';
import { TASK_SLOT, overlayNetworkArgs, reportingServices, serviceCreateArgs, shardCount, splitIntoShards, type SwarmPlanContext, type SwarmServiceSpec } from './swarm-service-spec.ts';

const runId = 'tb-123-abcd';
const ctx: SwarmPlanContext = {
  runId,
  images: { wearable: 'testbed-wearable:1', gateway: 'testbed-gateway:1', 'cloud-service': 'testbed-cloud-service:1', 'cloud-broker': 'testbed-cloud-broker:1' },
  dirs: { project: '/work/main', pki: '/r/pki', evidence: '/r', shardEvidence: `/r/swarm/shards/${TASK_SLOT}`, configs: '/r/swarm/configs', control: '/tmp/tb-sw-x/roles', shardControl: `/tmp/tb-sw-x/${TASK_SLOT}`, broker: '/r/swarm/broker', identity: '/r/swarm/id', tsxCache: '/work/main/runs/.swarm-tsx-cache' },
  networks: { device: `${runId}-device`, cloud: `${runId}-cloud` },
  devicesPerShard: 2,
};

const graph = (wearables: number) => reporting({ broker: 'mosquitto', wearables, path: 'terminating-gateway', profile: 'secure' });
const byRole = (specs: SwarmServiceSpec[], role: string) => specs.find((s) => s.role === role) as SwarmServiceSpec;
const flagValues = (args: readonly string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));

test('a reporting graph becomes wearables, gateway, broker and cloud service; the wearables one task per shard', () => {
  const specs = reportingServices(graph(5), ctx);
  assert.deepEqual(specs.map((s) => [s.role, s.replicas]), [['wearables', 3], ['gateway', 1], ['cloud-broker', 1], ['cloud-service', 1]]);
  assert.deepEqual(specs.map((s) => s.name), ['wearables', 'gateway', 'cloud-broker', 'cloud-service'].map((r) => `${runId}-${r}`));
});

test('the gateway alone joins both networks; wearables only the device network, broker and cloud service only the cloud network', () => {
  const specs = reportingServices(graph(1), ctx);
  assert.deepEqual(byRole(specs, 'gateway').networks.map((n) => n.network), [ctx.networks.device, ctx.networks.cloud]);
  assert.deepEqual(byRole(specs, 'wearables').networks.map((n) => n.network), [ctx.networks.device]);
  assert.deepEqual(byRole(specs, 'cloud-broker').networks, [{ network: ctx.networks.cloud, aliases: ['cloud.testbed.local', 'broker.testbed.local'] }]);
  assert.deepEqual(byRole(specs, 'cloud-service').networks.map((n) => n.network), [ctx.networks.cloud]);
});

test('each wearable task learns its shard from the slot: env and per-slot control and evidence mounts', () => {
  const args = serviceCreateArgs(byRole(reportingServices(graph(4), ctx), 'wearables'), runId);
  assert.deepEqual(flagValues(args, '--env'), ['TESTBED_SHARD={{.Task.Slot}}']);
  const mounts = flagValues(args, '--mount');
  assert.ok(mounts.includes('type=bind,src=/tmp/tb-sw-x/{{.Task.Slot}},dst=/control'), mounts.join('\n'));
  assert.ok(mounts.includes('type=bind,src=/r/swarm/shards/{{.Task.Slot}},dst=/evidence'), mounts.join('\n'));
  assert.ok(mounts.includes('type=bind,src=/work/main,dst=/testbed,readonly'));
  // The entrypoint shell expands the slot into the shard's config file name.
  assert.match(args.at(-1) as string, /\/config\/shard-\$TESTBED_SHARD\.json$/);
  assert.equal(flagValues(args, '--replicas')[0], '2');
});

test('every service create is local-only, not restarted, labelled for cleanup on the service and its tasks', () => {
  for (const spec of reportingServices(graph(1), ctx)) {
    const args = serviceCreateArgs(spec, runId);
    assert.deepEqual(args.slice(0, 2), ['service', 'create']);
    assert.ok(args.includes('--no-resolve-image'), 'no registry lookup of the image digest');
    assert.equal(flagValues(args, '--restart-condition')[0], 'none');
    assert.equal(flagValues(args, '--endpoint-mode')[0], 'dnsrr');
    assert.ok(flagValues(args, '--label').includes(`${RUN_LABEL}=${runId}`));
    assert.ok(flagValues(args, '--container-label').includes(`${RUN_LABEL}=${runId}`));
    assert.equal(args[args.indexOf(spec.image) - 1]?.startsWith('--'), false, 'the image follows the last option value');
  }
});

test('the run networks are internal, attachable overlays with the run labels', () => {
  const args = overlayNetworkArgs(runId, 'device');
  assert.deepEqual(args.slice(0, 6), ['network', 'create', '--driver', 'overlay', '--internal', '--attachable']);
  assert.ok(args.includes(`${RUN_LABEL}=${runId}`));
  assert.equal(args.at(-1), `${runId}-device`);
});

test('shards: sizes and splits', () => {
  assert.equal(shardCount(1), 1);
  assert.equal(shardCount(5000), 5);
  assert.equal(shardCount(5001), 6);
  assert.deepEqual(splitIntoShards([1, 2, 3, 4, 5], 2), [[1, 2, 3], [4, 5]]);
  assert.throws(() => splitIntoShards([1], 2), /cannot split 1 wearables into 2 shards; use 1\.\.1/);
  assert.throws(() => shardCount(0), /at least 1 wearable/);
});

test('bad input to the builder says what to fix', () => {
  const spec = byRole(reportingServices(graph(1), ctx), 'gateway');
  assert.throws(() => serviceCreateArgs({ ...spec, replicas: 0 }, runId), /needs 1 or more replicas, got 0/);
  assert.throws(() => serviceCreateArgs({ ...spec, networks: [] }, runId), /on no network/);
  assert.throws(() => serviceCreateArgs({ ...spec, mounts: [{ source: '/a,b', target: '/x', readonly: true }] }, runId), /must not contain ','/);
  assert.throws(() => reportingServices(interception({ forgedCase: 'self-signed', client: 'secure', transport: 'tls' }), ctx), /no service realizes the (mitm-proxy|external-client) role/);
});

test('the swarm placement realizes the reporting graph over TLS and skips, with reasons, what it has no service for', () => {
  assert.equal(swarmPlacement.cannotRealize(graph(3)), undefined);
  assert.equal(swarmPlacement.cannotRealize(reporting({ broker: 'mosquitto', wearables: 1, path: 'relay-gateway', profile: 'plaintext', plaintext: true })), undefined);
  assert.match(swarmPlacement.cannotRealize(reporting({ broker: 'mosquitto', wearables: 1, path: 'dtls-stripping-gateway', profile: 'secure' })) ?? '', /DTLS wearables.*no swarm service yet/);
  assert.match(swarmPlacement.cannotRealize(reporting({ broker: 'mosquitto', wearables: 1, path: 'terminating-gateway', profile: 'secure', gatewayCloudMitm: { forgedCase: 'expired', stolenGatewayIdentity: false } })) ?? '', /a MITM has no swarm service yet/);
  assert.equal(swarmPlacement.cannotRealize(fleet({ broker: 'mosquitto', wearables: 300 })), undefined);
  assert.equal(swarmPlacement.cannotRealize(fleet({ broker: 'mosquitto', wearables: 5000 })), undefined, 'the worked example\'s 5,000 run on swarm (4 shard tasks of 1,250)');
  assert.match(swarmPlacement.cannotRealize(reporting({ broker: 'aedes', wearables: 1, path: 'terminating-gateway', profile: 'secure' })) ?? '', /Aedes broker does not run on swarm/);
});
