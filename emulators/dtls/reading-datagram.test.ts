import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReadingDatagram, encodeAckDatagram, encodeReadingDatagram, MAX_ACKED } from './reading-datagram.ts';
import { ackFor } from './cloud-acks.ts';
import type { AuditEntry } from '../cloud/cloud-service.ts';

const pseudonym = '00112233445566778899aabbccddeeff';

test('a reading round-trips and must be a 96-byte E3 packet', () => {
  const packet = Uint8Array.from({ length: 96 }, (_, i) => i);
  const d = decodeReadingDatagram(encodeReadingDatagram(packet));
  assert.deepEqual(d, { type: 'reading', packet });
  assert.throws(() => encodeReadingDatagram(new Uint8Array(95)), /96 bytes, got 95/);
  assert.match((decodeReadingDatagram(encodeReadingDatagram(packet).subarray(0, 50)) as Error).message, /97 bytes, got 50/);
});

test('an ack carries the pseudonym and 1..64 sequence numbers', () => {
  const d = decodeReadingDatagram(encodeAckDatagram(pseudonym, [1n, 2n ** 64n - 1n]));
  assert.deepEqual(d, { type: 'ack', pseudonymHex: pseudonym, sequences: [1n, 2n ** 64n - 1n] });
  assert.throws(() => encodeAckDatagram(pseudonym, []), /1\.\.64/);
  assert.throws(() => encodeAckDatagram(pseudonym, Array.from({ length: MAX_ACKED + 1 }, () => 1n)), /split it/);
  assert.throws(() => encodeAckDatagram('zz', [1n]), /hex/);
  const truncated = encodeAckDatagram(pseudonym, [5n]).subarray(0, 20);
  assert.ok(decodeReadingDatagram(truncated) instanceof Error);
});

test('garbage decodes to an Error, never a throw', () => {
  for (const bytes of [new Uint8Array(0), Uint8Array.of(0x07, 1, 2), Buffer.from('hello\n')]) {
    assert.ok(decodeReadingDatagram(bytes) instanceof Error);
  }
});

test('the cloud acknowledges accepted readings and replays of accepted ones only', () => {
  const base = { index: 0, at: 0, detail: '', topic: 't', deliveredBy: 'x', packetBytes: 96, deviceId: 'w', pseudonym, sequence: 7n };
  const accepted = { ...base, verdict: 'accepted' } as AuditEntry;
  assert.deepEqual(ackFor(accepted, () => false), { pseudonymHex: pseudonym, sequence: 7n, duplicate: false });
  const replay = { ...base, verdict: 'rejected', reason: 'replay' } as AuditEntry;
  assert.deepEqual(ackFor(replay, () => true), { pseudonymHex: pseudonym, sequence: 7n, duplicate: true });
  assert.equal(ackFor(replay, () => false), undefined, 'a replay of something never accepted is not acknowledged');
  assert.equal(ackFor({ ...base, verdict: 'rejected', reason: 'bad tag' } as AuditEntry, () => true), undefined, 'a tampered packet must be resent');
});
