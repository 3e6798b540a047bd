import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayWindow } from './replay-window.ts';

test('sequences above the highest are fresh; an accepted one is then a replay', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(0n), 'fresh');
  w.accept(0n);
  assert.equal(w.check(0n), 'replay');
  assert.equal(w.check(1n), 'fresh');
  w.accept(5n);
  assert.equal(w.highest, 5n);
  assert.equal(w.check(5n), 'replay');
});

test('out-of-order sequences inside the window are accepted once (RFC 4303 §3.4.3)', () => {
  const w = new ReplayWindow(64);
  w.accept(100n);
  for (const s of [99n, 37n, 50n]) {
    assert.equal(w.check(s), 'fresh', `seq ${s}`);
    w.accept(s);
    assert.equal(w.check(s), 'replay', `seq ${s}`);
  }
  assert.equal(w.check(98n), 'fresh');
});

test('a sequence more than size below the highest is too old', () => {
  const w = new ReplayWindow(64);
  w.accept(100n);
  assert.equal(w.check(37n), 'fresh'); // 100 - 63: still inside
  assert.equal(w.check(36n), 'too-old'); // 100 - 64: outside
  assert.equal(w.check(0n), 'too-old');
});

test('sliding forward forgets old bits: a slot reused modulo size is fresh again', () => {
  const w = new ReplayWindow(8);
  for (let s = 0n; s < 8n; s++) w.accept(s);
  w.accept(10n); // window now 3..10; 8 and 9 were skipped and must read fresh
  assert.equal(w.check(8n), 'fresh');
  assert.equal(w.check(9n), 'fresh');
  assert.equal(w.check(3n), 'replay');
  assert.equal(w.check(2n), 'too-old');
  w.accept(1_000n); // jump beyond the window clears everything
  assert.equal(w.check(999n), 'fresh');
  assert.equal(w.check(992n), 'too-old');
});

test('accept refuses a sequence that is not fresh, and sizes and ranges are validated', () => {
  const w = new ReplayWindow(16);
  w.accept(3n);
  assert.throws(() => w.accept(3n), /replay-window: sequence 3 is replay/);
  assert.throws(() => new ReplayWindow(0), /replay-window: size/);
  assert.throws(() => w.check(-1n), /replay-window: sequence must be a bigint in 0\.\.2\^64-1/);
  assert.throws(() => w.check(1n << 64n), /replay-window/);
  w.accept((1n << 64n) - 1n);
  assert.equal(w.check((1n << 64n) - 1n), 'replay');
});

for (const size of [64, 50, 1]) {
  test(`a window of ${size} matches a brute-force model over a random walk`, () => {
    let state = 12345 + size;
    const rand = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) % n);
    const w = new ReplayWindow(size);
    const seen = new Set<bigint>();
    let highest = -1n;
    for (let i = 0; i < 5_000; i++) {
      // Mostly small steps around the top, sometimes a jump well past the window.
      const jump = rand(50) === 0 ? 200 : 0;
      const s = BigInt(Math.max(0, Number(highest) + jump + rand(2 * size + 16) - size - 8));
      const expected = highest >= 0n && highest - s >= BigInt(size) ? 'too-old' : seen.has(s) ? 'replay' : 'fresh';
      assert.equal(w.check(s), expected, `step ${i} seq ${s}`);
      if (expected === 'fresh') {
        w.accept(s);
        seen.add(s);
        if (s > highest) highest = s;
      }
    }
  });
}
