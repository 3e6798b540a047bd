import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnifiedHeader, unifiedHeaderRecord } from './dtls13-unified-header.ts';
import { dtlsRecords } from './dtls-records.ts';

test('unified header 0x2f: 16-bit sequence, a length, epoch bits 3 (application data)', () => {
  const body = new Uint8Array(20).fill(7);
  const d = Uint8Array.of(0x2f, 0x00, 0x05, 0x00, 20, ...body);
  const r = unifiedHeaderRecord(d, 0);
  assert.ok(!(r instanceof Error), String(r));
  assert.equal(r.carries, 'application_data');
  assert.equal(r.sequenceBits, 16);
  assert.equal(r.headerLength, 5);
  assert.equal(r.length, 20);
});

test('0x21 (epoch 1, early data, 8-bit sequence) without a length runs to the datagram end; a CID needs its length', () => {
  const r = unifiedHeaderRecord(Uint8Array.of(0x21, 0x01, ...new Uint8Array(16)), 0);
  assert.ok(!(r instanceof Error));
  assert.equal(r.carries, 'early_data');
  assert.equal(r.length, 16);
  const withCid = Uint8Array.of(0x3e, 0x00, 0x02, 0x00, 0x09, 0x00, 16, ...new Uint8Array(16));
  assert.match(String(unifiedHeaderRecord(withCid, 0)), /Connection ID but its length is not known/);
  const parsed = unifiedHeaderRecord(withCid, 0, 2);
  assert.ok(!(parsed instanceof Error));
  assert.deepEqual([...(parsed.cid ?? [])], [0, 2]);
  assert.equal(parsed.carries, 'encrypted_handshake');
});

test('truncated and non-unified bytes are refused with where it stops', () => {
  assert.equal(isUnifiedHeader(0x16), false);
  assert.match(String(unifiedHeaderRecord(Uint8Array.of(0x2f, 0x00), 0)), /shorter than the 5-byte header/);
  assert.match(String(unifiedHeaderRecord(Uint8Array.of(0x2f, 0, 1, 0, 40, 1, 2), 0)), /claims 40 bytes/);
});

test('dtlsRecords reads DTLS 1.3 datagrams: a plaintext ServerHello record then unified-header records', () => {
  const hello = Uint8Array.of(22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2);
  const encrypted = Uint8Array.of(0x2e, 0x00, 0x00, 0x00, 12, ...new Uint8Array(12));
  const records = dtlsRecords(Uint8Array.of(...hello, ...encrypted));
  assert.ok(!(records instanceof Error), String(records));
  assert.deepEqual(records.map((r) => [r.contentType, r.epoch]), [['handshake', 0], ['encrypted_handshake', 2]]);
});
