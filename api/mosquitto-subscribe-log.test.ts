/** Mosquitto's own record of a subscription its ACL forbids: granted, then nothing delivered on it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMosquittoLog } from '../containers/cloud-broker-container.ts';

test('SUBSCRIBE and deliveries are read from the Mosquitto log with the subscriber and topic', () => {
  const log = [
    "1795951579: New client connected from 172.23.0.4:41306 as wearable-0002-external (p2, c1, k60, u'wearable-0002').",
    '1795951582: Received SUBSCRIBE from wearable-0002-external',
    '1795951582: \twearables/b3de/e3 (QoS 0)',
    '1795951582: Sending SUBACK to wearable-0002-external',
    "1795951590: Sending PUBLISH to cloud-service (d0, q1, r0, m3, 'wearables/b3de/e3', ... (96 bytes))",
  ].join('\n');
  const obs = parseMosquittoLog(log);
  const sub = obs.find((o) => o.kind === 'subscribe');
  assert.deepEqual(sub?.detail, { clientId: 'wearable-0002-external', identity: 'wearable-0002', topic: 'wearables/b3de/e3', qos: 0 });
  assert.deepEqual(obs.filter((o) => o.kind === 'deliver').map((o) => o.detail.clientId), ['cloud-service']);
});
