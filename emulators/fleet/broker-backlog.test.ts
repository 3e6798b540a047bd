import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMosquittoLog } from '../../containers/cloud-broker-container.ts';
import { brokerBacklog, gapReportDisagreements } from './broker-backlog.ts';
import type { DeviceGap } from './fleet-ledger.ts';

const topic = (p: string) => `wearables/${p.repeat(32)}/e3`;

/** A Mosquitto 2.0.11 log of two wearables reporting 3 readings each while the cloud is away, with room for 4 in its queue. */
const log = [
  "1700000000: New client connected from 172.20.0.5:40000 as fleet-cloud-service (p2, c0, k30, u'cloud-service').",
  '1700000001: Client fleet-cloud-service disconnected.',
  "1700000001: New client connected from 172.20.0.3:40000 as wearable-0001 (p2, c0, k60, u'wearable-0001').",
  "1700000001: New client connected from 172.20.0.3:40002 as wearable-0002 (p2, c0, k60, u'wearable-0002').",
  ...[1, 2, 3].flatMap((m) => [
    `1700000002: Received PUBLISH from wearable-0001 (d0, q1, r0, m${m}, '${topic('a')}', ... (96 bytes))`,
    `1700000002: Received PUBLISH from wearable-0002 (d0, q1, r0, m${m}, '${topic('b')}', ... (96 bytes))`,
  ]),
  '1700000002: Outgoing messages are being dropped for client fleet-cloud-service.',
  // A resend after a lost PUBACK is not a new reading.
  `1700000003: Received PUBLISH from wearable-0002 (d1, q1, r0, m3, '${topic('b')}', ... (96 bytes))`,
  "1700000004: New client connected from 172.20.0.5:40004 as fleet-cloud-service (p2, c0, k30, u'cloud-service').",
  ...[1, 2].flatMap((m) => [
    `1700000004: Sending PUBLISH to fleet-cloud-service (d0, q1, r0, m${2 * m - 1}, '${topic('a')}', ... (96 bytes))`,
    `1700000004: Sending PUBLISH to fleet-cloud-service (d0, q1, r0, m${2 * m}, '${topic('b')}', ... (96 bytes))`,
  ]),
  `1700000005: Sending PUBLISH to fleet-cloud-service (d1, q1, r0, m4, '${topic('b')}', ... (96 bytes))`,
].join('\n');

test("the broker's log accounts for the backlog: received, delivered to the cloud, and the sequences it dropped", () => {
  const b = brokerBacklog(parseMosquittoLog(log), 'fleet-cloud-service');
  assert.equal(b.received, 6);
  assert.equal(b.delivered, 4, 'a DUP resend to the subscriber is not a second delivery');
  assert.equal(b.dropRecords, 1);
  assert.deepEqual(b.undelivered, { 'wearable-0001': [3], 'wearable-0002': [3] });
  assert.equal(brokerBacklog(parseMosquittoLog(log), 'someone-else').dropRecords, 0, "another client's drops are not the cloud's");
});

test('the gap report agrees with the broker only when it names exactly the undelivered sequences', () => {
  const b = brokerBacklog(parseMosquittoLog(log), 'fleet-cloud-service');
  const gap = (deviceId: string, missing: number[]): DeviceGap => ({ deviceId, sealed: 3, accepted: 3 - missing.length, highest: 2, missing });
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [3]), gap('wearable-0002', [3])], b), []);
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [3])], b), ['wearable-0002: the gap report names [], the broker did not deliver [3]']);
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [2, 3]), gap('wearable-0002', [3])], b), ['wearable-0001: the gap report names [2,3], the broker did not deliver [3]']);
});
