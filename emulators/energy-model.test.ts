// The energy model reproduces the source chapter's worked examples (§17.6 step 3, §17.7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceProfile, energyReport, handshakeCost, readingBudget, round } from './energy-model.ts';

test('nRF52840: 34.1 µJ per reading, 2,880 readings, 98.2 mJ/day, 2,664 J, ~27,130 days, ≈3 % encryption (§17.6)', () => {
  const b = readingBudget(deviceProfile('nrf52840'));
  assert.equal(round(b.perReadingMicrojoules), 34.1);
  assert.equal(b.readingsPerDay, 2880);
  assert.equal(b.dailyMillijoules, 98.2);
  assert.equal(round(b.batteryJoules, 3), 2664);
  assert.equal(Math.round(b.batteryDays / 10) * 10, 27130);
  assert.equal(Math.round(b.encryptionShare * 100), 3);
  assert.equal(Math.round(b.radioShare * 100), 97);
});

test('ESP32: a full TLS 1.3 handshake at 50 ms RTT is 72 ms, ≈38 mJ, ≈760 messages (§17.7)', () => {
  const full = handshakeCost(deviceProfile('esp32'), 'tls13-full', 1, 50);
  assert.equal(full.totalMs, 72);
  assert.equal(Math.round(full.millijoules), 38);
  assert.equal(Math.round(full.messagesWorth), 760);
  const resumed = handshakeCost(deviceProfile('esp32'), 'tls13-resumed', 1, 50);
  assert.equal(resumed.totalMs, 60, 'resumption skips the 12 ms certificate verification');
  const tls12 = handshakeCost(deviceProfile('esp32'), 'tls12-full', 2, 50);
  assert.equal(tls12.totalMs, 122);
});

test('a profile without the figures for a calculation says which profiles have them', () => {
  assert.throws(() => readingBudget(deviceProfile('esp32')), /profile "esp32" has no e3EncryptMicrojoules .*profiles with it: nrf52840/);
  assert.throws(() => deviceProfile('arduino'), /unknown device profile "arduino"; profiles: esp32, nrf52840/);
  assert.throws(() => handshakeCost(deviceProfile('esp32'), 'tls13-full', -1, 50), /round trips must be an integer in 0\.\.10/);
});

test('the report prints the chapter figures', () => {
  const text = energyReport(deviceProfile('nrf52840')).join('\n');
  assert.match(text, /34\.1 µJ/);
  assert.match(text, /98\.2 mJ/);
  assert.match(text, /~27,130 days/);
  assert.match(energyReport(deviceProfile('esp32')).join('\n'), /tls13-full +1 RTT +72 ms +38 mJ +≈ 760 messages/);
});
