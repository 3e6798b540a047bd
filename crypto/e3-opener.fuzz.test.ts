// Fuzz: the cloud opener gets 100,000 random and mutated packets and must never throw, must
// classify each with one of the five reasons, and must keep accepting genuine packets
// interleaved among them. A seeded PRNG makes any failure reproducible: the message names the
// iteration and seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE_START_SEC, makeE3Fixture, sampleReadingBytes } from './e3-fixture.ts';
import { E3_REJECTION_REASONS, type E3OpenResult, type E3RejectionReason } from './e3-opener.ts';
import { E3_PACKET_BYTES, E3_PSEUDONYM_BYTES, E3_TIMESTAMP_OFFSET } from './e3-packet.ts';

const SEED = 0x5eed_e3;
const ITERATIONS = 100_000;
const GENUINE_EVERY = 1_000;

/** mulberry32: a tiny deterministic PRNG (not for cryptography). */
function prng(seed: number): { u32: () => number; below: (n: number) => number } {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { u32, below: (n) => u32() % n };
}

type Rng = ReturnType<typeof prng>;

function randomBytesFrom(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.u32() & 0xff;
  return out;
}

interface Mutant {
  kind: string;
  packet: Uint8Array;
  /** The reasons this kind of input may legitimately get. */
  allowed: readonly E3RejectionReason[];
}

function mutate(rng: Rng, pool: Uint8Array[], accepted: Uint8Array[], pseudonym: Uint8Array): Mutant {
  const base = pool[rng.below(pool.length)] as Uint8Array;
  switch (rng.below(6)) {
    case 0: {
      let length = rng.below(201);
      if (length === E3_PACKET_BYTES) length += 1;
      return { kind: 'random length', packet: randomBytesFrom(rng, length), allowed: ['length'] };
    }
    case 1:
      return { kind: 'random 96 bytes', packet: randomBytesFrom(rng, E3_PACKET_BYTES), allowed: ['unknown pseudonym'] };
    case 2: {
      const packet = base.slice();
      // 1..8 distinct bits, so the mutant always differs from the genuine packet.
      const bits = new Set<number>();
      const flips = 1 + rng.below(8);
      while (bits.size < flips) bits.add(rng.below(E3_PACKET_BYTES * 8));
      for (const bit of bits) packet[bit >> 3] = (packet[bit >> 3] as number) ^ (1 << (bit & 7));
      // A flipped timestamp bit of weight > maxSkew is refused as stale, before any key is derived.
      return { kind: 'bit flips', packet, allowed: ['unknown pseudonym', 'stale timestamp', 'bad tag'] };
    }
    case 3: {
      const cut = rng.below(E3_PACKET_BYTES);
      const packet = rng.below(2) === 0 ? base.slice(0, cut) : new Uint8Array([...base, ...randomBytesFrom(rng, 1 + rng.below(100))]);
      return { kind: 'truncation/extension', packet, allowed: ['length'] };
    }
    case 4: {
      const packet = randomBytesFrom(rng, E3_PACKET_BYTES);
      packet.set(pseudonym, 0);
      // Half keep their random timestamp (almost always outside the window: refused before any
      // key is derived); half get one inside it, so the AEAD path is fuzzed too.
      if (rng.below(2) === 0) return { kind: 'valid pseudonym, random rest', packet, allowed: ['stale timestamp', 'bad tag'] };
      new DataView(packet.buffer).setUint32(E3_TIMESTAMP_OFFSET, FIXTURE_START_SEC - 300 + rng.below(601));
      return { kind: 'valid pseudonym and timestamp, random rest', packet, allowed: ['bad tag'] };
    }
    default: {
      const packet = (accepted[rng.below(accepted.length)] as Uint8Array).slice();
      return { kind: 'replayed genuine packet', packet, allowed: ['replay'] };
    }
  }
}

test(`E3Opener survives ${ITERATIONS.toLocaleString('en')} fuzzed packets (seed 0x${SEED.toString(16)}) and keeps accepting genuine ones`, () => {
  const f = makeE3Fixture('aes-128-gcm');
  const reading = sampleReadingBytes();
  const rng = prng(SEED);
  const pool = Array.from({ length: 64 }, () => f.sealer.seal(reading, FIXTURE_START_SEC));
  const accepted = [pool[pool.length - 1] as Uint8Array];
  assert.ok(f.opener.open(accepted[0] as Uint8Array).ok);
  const counts = new Map<string, number>();
  let genuine = 0;

  for (let i = 1; i <= ITERATIONS; i++) {
    if (i % GENUINE_EVERY === 0) {
      const packet = f.sealer.seal(reading, FIXTURE_START_SEC);
      const result = f.opener.open(packet);
      assert.ok(result.ok, `iteration ${i}: genuine packet refused: ${result.ok ? '' : result.detail}`);
      accepted.push(packet);
      genuine++;
      continue;
    }
    const m = mutate(rng, pool, accepted, f.record.pseudonym.subarray(0, E3_PSEUDONYM_BYTES));
    let result: E3OpenResult;
    try {
      result = f.opener.open(m.packet);
    } catch (err) {
      assert.fail(`iteration ${i} (${m.kind}, seed 0x${SEED.toString(16)}): open() threw ${(err as Error).message}`);
    }
    assert.equal(result.ok, false, `iteration ${i} (${m.kind}): a mutated packet was accepted`);
    if (result.ok) continue;
    assert.ok(E3_REJECTION_REASONS.includes(result.reason), `iteration ${i}: unclassified reason ${String(result.reason)}`);
    assert.ok(m.allowed.includes(result.reason), `iteration ${i} (${m.kind}): got '${result.reason}' (${result.detail}), expected one of ${m.allowed.join(', ')}`);
    assert.ok(typeof result.detail === 'string' && result.detail.length > 0);
    counts.set(result.reason, (counts.get(result.reason) ?? 0) + 1);
  }

  assert.equal(genuine, ITERATIONS / GENUINE_EVERY);
  // Every category was exercised: the fuzzer is not silently producing only one kind of junk.
  for (const reason of ['length', 'unknown pseudonym', 'stale timestamp', 'bad tag', 'replay'] as const) {
    assert.ok((counts.get(reason) ?? 0) > 1_000, `too few '${reason}' rejections: ${counts.get(reason)}`);
  }
});
