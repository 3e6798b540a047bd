import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FIXTURE_START_SEC, makeE3Fixture, p256KeyPair, SAMPLE_READING, sampleReadingBytes } from './e3-fixture.ts';
import { rawP256PrivateKey, rawP256PublicKey } from './e3-key-derivation.ts';
import { E3Opener, type E3OpenResult, type E3RejectionReason } from './e3-opener.ts';
import { E3_EPOCH_SECONDS, E3_PSEUDONYM_BYTES, E3_TIMESTAMP_OFFSET, pseudonymHex, type E3Algorithm } from './e3-packet.ts';
import { decodeReading } from './e3-reading.ts';
import { E3Sealer } from './e3-sealer.ts';

const ALGORITHMS: E3Algorithm[] = ['aes-128-gcm', 'chacha20-poly1305'];

function assertRejected(result: E3OpenResult, reason: E3RejectionReason, detail?: RegExp, what = ''): void {
  assert.equal(result.ok, false, `${what}: expected a '${reason}' rejection, got ok`);
  if (result.ok) return;
  assert.equal(result.reason, reason, `${what}: ${result.detail}`);
  if (detail) assert.match(result.detail, detail);
}

function flipBit(packet: Uint8Array, bit: number): Uint8Array {
  const copy = packet.slice();
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (0x80 >> (bit & 7));
  return copy;
}

/** A second device whose sealer shares the fixture's cloud key. */
function secondDevice(f: ReturnType<typeof makeE3Fixture>, pseudonym: Uint8Array, register = true, nextSequence = 0n) {
  const device = p256KeyPair();
  if (register) f.registry.set(pseudonymHex(pseudonym), { deviceId: 'wearable-002', pseudonym, publicKey: device.publicKey, algorithm: f.algorithm });
  return new E3Sealer({
    pseudonym,
    devicePrivateKey: rawP256PrivateKey(device.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    cloudPublicKey: rawP256PublicKey(f.cloud.publicKey),
    algorithm: f.algorithm,
    salt: new Uint8Array(4),
    nextSequence,
  });
}

for (const algorithm of ALGORITHMS) {
  test(`${algorithm}: a sealed packet is accepted with device, pseudonym, timestamp, sequence and reading`, () => {
    const f = makeE3Fixture(algorithm);
    const result = f.opener.open(f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC));
    assert.ok(result.ok, result.ok ? '' : result.detail);
    assert.equal(result.deviceId, 'wearable-001');
    assert.equal(result.pseudonym, pseudonymHex(f.record.pseudonym));
    assert.equal(result.timestamp, FIXTURE_START_SEC);
    assert.equal(result.sequence, 0n);
    assert.deepEqual(decodeReading(result.reading), SAMPLE_READING);
  });

  test(`${algorithm}: flipping any single bit is rejected: pseudonym bits → unknown pseudonym, timestamp bits of weight over the skew → stale timestamp, all others → bad tag`, () => {
    const f = makeE3Fixture(algorithm, { maxSkewSec: 300 });
    const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
    const timestampBits = [E3_TIMESTAMP_OFFSET * 8, (E3_TIMESTAMP_OFFSET + 4) * 8];
    for (let bit = 0; bit < 96 * 8; bit++) {
      // Bits are numbered from the most significant of byte 0; the timestamp is a big-endian u32.
      const weight = bit >= timestampBits[0]! && bit < timestampBits[1]! ? 2 ** (timestampBits[1]! - 1 - bit) : 0;
      const expected = bit < E3_PSEUDONYM_BYTES * 8 ? 'unknown pseudonym' : weight > 300 ? 'stale timestamp' : 'bad tag';
      assertRejected(f.opener.open(flipBit(packet, bit)), expected, undefined, `bit ${bit}`);
    }
    // The untouched packet is still accepted: none of the forgeries moved the replay window.
    assert.ok(f.opener.open(packet).ok);
  });
}

test('bad tag in each region, by name: AAD (pseudonym of another device, timestamp same and other epoch), ciphertext, nonce, tag', () => {
  const f = makeE3Fixture();
  const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
  // A registered pseudonym one bit away: lookup succeeds, the AAD no longer matches.
  const neighbour = flipBit(packet, 127).subarray(0, 16).slice();
  secondDevice(f, neighbour);
  const regions: [string, number][] = [
    ['AAD: pseudonym', 127],
    ['AAD: timestamp, same epoch', 16 * 8 + 31],
    ['ciphertext', 20 * 8 + 3],
    ['nonce: salt', 68 * 8],
    ['nonce: sequence', 79 * 8 + 7],
    ['tag', 95 * 8 + 7],
  ];
  for (const [region, bit] of regions) {
    assertRejected(f.opener.open(flipBit(packet, bit)), 'bad tag', /tag does not verify/, region);
  }
  // AAD: a timestamp moved across an epoch boundary, still inside the skew window, selects the
  // next epoch's key and fails there.
  const boundary = (Math.floor(FIXTURE_START_SEC / E3_EPOCH_SECONDS) + 1) * E3_EPOCH_SECONDS;
  f.clock.now = boundary;
  const lastOfEpoch = f.sealer.seal(sampleReadingBytes(), boundary - 1);
  new DataView(lastOfEpoch.buffer).setUint32(E3_TIMESTAMP_OFFSET, boundary + 1);
  assertRejected(f.opener.open(lastOfEpoch), 'bad tag', new RegExp(`key epoch ${boundary / E3_EPOCH_SECONDS}\\)`), 'AAD: timestamp, other epoch');
});

test('length: 95, 97 and 0 bytes, and values that are not bytes at all', () => {
  const f = makeE3Fixture();
  const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
  assertRejected(f.opener.open(packet.subarray(0, 95)), 'length', /96 bytes, got 95/);
  assertRejected(f.opener.open(new Uint8Array([...packet, 0])), 'length', /96 bytes, got 97/);
  assertRejected(f.opener.open(new Uint8Array(0)), 'length', /got 0/);
  for (const junk of [null, undefined, 'x'.repeat(96), 96, { length: 96 }, [...packet]]) {
    assertRejected(f.opener.open(junk as unknown as Uint8Array), 'length', /expected a 96-byte Uint8Array/);
  }
});

test('unknown pseudonym: a device not in the registry, and a registry lookup that throws', () => {
  const f = makeE3Fixture();
  const stranger = secondDevice(f, new Uint8Array(randomBytes(16)), false);
  const result = f.opener.open(stranger.seal(sampleReadingBytes(), FIXTURE_START_SEC));
  assertRejected(result, 'unknown pseudonym', /no device is registered under pseudonym [0-9a-f]{32}/);
  const broken = new E3Opener({
    cloudPrivateKey: f.cloud.privateKey,
    lookup: () => {
      throw new Error('registry offline');
    },
    nowSec: () => FIXTURE_START_SEC,
  });
  assertRejected(broken.open(f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC)), 'unknown pseudonym', /registry offline/);
});

test('replay: the same packet twice is a duplicate; a sequence below the window is too old', () => {
  const f = makeE3Fixture('aes-128-gcm', { replayWindowSize: 64 });
  const reading = sampleReadingBytes();
  const first = f.sealer.seal(reading, FIXTURE_START_SEC);
  assert.ok(f.opener.open(first).ok);
  assertRejected(f.opener.open(first), 'replay', /sequence 0 was already accepted .*duplicate/);
  const heldBack = f.sealer.seal(reading, FIXTURE_START_SEC); // sequence 1, delivered late
  let last: Uint8Array = heldBack;
  for (let i = 0; i < 64; i++) last = f.sealer.seal(reading, FIXTURE_START_SEC); // sequences 2..65
  const inWindow = f.sealer.seal(reading, FIXTURE_START_SEC); // 66, delivered out of order
  assert.ok(f.opener.open(last).ok); // highest = 65; window covers 2..65
  assertRejected(f.opener.open(heldBack), 'replay', /sequence 1 is too old: more than 64 below the highest accepted \(65\)/);
  assert.ok(f.opener.open(inWindow).ok, 'a reordered packet inside the window is accepted');
});

test('stale timestamp: outside ±maxSkew is rejected, the edges are accepted', () => {
  const f = makeE3Fixture('chacha20-poly1305', { maxSkewSec: 300 });
  const now = FIXTURE_START_SEC;
  const reading = sampleReadingBytes();
  assertRejected(f.opener.open(f.sealer.seal(reading, now - 301)), 'stale timestamp', /301 s behind the cloud clock .* ±300 s/);
  assert.ok(f.opener.open(f.sealer.seal(reading, now - 300)).ok);
  assert.ok(f.opener.open(f.sealer.seal(reading, now + 300)).ok);
  assertRejected(f.opener.open(f.sealer.seal(reading, now + 301)), 'stale timestamp', /301 s ahead of/);
});

test('a timestamp outside the window is refused before any key is derived, whatever epoch it names (§17.6)', () => {
  const derived: number[] = [];
  const f = makeE3Fixture('aes-128-gcm', { maxSkewSec: 300, onKeyDerived: ({ epoch }) => derived.push(epoch) });
  const reading = sampleReadingBytes();
  // The sealer never goes back to an older epoch, so the past day's packet is sealed first.
  const lastWeek = f.sealer.seal(reading, FIXTURE_START_SEC - 10 * E3_EPOCH_SECONDS);
  const genuine = f.sealer.seal(reading, FIXTURE_START_SEC);
  assert.ok(f.opener.open(genuine).ok);
  const today = Math.floor(FIXTURE_START_SEC / E3_EPOCH_SECONDS);
  assert.deepEqual(derived, [today]);
  // An attacker rewrites the timestamp of a genuine packet to name 1,000 other epochs, past and
  // future, and the extremes of the u32: every one is stale, and not one key is derived for it.
  const forged = genuine.slice();
  const view = new DataView(forged.buffer);
  for (let k = 1; k <= 500; k++) {
    for (const epoch of [today + k, today - k]) {
      view.setUint32(E3_TIMESTAMP_OFFSET, epoch * E3_EPOCH_SECONDS + 12_345);
      assertRejected(f.opener.open(forged), 'stale timestamp', /checked before the tag, so no key is derived/, `epoch ${epoch}`);
    }
  }
  for (const timestamp of [0, 0xffff_ffff, FIXTURE_START_SEC - 301, FIXTURE_START_SEC + 301]) {
    view.setUint32(E3_TIMESTAMP_OFFSET, timestamp);
    assertRejected(f.opener.open(forged), 'stale timestamp', undefined, `timestamp ${timestamp}`);
  }
  // Authentic packets sealed for other days are refused the same way, also without a derivation.
  assertRejected(f.opener.open(f.sealer.seal(reading, FIXTURE_START_SEC + 10 * E3_EPOCH_SECONDS)), 'stale timestamp', /ahead of/);
  assertRejected(f.opener.open(lastWeek), 'stale timestamp', /behind/);
  assert.deepEqual(derived, [today], 'no key derived for an out-of-window epoch');
  // Inside the window a forged timestamp still reaches the tag (and today's cached key).
  view.setUint32(E3_TIMESTAMP_OFFSET, FIXTURE_START_SEC + 200);
  assertRejected(f.opener.open(forged), 'bad tag');
  assert.deepEqual(derived, [today]);
});

test('the per-device key cache holds at most keysPerDevice epochs: the least recently derived is dropped and re-derived on demand', () => {
  const derived: number[] = [];
  // A ±3-day window lets seven epochs in; the cache keeps two.
  const f = makeE3Fixture('aes-128-gcm', { maxSkewSec: 3 * E3_EPOCH_SECONDS, keysPerDevice: 2, onKeyDerived: ({ epoch }) => derived.push(epoch) });
  const reading = sampleReadingBytes();
  // Two packets per day, sealed in day order (the sealer never goes back to an older epoch).
  const [yesterday, today1, tomorrow] = [-1, 0, 1].map((d) => [0, 1].map(() => f.sealer.seal(reading, FIXTURE_START_SEC + d * E3_EPOCH_SECONDS))) as Uint8Array[][];
  for (const p of [yesterday![0]!, today1![0]!, tomorrow![0]!]) assert.ok(f.opener.open(p).ok);
  const today = Math.floor(FIXTURE_START_SEC / E3_EPOCH_SECONDS);
  assert.deepEqual(derived, [today - 1, today, today + 1]);
  assert.ok(f.opener.open(tomorrow![1]!).ok, 'tomorrow: cached');
  assert.ok(f.opener.open(today1![1]!).ok, 'today: cached');
  assert.ok(f.opener.open(yesterday![1]!).ok, 'yesterday: evicted, derived again');
  assert.deepEqual(derived, [today - 1, today, today + 1, today - 1]);
});

test('rejected packets never advance the replay window (forged sequence, stale timestamp)', () => {
  const f = makeE3Fixture();
  const reading = sampleReadingBytes();
  const early = Array.from({ length: 5 }, () => f.sealer.seal(reading, FIXTURE_START_SEC));
  for (let i = 0; i < 1_000; i++) f.sealer.seal(reading, FIXTURE_START_SEC); // burn 1,000 sequences
  const stale = f.sealer.seal(reading, FIXTURE_START_SEC + 10_000); // sequence 1005, authentic but stale
  assertRejected(f.opener.open(stale), 'stale timestamp');
  const forged = early[0]!.slice();
  forged[72] = 0x7f; // sequence ~2^62: bad tag
  assertRejected(f.opener.open(forged), 'bad tag');
  for (const p of early) assert.ok(f.opener.open(p).ok, 'genuine early packets still fresh');
});

test('replay state is per pseudonym: two devices may use the same sequence numbers', () => {
  const f = makeE3Fixture();
  const other = secondDevice(f, new Uint8Array(randomBytes(16)));
  const reading = sampleReadingBytes();
  const a = f.opener.open(f.sealer.seal(reading, FIXTURE_START_SEC));
  const b = f.opener.open(other.seal(reading, FIXTURE_START_SEC));
  assert.ok(a.ok && b.ok);
  assert.equal(a.sequence, b.sequence);
  assert.equal(b.deviceId, 'wearable-002');
});

test('epoch rotation is followed, the key cache is bounded, and a re-provisioned device is re-derived', () => {
  const f = makeE3Fixture('aes-128-gcm');
  const small = new E3Opener({ cloudPrivateKey: f.cloud.privateKey, lookup: (h) => f.registry.get(h), nowSec: () => f.clock.now, keysPerDevice: 1 });
  const other = secondDevice(f, new Uint8Array(randomBytes(16)));
  const reading = sampleReadingBytes();
  for (let day = 0; day < 3; day++) {
    f.clock.now = FIXTURE_START_SEC + day * E3_EPOCH_SECONDS;
    for (let i = 0; i < 3; i++) {
      assert.ok(small.open(f.sealer.seal(reading, f.clock.now)).ok, `device 1 day ${day}`);
      assert.ok(small.open(other.seal(reading, f.clock.now)).ok, `device 2 day ${day}`);
    }
  }
  // Re-provision device 1 with a new key pair (its sequence carries on: the replay window is per
  // pseudonym): the cached old-key entry must not be used.
  const replacement = secondDevice(f, f.record.pseudonym, true, f.sealer.nextSequence + 1n);
  const oldKeyPacket = f.sealer.seal(reading, f.clock.now);
  assert.ok(small.open(replacement.seal(reading, f.clock.now)).ok);
  assertRejected(small.open(oldKeyPacket), 'bad tag');
  assert.throws(() => new E3Opener({ cloudPrivateKey: f.cloud.privateKey, lookup: () => undefined, nowSec: () => 0, keysPerDevice: 0 }), /e3-opener: keysPerDevice/);
});

test('a device record with an unusable key is reported against the pseudonym, not thrown', () => {
  const f = makeE3Fixture();
  const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
  f.record.publicKey = f.cloud.privateKey; // a private key where a public one belongs
  assertRejected(f.opener.open(packet), 'unknown pseudonym', /device record wearable-001 .* is unusable: e3-keys/);
});
