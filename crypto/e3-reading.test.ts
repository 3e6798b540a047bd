import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReading, encodeReading, E3_READING_BYTES, type Reading } from './e3-reading.ts';
import { SAMPLE_READING } from './e3-fixture.ts';

const clone = (r: Reading): Reading => structuredClone(r);

test('a reading encodes to 48 bytes and decodes back unchanged', () => {
  const bytes = encodeReading(SAMPLE_READING);
  assert.equal(bytes.length, E3_READING_BYTES);
  assert.deepEqual(decodeReading(bytes), SAMPLE_READING);
});

test('the layout is big-endian hr×10, spo2×100, … , rhythm code, template', () => {
  const bytes = encodeReading(SAMPLE_READING);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint16(0), 725); // 72.5 bpm × 10
  assert.equal(view.getUint16(2), 9725); // 97.25 % × 100
  assert.equal(view.getInt16(12), -35);
  assert.equal(bytes[14], 0); // leadOff false
  assert.equal(bytes[15], 0); // sinus
  assert.equal(view.getInt16(16 + 2 * 6), 1150);
});

test('every rhythm and the extremes of each range survive the round trip', () => {
  for (const rhythm of ['sinus', 'afib', 'brady', 'tachy', 'unknown'] as const) {
    const r = clone(SAMPLE_READING);
    r.ecg.rhythm = rhythm;
    r.ecg.leadOff = true;
    r.heartRateBpm = 300;
    r.spo2Percent = 0;
    r.ecg.rrMeanMs = 65535;
    r.ecg.stDeviationUv = -32768;
    r.ecg.beatTemplate = Array.from({ length: 16 }, (_, i) => (i % 2 ? 32767 : -32768));
    assert.deepEqual(decodeReading(encodeReading(r)), r);
  }
});

test('out-of-range fields are refused with an e3-reading error naming the field', () => {
  const bad: [string, (r: Reading) => void, RegExp][] = [
    ['heart rate above 300', (r) => (r.heartRateBpm = 300.1), /e3-reading: heartRateBpm must be a number in 0\.\.300 bpm/],
    ['negative heart rate', (r) => (r.heartRateBpm = -1), /heartRateBpm/],
    ['NaN heart rate', (r) => (r.heartRateBpm = Number.NaN), /heartRateBpm/],
    ['SpO2 above 100', (r) => (r.spo2Percent = 101), /e3-reading: spo2Percent must be a number in 0\.\.100 %/],
    ['u16 overflow', (r) => (r.ecg.qtMs = 65536), /e3-reading: ecg\.qtMs must be a number in 0\.\.65535/],
    ['fractional u16', (r) => (r.ecg.qrsMs = 94.5), /e3-reading: ecg\.qrsMs must be a whole number/],
    ['i16 underflow', (r) => (r.ecg.stDeviationUv = -32769), /e3-reading: ecg\.stDeviationUv/],
    ['short template', (r) => (r.ecg.beatTemplate = [1, 2, 3]), /e3-reading: ecg\.beatTemplate must hold exactly 16 samples, got 3/],
    ['template sample out of range', (r) => (r.ecg.beatTemplate[4] = 40000), /e3-reading: ecg\.beatTemplate\[4\]/],
    ['unknown rhythm', (r) => (r.ecg.rhythm = 'vfib' as Reading['ecg']['rhythm']), /e3-reading: ecg\.rhythm must be one of sinus, afib/],
    ['non-boolean lead-off', (r) => (r.ecg.leadOff = 1 as unknown as boolean), /e3-reading: ecg\.leadOff must be true or false/],
  ];
  for (const [name, mutate, message] of bad) {
    const r = clone(SAMPLE_READING);
    mutate(r);
    assert.throws(() => encodeReading(r), message, name);
  }
});

test('decoding refuses a wrong length and unknown codes', () => {
  assert.throws(() => decodeReading(new Uint8Array(47)), /e3-reading: reading must be 48 bytes, got 47/);
  assert.throws(() => decodeReading(new Uint8Array(49)), /got 49/);
  const bytes = encodeReading(SAMPLE_READING);
  bytes[15] = 5;
  assert.throws(() => decodeReading(bytes), /e3-reading: unknown rhythm code 5/);
  bytes[15] = 0;
  bytes[14] = 2;
  assert.throws(() => decodeReading(bytes), /e3-reading: lead-off flag must be 0 or 1, got 2/);
});
