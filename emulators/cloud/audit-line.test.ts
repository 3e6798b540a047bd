// auditLine writes the same JSON line the audit always had (bigint sequence as a decimal string).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditLine, type AuditEntry } from './cloud-service.ts';

const withReplacer = (e: AuditEntry) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';

test('an accepted entry and a rejected one serialize as with a bigint replacer', () => {
  const accepted: AuditEntry = { index: 3, at: 1, verdict: 'accepted', detail: 'opened reading #18446744073709551615', topic: 't', deliveredBy: 'wearable-0001', deviceId: 'wearable-0001', pseudonym: 'ab', sequence: 18446744073709551615n, timestamp: 7, reading: { heartRateBpm: 72, spo2Percent: 98, ecg: { rrMeanMs: 800, sdnnMs: 40, qrsMs: 90, qtMs: 380, stDeviationUv: -5, leadOff: false, rhythm: 'sinus', beatTemplate: [1, -2] } }, packetBytes: 96 };
  const rejected: AuditEntry = { index: 4, at: 2, verdict: 'rejected', reason: 'length', detail: 'E3 packets are 96 bytes, got 3', topic: 't', deliveredBy: 'x', packetBytes: 3 };
  for (const e of [accepted, rejected]) assert.equal(auditLine(e), withReplacer(e));
});
