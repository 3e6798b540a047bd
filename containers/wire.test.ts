import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWire, encodeWire } from './wire.ts';

test('bytes and bigints survive the control channel as the same types', () => {
  const observation = { kind: 'reading-sent', detail: { sequence: 2n ** 64n - 1n, timestamp: 17, plaintext: new Uint8Array([0, 255, 16]) }, bytes: Buffer.from('e3e3', 'hex') };
  const back = decodeWire(encodeWire(observation)) as typeof observation;
  assert.equal(back.detail.sequence, 2n ** 64n - 1n);
  assert.deepEqual(back.detail.plaintext, new Uint8Array([0, 255, 16]));
  // A Buffer goes as bytes, not as Buffer#toJSON's {type, data}.
  assert.deepEqual(back.bytes, new Uint8Array([0xe3, 0xe3]));
  assert.match(encodeWire(observation), /"\$hex":"00ff10"/);
});

test('a subarray is encoded as its own bytes, not its whole buffer', () => {
  const whole = new Uint8Array([1, 2, 3, 4]);
  assert.equal(encodeWire(whole.subarray(1, 3)), '{"$hex":"0203"}');
});

test('malformed wire values are refused with a sentence', () => {
  assert.throws(() => decodeWire('{"$hex":"0g"}'), /wire: "\$hex" must be lower-case hex/);
  assert.throws(() => decodeWire('{"$bigint":"1.5"}'), /wire: "\$bigint" must be a decimal integer/);
  assert.throws(() => encodeWire({ f: () => 1 }), /wire: cannot encode a function/);
});
