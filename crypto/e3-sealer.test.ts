import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveDeviceKeyNode, rawP256PublicKey } from './e3-key-derivation.ts';
import { FIXTURE_START_SEC, makeE3Fixture, SAMPLE_READING, sampleReadingBytes } from './e3-fixture.ts';
import { openE3Node } from './e3-node-aead.ts';
import { E3_EPOCH_SECONDS, E3_MAX_SEQUENCE, E3_NONCE_OFFSET, E3_PACKET_BYTES, epochOf, parseE3Header, pseudonymHex, type E3Algorithm } from './e3-packet.ts';
import { decodeReading } from './e3-reading.ts';
import { E3Sealer, openE3Noble, sealE3, sealE3Node } from './e3-sealer.ts';

const ALGORITHMS: E3Algorithm[] = ['aes-128-gcm', 'chacha20-poly1305'];
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function randomHeader(sequence = 7n) {
  return { pseudonym: new Uint8Array(randomBytes(16)), timestamp: FIXTURE_START_SEC, salt: new Uint8Array(randomBytes(4)), sequence };
}

for (const algorithm of ALGORITHMS) {
  test(`${algorithm}: E3Sealer (noble) → node:crypto opens it, header fields where the layout says`, () => {
    const f = makeE3Fixture(algorithm);
    const packet = f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
    assert.equal(packet.length, E3_PACKET_BYTES);
    const header = parseE3Header(packet);
    assert.equal(pseudonymHex(header.pseudonym), pseudonymHex(f.record.pseudonym));
    assert.equal(header.timestamp, FIXTURE_START_SEC);
    assert.equal(header.sequence, 0n);
    const key = deriveDeviceKeyNode({ cloudPrivateKey: f.cloud.privateKey, devicePublicKey: f.device.publicKey, pseudonym: f.record.pseudonym, epoch: epochOf(FIXTURE_START_SEC), algorithm });
    const reading = openE3Node(key, algorithm, packet);
    assert.ok(reading, 'node:crypto must verify the noble tag');
    assert.deepEqual(decodeReading(reading), SAMPLE_READING);
    // The reading is not in clear anywhere in the packet.
    assert.ok(!Buffer.from(packet).includes(Buffer.from(sampleReadingBytes().subarray(0, 16))));
  });

  test(`${algorithm}: sealE3Node (node:crypto) → openE3Noble opens it, and both seal identical bytes`, () => {
    const key = new Uint8Array(randomBytes(algorithm === 'aes-128-gcm' ? 16 : 32));
    const header = randomHeader();
    const fromNode = sealE3Node(key, algorithm, header, sampleReadingBytes());
    assert.deepEqual(decodeReading(openE3Noble(key, algorithm, fromNode)), SAMPLE_READING);
    assert.equal(toHex(sealE3(key, algorithm, header, sampleReadingBytes())), toHex(fromNode));
    fromNode[30] = (fromNode[30] as number) ^ 0x80;
    assert.throws(() => openE3Noble(key, algorithm, fromNode), /e3: bad tag/);
  });
}

test('sealE3 validates its inputs with e3 errors', () => {
  const key = new Uint8Array(16);
  assert.throws(() => sealE3(new Uint8Array(32), 'aes-128-gcm', randomHeader(), sampleReadingBytes()), /e3: aes-128-gcm key must be 16 bytes, got 32/);
  assert.throws(() => sealE3(key, 'aes-256-gcm' as E3Algorithm, randomHeader(), sampleReadingBytes()), /e3: unknown algorithm "aes-256-gcm"/);
  assert.throws(() => sealE3(key, 'aes-128-gcm', randomHeader(), new Uint8Array(47)), /e3: reading must be 48 bytes, got 47/);
  assert.throws(() => sealE3(key, 'aes-128-gcm', { ...randomHeader(), salt: new Uint8Array(3) }, sampleReadingBytes()), /e3: salt must be 4 bytes/);
  assert.throws(() => sealE3(key, 'aes-128-gcm', { ...randomHeader(), timestamp: 2 ** 32 }, sampleReadingBytes()), /e3: timestamp must be whole seconds/);
  assert.throws(() => sealE3(key, 'aes-128-gcm', randomHeader(1n << 64n), sampleReadingBytes()), /e3: sequence must be a bigint in 0\.\.2\^64-1/);
});

test('the sequence is used, then incremented; 10,000 seals never repeat a nonce', () => {
  const f = makeE3Fixture('aes-128-gcm');
  const reading = sampleReadingBytes();
  const nonces = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    // Cross a key epoch half-way, to show the sequence is not reset by rotation.
    const ts = FIXTURE_START_SEC + (i < 5_000 ? 0 : E3_EPOCH_SECONDS);
    const packet = f.sealer.seal(reading, ts);
    assert.equal(parseE3Header(packet).sequence, BigInt(i));
    nonces.add(toHex(packet.subarray(E3_NONCE_OFFSET, E3_NONCE_OFFSET + 12)));
  }
  assert.equal(nonces.size, 10_000);
  assert.equal(f.sealer.nextSequence, 10_000n);
});

test('the sealer refuses to seal once the 64-bit sequence is exhausted, without consuming it', () => {
  const f = makeE3Fixture('chacha20-poly1305');
  const sealer = new E3Sealer({
    pseudonym: f.record.pseudonym,
    devicePrivateKey: new Uint8Array(32).fill(1),
    cloudPublicKey: rawP256PublicKey(f.cloud.publicKey),
    algorithm: 'chacha20-poly1305',
    salt: new Uint8Array(4),
    nextSequence: E3_MAX_SEQUENCE - 1n,
  });
  const last = sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
  assert.equal(parseE3Header(last).sequence, E3_MAX_SEQUENCE - 1n);
  assert.throws(() => sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC), /e3-sealer: sequence space exhausted/);
  assert.equal(sealer.nextSequence, E3_MAX_SEQUENCE);
});

test('the sealer refuses a timestamp from an older key epoch, but allows going back within the epoch', () => {
  const f = makeE3Fixture('aes-128-gcm');
  const reading = sampleReadingBytes();
  f.sealer.seal(reading, FIXTURE_START_SEC);
  f.sealer.seal(reading, FIXTURE_START_SEC - 60); // same epoch, small clock correction
  f.sealer.seal(reading, FIXTURE_START_SEC + E3_EPOCH_SECONDS); // rotate
  assert.throws(() => f.sealer.seal(reading, FIXTURE_START_SEC), /e3-sealer: timestamp 1700000000 is in key epoch 19675, older than epoch 19676/);
  assert.equal(f.sealer.nextSequence, 3n, 'a refused seal consumes no sequence');
});

test('after rotation the sealer uses the new epoch key: the cloud key for that epoch opens it', () => {
  const f = makeE3Fixture('aes-128-gcm');
  const ts = FIXTURE_START_SEC + 3 * E3_EPOCH_SECONDS;
  f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC);
  const packet = f.sealer.seal(sampleReadingBytes(), ts);
  const args = { cloudPrivateKey: f.cloud.privateKey, devicePublicKey: f.device.publicKey, pseudonym: f.record.pseudonym, algorithm: 'aes-128-gcm' as const };
  assert.ok(openE3Node(deriveDeviceKeyNode({ ...args, epoch: epochOf(ts) }), 'aes-128-gcm', packet));
  assert.equal(openE3Node(deriveDeviceKeyNode({ ...args, epoch: epochOf(FIXTURE_START_SEC) }), 'aes-128-gcm', packet), undefined);
});

test('the constructor refuses malformed options, and a destroyed sealer refuses to seal', () => {
  const f = makeE3Fixture();
  const good = { pseudonym: f.record.pseudonym, devicePrivateKey: new Uint8Array(32).fill(1), cloudPublicKey: new Uint8Array(65), algorithm: 'aes-128-gcm' as const, salt: new Uint8Array(4), nextSequence: 0n };
  assert.throws(() => new E3Sealer({ ...good, pseudonym: new Uint8Array(8) }), /e3: pseudonym must be 16 bytes, got 8/);
  assert.throws(() => new E3Sealer({ ...good, salt: new Uint8Array(12) }), /e3: salt must be 4 bytes/);
  assert.throws(() => new E3Sealer({ ...good, devicePrivateKey: new Uint8Array(33) }), /e3: device private key/);
  assert.throws(() => new E3Sealer({ ...good, nextSequence: -1n }), /e3: sequence/);
  f.sealer.destroy();
  assert.throws(() => f.sealer.seal(sampleReadingBytes(), FIXTURE_START_SEC), /e3-sealer: this sealer was destroyed/);
});
