/**
 * How the swarm fleet cuts a fleet into shard tasks (topology/swarm-fleet.ts): small fleets in
 * shards of 150, so 200-300 wearables still run as a service of several tasks; large ones in at
 * most 4 tasks, the layout Mosquitto served 5,000 connections from on this host. No docker is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SWARM_FLEET_MAX_SHARD_TASKS, swarmDevicesPerShard } from './swarm-fleet.ts';

const tasks = (wearables: number) => Math.ceil(wearables / swarmDevicesPerShard(wearables));

test('small fleets keep shards of 150, so the scenarios still run several shard tasks', () => {
  assert.equal(swarmDevicesPerShard(10), 10);
  assert.equal(swarmDevicesPerShard(200), 150);
  assert.equal(tasks(300), 2);
  assert.equal(tasks(600), 4);
});

test('large fleets grow their shards instead of their task count: 5,000 is 4 tasks of 1,250', () => {
  assert.equal(SWARM_FLEET_MAX_SHARD_TASKS, 4);
  assert.equal(swarmDevicesPerShard(5000), 1250);
  assert.equal(tasks(5000), 4);
  for (const n of [601, 1251, 4999, 5000]) assert.ok(tasks(n) <= SWARM_FLEET_MAX_SHARD_TASKS, `${n} wearables in ${tasks(n)} tasks`);
  assert.equal(swarmDevicesPerShard(1000, 50), 250, 'a smaller shard size asked for is grown the same way');
});
