import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMosquittoLog } from '../../containers/cloud-broker-container.ts';
import { brokerBacklog, gapReportDisagreements } from './broker-backlog.ts';
import type { DeviceGap } from './fleet-ledger.ts';

const topic = (p: string) => `wearables/${p.repeat(32)}/e3`;

/** A Mosquitto 2.0.11 log of two wearables reporting 3 readings each while the cloud is away, with room for 4 in its queue. */
const log = [
  "1700000000: New client connected from 172.20.0.5:40000 as fleet-cloud-service (p2, c0, k30, u'cloud-service').",
  "1700000000: New client connected from 172.20.0.3:39998 as wearable-0009 (p2, c0, k60, u'wearable-0009').",
  // Delivered live, before the cloud left: not part of the backlog.
  `1700000000: Received PUBLISH from wearable-0009 (d0, q1, r0, m1, '${topic('9')}', ... (96 bytes))`,
  `1700000000: Sending PUBLISH to fleet-cloud-service (d0, q1, r0, m1, '${topic('9')}', ... (96 bytes))`,
  '1700000001: Client fleet-cloud-service disconnected.',
  "1700000001: New client connected from 172.20.0.3:40000 as wearable-0001 (p2, c0, k60, u'wearable-0001').",
  "1700000001: New client connected from 172.20.0.3:40002 as wearable-0002 (p2, c0, k60, u'wearable-0002').",
  ...[1, 2, 3].flatMap((m) => [
    `1700000002: Received PUBLISH from wearable-0001 (d0, q1, r0, m${m}, '${topic('a')}', ... (96 bytes))`,
    `1700000002: Received PUBLISH from wearable-0002 (d0, q1, r0, m${m}, '${topic('b')}', ... (96 bytes))`,
  ]),
  '1700000002: Outgoing messages are being dropped for client fleet-cloud-service.',
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
  const otherDrops = withLine('Outgoing messages are being dropped', '1700000002: Outgoing messages are being dropped for client someone-else.');
  assert.equal(brokerBacklog(parseMosquittoLog(otherDrops), 'fleet-cloud-service').dropRecords, 1, "another client's drops are not the cloud's");
  assert.deepEqual(b.receivedPer, { 'wearable-0001': 3, 'wearable-0002': 3 }, 'a reading delivered live, before the cloud left, is not part of the backlog');
});

test('the gap report agrees with the broker only when it names exactly the undelivered sequences', () => {
  const b = brokerBacklog(parseMosquittoLog(log), 'fleet-cloud-service');
  const gap = (deviceId: string, missing: number[]): DeviceGap => ({ deviceId, sealed: 3, accepted: 3 - missing.length, highest: 2, missing });
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [3]), gap('wearable-0002', [3])], b), []);
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [3])], b), ['wearable-0002: the gap report names [], the broker did not deliver [3]']);
  assert.deepEqual(gapReportDisagreements([gap('wearable-0001', [2, 3]), gap('wearable-0002', [3])], b), ['wearable-0001: the gap report names [2,3], the broker did not deliver [3]']);
});

/** The log with one line added right after the line that contains `after`. */
function withLine(after: string, line: string): string {
  const lines = log.split('\n');
  lines.splice(lines.findIndex((l) => l.includes(after)) + 1, 0, line);
  return lines.join('\n');
}

test('a resend (DUP 1) received while the cloud was away: the account is refused, naming the device and why', () => {
  // Mosquitto 2.0.11 queues the copy again; it could take a quota slot and reach the cloud as d0.
  const resend = withLine('Outgoing messages are being dropped', `1700000003: Received PUBLISH from wearable-0002 (d1, q1, r0, m3, '${topic('b')}', ... (96 bytes))`);
  assert.throws(() => brokerBacklog(parseMosquittoLog(resend), 'fleet-cloud-service'), /^Error: broker-backlog: wearable-0002 resent 1 reading\(s\) \(DUP 1\) while the subscriber was away; .*counts cannot say which sequences it delivered$/);
});

test('more deliveries of a device than first copies received: the account is refused', () => {
  const delivery = (m: number) => `1700000005: Sending PUBLISH to fleet-cloud-service (d0, q1, r0, m${m}, '${topic('a')}', ... (96 bytes))`;
  const twoMore = [log, delivery(5), delivery(6)].join('\n');
  assert.throws(() => brokerBacklog(parseMosquittoLog(twoMore), 'fleet-cloud-service'), /wearable-0001 but received only 3 first copies/);
});

test("a log without the subscriber's disconnect, or without any PUBLISH, says why it cannot be counted", () => {
  const late = log.split('\n').filter((l) => !l.includes('Client fleet-cloud-service disconnected')).join('\n');
  assert.throws(() => brokerBacklog(parseMosquittoLog(late), 'fleet-cloud-service'), /no disconnect of fleet-cloud-service, so nothing marks where the backlog starts/);
  const quiet = log.split('\n').filter((l) => !/PUBLISH/.test(l)).join('\n');
  assert.throws(() => brokerBacklog(parseMosquittoLog(quiet), 'fleet-cloud-service'), /no PUBLISH at all: its packet log is off/);
});
