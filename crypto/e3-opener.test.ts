import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FIXTURE_START_SEC, makeE3Fixture, p256KeyPair, SAMPLE_READING, sampleReadingBytes } from './e3-fixture.ts';
import { rawP256PrivateKey, rawP256PublicKey } from './e3-key-derivation.ts';
import { E3Opener, type E3OpenResult, type E3RejectionReason } from './e3-opener.ts';
import { E3_EPOCH_SECONDS, E3_PSEUDONYM_BYTES, pseudonymHex, type E3Algorithm } from './e3-packet.ts';
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

  test(`${algorithm}: flipping any single bit is rejected: pseudonym bits → unknown pseudonym, all others → bad tag`, () => {
    const f = makeE3Fixture(algorithm);
    const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
    for (let bit = 0; bit < 96 * 8; bit++) {
      const expected = bit < E3_PSEUDONYM_BYTES * 8 ? 'unknown pseudonym' : 'bad tag';
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
    ['AAD: timestamp, other epoch', 16 * 8 + 8],
    ['ciphertext', 20 * 8 + 3],
    ['nonce: salt', 68 * 8],
    ['nonce: sequence', 79 * 8 + 7],
    ['tag', 95 * 8 + 7],
  ];
  for (const [region, bit] of regions) {
    assertRejected(f.opener.open(flipBit(packet, bit)), 'bad tag', /tag does not verify/, region);
  }
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

test('stale timestamp: outside ±maxSkew is rejected (after the tag verified), the edges are accepted', () => {
  const f = makeE3Fixture('chacha20-poly1305', { maxSkewSec: 300 });
  const now = FIXTURE_START_SEC;
  const reading = sampleReadingBytes();
  assertRejected(f.opener.open(f.sealer.seal(reading, now - 301)), 'stale timestamp', /301 s behind the cloud clock .* ±300 s/);
  assert.ok(f.opener.open(f.sealer.seal(reading, now - 300)).ok);
  assert.ok(f.opener.open(f.sealer.seal(reading, now + 300)).ok);
  assertRejected(f.opener.open(f.sealer.seal(reading, now + 301)), 'stale timestamp', /301 s ahead of/);
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
