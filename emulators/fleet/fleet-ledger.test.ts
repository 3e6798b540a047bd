import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../cloud/cloud-service.ts';
import { FleetLedger } from './fleet-ledger.ts';

function accepted(deviceId: string, sequence: number, timestamp = 86_400 * 20_000): AuditEntry {
  return { index: 0, at: 1, verdict: 'accepted', detail: '', topic: 't', deliveredBy: 'x', deviceId, sequence: BigInt(sequence), timestamp, packetBytes: 96 };
}

test('the ledger finds a missing reading, one out of order, and counts refused duplicates and epochs', () => {
  const l = new FleetLedger();
  for (const s of [1, 2, 3]) l.observe(accepted('a', s));
  for (const s of [1, 3, 2]) l.observe(accepted('b', s, 86_400 * 20_001));
  l.observe(accepted('c', 1));
  l.observe({ ...accepted('c', 1), verdict: 'rejected', reason: 'replay' });
  l.observe(accepted('c', 3));
  const r = l.report({ a: 3, b: 3, c: 3 });
  assert.deepEqual(r.gaps, [{ deviceId: 'c', sealed: 3, accepted: 2, highest: 3, missing: [2] }]);
  assert.equal(r.outOfOrder, 3, 'b: 3 arrived before 2, then 2 after 3; c: 3 right after 1');
  assert.equal(r.duplicatesRefused, 1);
  assert.deepEqual(r.rejectedByReason, { replay: 1 });
  assert.deepEqual(r.acceptedPerEpoch, { 20000: 5, 20001: 3 });
});

test('a device the cloud never heard from is a gap', () => {
  const r = new FleetLedger().report({ silent: 2 });
  assert.deepEqual(r.gaps, [{ deviceId: 'silent', sealed: 2, accepted: 0, highest: 0, missing: [1, 2] }]);
});

test('the gap report names each missing sequence: jumped over, filled in late, or never reached', () => {
  const l = new FleetLedger();
  for (const s of [1, 4, 2, 6]) l.observe(accepted('d', s));
  for (const s of [1, 2]) l.observe(accepted('e', s));
  const r = l.report({ d: 7, e: 5 });
  assert.deepEqual(
    r.gaps.map((g) => [g.deviceId, g.missing]),
    [
      ['d', [3, 5, 7]],
      ['e', [3, 4, 5]],
    ],
  );
});
