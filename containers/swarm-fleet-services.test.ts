/**
 * The fleet's plan on Swarm (containers/swarm-fleet-services.ts): one replicated shard service,
 * Mosquitto with its store on a mounted host directory, the fleet cloud service; one network.
 * Pure functions: no docker is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleet, reporting } from '../topology/recipes.ts';
import { TASK_SLOT, serviceCreateArgs, type SwarmServiceSpec } from './swarm-service-spec.ts';
import { BROKER_STORE_DIR, fleetServices, type SwarmFleetPlanContext } from './swarm-fleet-services.ts';

const runId = 'tb-9-beef';
const ctx: SwarmFleetPlanContext = {
  runId,
  images: { wearable: 'testbed-wearable:1', 'cloud-service': 'testbed-cloud-service:1', 'cloud-broker': 'testbed-cloud-broker:1' },
  dirs: { project: '/work/main', pki: '/r/pki', evidence: '/r', shardEvidence: `/r/swarm/shards/${TASK_SLOT}`, configs: '/r/swarm/configs', control: '/tmp/tb-swf-x/roles', shardControl: `/tmp/tb-swf-x/${TASK_SLOT}`, broker: '/r/swarm/broker', brokerStore: '/r/swarm/broker-store', identity: '/r/swarm/id', tsxCache: '/work/main/runs/.swarm-tsx-cache' },
  network: `${runId}-fleet-net`,
  devicesPerShard: 150,
};
const byRole = (specs: SwarmServiceSpec[], role: string) => specs.find((s) => s.role === role) as SwarmServiceSpec;

test('a fleet of 300 is one shard service of 2 tasks, Mosquitto and the cloud service, all on the one network', () => {
  const specs = fleetServices(fleet({ broker: 'mosquitto', wearables: 300 }), ctx);
  assert.deepEqual(specs.map((s) => [s.name, s.replicas]), [[`${runId}-fleet`, 2], [`${runId}-cloud-broker`, 1], [`${runId}-cloud-service`, 1]]);
  for (const s of specs) assert.deepEqual(s.networks.map((n) => n.network), [ctx.network]);
  assert.deepEqual(byRole(specs, 'cloud-broker').networks[0]?.aliases, ['cloud.testbed.local', 'broker.testbed.local']);
});

test('each shard task picks its own config, control and evidence directory by its slot', () => {
  const shards = byRole(fleetServices(fleet({ broker: 'mosquitto', wearables: 200 }), ctx), 'fleet');
  const args = serviceCreateArgs(shards, runId);
  assert.ok(args.includes('TESTBED_SHARD={{.Task.Slot}}'), args.join(' '));
  assert.match(args.join(' '), /shard-\$TESTBED_SHARD\.json/);
  assert.ok(args.some((a) => a.startsWith(`type=bind,src=/tmp/tb-swf-x/${TASK_SLOT},dst=/control`)), args.join(' '));
  assert.ok(args.some((a) => a === `type=bind,src=/r/swarm/configs/fleet,dst=/config,readonly`), args.join(' '));
});

test("the broker's persistent store is a writable host directory, so a new task reads back what the old one saved", () => {
  const broker = byRole(fleetServices(fleet({ broker: 'mosquitto', wearables: 10 }), ctx), 'cloud-broker');
  assert.deepEqual(broker.mounts.find((m) => m.source === ctx.dirs.brokerStore), { source: '/r/swarm/broker-store', target: BROKER_STORE_DIR.replace(/\/$/, ''), readonly: false });
  assert.ok(broker.mounts.filter((m) => m.source !== ctx.dirs.brokerStore).every((m) => m.readonly), 'only the store is writable');
});

test('a graph other than the fleet is refused with what it is', () => {
  assert.throws(() => fleetServices(reporting({ broker: 'mosquitto', wearables: 1, path: 'terminating-gateway', profile: 'secure' }), ctx), /plans the fleet graph, not recipe "reporting"/);
});
