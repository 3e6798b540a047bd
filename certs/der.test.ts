import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bitString, children, oid, readElement, sequence, time, tlv, unsignedInteger } from './der.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('DER known answers (X.690): OIDs, integers, lengths, times', () => {
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302'); // ecdsa-with-SHA256
  assert.equal(hex(oid('2.5.29.19')), '0603551d13');
  assert.equal(hex(unsignedInteger(Uint8Array.of(0x80))), '02020080'); // sign bit → leading zero
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 5))), '020105'); // leading zeros trimmed
  assert.equal(hex(tlv(0x04, new Uint8Array(200))).slice(0, 6), '0481c8'); // long form length
  assert.equal(hex(bitString(Uint8Array.of(0x88), 3)), '03020388');
  assert.equal(Buffer.from(time(new Date('2026-11-29T10:00:00Z'))).toString('latin1').slice(2), '261129100000Z');
  assert.equal(time(new Date('2050-01-01T00:00:00Z'))[0], 0x18); // GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)
});

test('the DER reader walks what the encoder wrote and refuses a truncated element', () => {
  const der = sequence(oid('2.5.4.3'), unsignedInteger(Uint8Array.of(7)));
  const top = readElement(der, 0);
  assert.deepEqual(children(der, top).map((c) => c.tag), [0x06, 0x02]);
  assert.throws(() => readElement(der.subarray(0, 3), 0), /runs past the end/);
  assert.throws(() => oid('2'), /dotted object identifier/);
});
