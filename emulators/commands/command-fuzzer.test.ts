/** The secure handler under 100,000 seeded random and mutated commands (counts, not time). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSecureHandler } from './command-fuzzer.ts';

test('100,000 fuzzed commands: none throws, every one classified, every interleaved valid command executed, no out-of-range set point applied', () => {
  const report = fuzzSecureHandler({ seed: 13, commands: 100_000 });
  const classified = Object.values(report.classes).reduce((a, b) => a + b, 0);
  assert.equal(classified, 100_000);
  assert.equal(report.classes.threw, 0, JSON.stringify(report.failures));
  assert.equal(report.validSent, 10_000);
  assert.equal(report.validExecuted, 10_000, JSON.stringify(report.failures));
  assert.deepEqual(report.outOfRangeApplied, []);
  // The fuzzer reaches every refusal class (a generator that only made JSON errors would not).
  for (const reason of ['malformed', 'not allowed', 'type', 'range'] as const) assert.ok(report.classes[reason] > 100, `${reason}: ${report.classes[reason]}`);
  assert.equal(report.classes['rate limit'], 0, 'the clock advances past the rate limit; it has its own test');
});

test('the same seed gives the same classes (a failure is reproducible by seed and index)', () => {
  assert.deepEqual(fuzzSecureHandler({ seed: 7, commands: 2_000 }).classes, fuzzSecureHandler({ seed: 7, commands: 2_000 }).classes);
});

test('bad fuzzer parameters are refused with what to change', () => {
  assert.throws(() => fuzzSecureHandler({ seed: 1, commands: 0 }), /commands must be 1\.\.10000000, got 0/);
  assert.throws(() => fuzzSecureHandler({ seed: 1, commands: 10, validEvery: 1 }), /validEvery must be a whole number ≥ 2/);
});
