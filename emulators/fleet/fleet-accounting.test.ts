/**
 * The device-side account of a fleet's readings (fleet-accounting.ts), on real FleetDevices and
 * their FleetCounters: queued, dropped and acknowledged readings are all accounted for; a reading
 * sealed outside FleetDevice.read (the edit the swarm shard tasks compiled in the run that lost
 * wearable-0142's reading 3, docs/scale-out.md) is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { generatePki } from '../../certs/pki.ts';
import { provisionDevice } from '../provisioning.ts';
import { deviceVitals } from '../device-sealer.ts';
import { FleetSealer } from './fleet-sealer.ts';
import { FleetDevice } from './fleet-device.ts';
import { FleetCounters } from './fleet-counters.ts';
import { readingsNeverHandedOn, whereSealedReadingsAre } from './fleet-accounting.ts';

const DEVICE_ID = 'wearable-0142';

test('every reading a wearable seals is acknowledged, queued or counted as dropped; one sealed outside its send path is not', async (t) => {
  const pki = await generatePki({ wearableIds: [DEVICE_ID] });
  const wearable = pki.wearables.get(DEVICE_ID);
  assert.ok(wearable);
  const counters = new FleetCounters(1);
  t.after(() => counters.stopSampling());
  const provisioning = provisionDevice(DEVICE_ID, 142);
  const nowSec = () => Math.floor(Date.now() / 1000);
  // Never connected: every reading stays in the queue until it is full (capacity 2).
  const device = new FleetDevice({
    provisioning,
    secureContext: () => createSecureContext({ cert: wearable.chainPem, key: wearable.keyPem }),
    sealer: new FleetSealer(provisioning, wearable.keyPem, createPublicKey(pki.cloudE3.publicKeyPem)),
    vitals: deviceVitals(provisioning),
    clock: { nowSec },
    endpoint: { host: '127.0.0.1', port: 1, serverName: 'unused' },
    queueCapacity: 2,
    events: counters,
    connectTimeoutMs: 1_000,
  });
  const account = () => counters.stats([device]);

  device.read();
  device.read();
  device.read(); // the queue is full: dropped, and counted
  // The broker's PUBACK for the first reading, as the device's own PUBACK handler takes it.
  const first = device.queue.acknowledge(1);
  assert.ok(first, 'packet id 1 was queued');
  counters.acknowledged(device, first, 0);
  device.read();
  assert.deepEqual([account().sealed, account().acknowledged, account().pending, account().overflows], [4, 1, 2, 1]);
  assert.equal(readingsNeverHandedOn(account()), 0, whereSealedReadingsAre(account()));
  assert.equal(whereSealedReadingsAre(account()), 'the wearables sealed 4, the broker acknowledged 1, 2 still queued on the wearables, 1 dropped from full queues');

  // What the shard tasks ran: a reading sealed beside the 2nd one, never queued nor sent.
  device.config.sealer.seal(new Uint8Array(48), nowSec());
  assert.equal(readingsNeverHandedOn(account()), 1);
  assert.match(whereSealedReadingsAre(account()), /the wearables sealed 5, .*, 1 never handed to a queue$/);
});

test('more readings accounted for than sealed are said as such, never as a negative count', () => {
  const counted = { sealed: 4, acknowledged: 4, pending: 1, overflows: 0 };
  assert.equal(readingsNeverHandedOn(counted), -1);
  assert.equal(whereSealedReadingsAre(counted), 'the wearables sealed 4, the broker acknowledged 4, 1 still queued on the wearables, 0 dropped from full queues, 1 more acknowledged, queued or dropped than were sealed');
  assert.doesNotMatch(whereSealedReadingsAre(counted), /-1/);
});
