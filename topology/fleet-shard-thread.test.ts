// The fleet shard in a worker thread: its routes answer across the port, errors come back as one
// line, and a stopped (or never built) shard leaves no thread behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { provisionDevice } from '../emulators/provisioning.ts';
import type { FleetShardSpec } from '../emulators/fleet/fleet-shard-routes.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import { FleetShardHost } from './fleet-shard-thread.ts';

async function spec(n: number): Promise<FleetShardSpec> {
  const pki = await generatePki({ wearableIds: [] });
  const ids = Array.from({ length: n }, (_, i) => `wearable-${i + 1}`);
  issueFleetCertificates(pki, ids);
  return {
    members: ids.map((id, i) => {
      const issued = pki.wearables.get(id) as { keyPem: string; chainPem: string };
      return { provisioning: provisionDevice(id, i + 1), keyPem: issued.keyPem, certChainPem: issued.chainPem };
    }),
    caPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
    cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
    // Nothing listens here: no route below connects.
    endpoint: { host: '127.0.0.1', port: 9, serverName: 'cloud' },
    clock: { startSec: 1_700_000_000, speedup: 10, wallStartMs: Date.now() },
  };
}

test('routes answer across the thread; a bad route or argument is one line; calls after stop fail with why', async () => {
  const host = await FleetShardHost.inWorkerThread(await spec(2));
  try {
    const stats = await host.call<FleetStats>('GET /stats');
    assert.equal(stats.devices, 2);
    assert.deepEqual(await host.call('GET /sealed'), { 'wearable-1': 0, 'wearable-2': 0 });
    assert.equal((await host.call<{ deviceId: string }>('POST /device', { deviceId: 'wearable-2' })).deviceId, 'wearable-2');
    await assert.rejects(host.call('GET /nope'), /^Error: fleet shard: no route "GET \/nope" \(it serves POST \/connect, /);
    await assert.rejects(host.call('POST /connect', { deadlineMs: 'soon' }), { message: 'fleet-shard: deadlineMs must be 1..3600000, got soon' });
    await assert.rejects(host.call('POST /report', { count: 0, deadlineMs: 1000 }), /readings per wearable must be an integer in 1\.\.10000, got 0/);
  } finally {
    await host.stop();
  }
  await assert.rejects(host.call('GET /stats'), { message: 'fleet shard (worker thread): stopped' });
  await host.stop(); // twice is harmless
  assert.equal(FleetShardHost.running, 0, 'the stopped shard\'s thread is still running');
});

test('a shard that cannot be built says why and leaves no thread', async () => {
  const bad = { ...(await spec(1)), members: [] };
  await assert.rejects(FleetShardHost.inWorkerThread(bad), /fleet: one process hosts 1\.\.5000 wearables, got 0/);
  assert.equal(FleetShardHost.running, 0, 'the failed shard\'s thread is still running');
});
