import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { deriveDeviceKeyNoble, deriveDeviceKeyNode, e3KeyInfo, rawP256PrivateKey, rawP256PublicKey } from './e3-key-derivation.ts';
import { p256KeyPair } from './e3-fixture.ts';
import type { E3Algorithm } from './e3-packet.ts';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function bothSides(algorithm: E3Algorithm, pseudonym: Uint8Array, epoch: number) {
  const cloud = p256KeyPair();
  const device = p256KeyPair();
  const noble = deriveDeviceKeyNoble({
    devicePrivateKey: rawP256PrivateKey(device.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    cloudPublicKey: rawP256PublicKey(cloud.publicKey),
    pseudonym,
    epoch,
    algorithm,
  });
  const node = deriveDeviceKeyNode({ cloudPrivateKey: cloud.privateKey, devicePublicKey: device.publicKey, pseudonym, epoch, algorithm });
  return { noble, node, cloud, device };
}

test('noble (device) and node:crypto (cloud) derive the same key for random P-256 key pairs', () => {
  for (let i = 0; i < 20; i++) {
    for (const algorithm of ['aes-128-gcm', 'chacha20-poly1305'] as const) {
      const { noble, node } = bothSides(algorithm, randomBytes(16), 19_000 + i);
      assert.equal(noble.length, algorithm === 'aes-128-gcm' ? 16 : 32);
      assert.equal(toHex(noble), toHex(node));
    }
  }
});

test('a different epoch, pseudonym or algorithm gives a different key', () => {
  const { cloud, device } = bothSides('aes-128-gcm', new Uint8Array(16), 1);
  const base = { cloudPrivateKey: cloud.privateKey, devicePublicKey: device.publicKey, pseudonym: new Uint8Array(16).fill(7), epoch: 19_675, algorithm: 'aes-128-gcm' as E3Algorithm };
  const k = toHex(deriveDeviceKeyNode(base));
  assert.notEqual(toHex(deriveDeviceKeyNode({ ...base, epoch: 19_676 })), k);
  const other = new Uint8Array(16).fill(7);
  other[15] = 8;
  assert.notEqual(toHex(deriveDeviceKeyNode({ ...base, pseudonym: other })), k);
  // ChaCha's 32-byte key must not start with the AES key: the algorithm is bound in info.
  assert.notEqual(toHex(deriveDeviceKeyNode({ ...base, algorithm: 'chacha20-poly1305' })).slice(0, 32), k);
  // ...and another device's key pair gives another key for the same pseudonym and epoch.
  assert.notEqual(toHex(deriveDeviceKeyNode({ ...base, devicePublicKey: p256KeyPair().publicKey })), k);
});

test('HKDF info binds "e3/v1", the algorithm, the pseudonym and the epoch (u32 big-endian)', () => {
  const pseudonym = new Uint8Array(16).fill(0xab);
  const info = e3KeyInfo('aes-128-gcm', pseudonym, 0x01020304);
  assert.equal(Buffer.from(info.subarray(0, 5)).toString(), 'e3/v1');
  assert.equal(info[5], 'aes-128-gcm'.length);
  assert.equal(Buffer.from(info.subarray(6, 17)).toString(), 'aes-128-gcm');
  assert.deepEqual([...info.subarray(17, 33)], [...pseudonym]);
  assert.equal(toHex(info.subarray(33)), '01020304');
  assert.throws(() => e3KeyInfo('aes-128-gcm', pseudonym, -1), /e3-keys: epoch/);
  assert.throws(() => e3KeyInfo('aes-128-gcm', new Uint8Array(15), 1), /pseudonym must be 16 bytes/);
});

test('rawP256PrivateKey reads PKCS#8 and SEC1 PEM into the scalar noble uses', () => {
  const { privateKey, publicKey } = p256KeyPair();
  const fromPkcs8 = rawP256PrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const fromSec1 = rawP256PrivateKey(privateKey.export({ type: 'sec1', format: 'pem' }) as string);
  assert.equal(fromPkcs8.length, 32);
  assert.equal(toHex(fromSec1), toHex(fromPkcs8));
  // The scalar really is that key: noble computes the same public point as OpenSSL.
  assert.equal(toHex(p256.getPublicKey(fromPkcs8, false)), toHex(rawP256PublicKey(publicKey)));
});

test('rawP256PublicKey accepts SPKI PEM, a KeyObject (public or private) and gives 0x04 ‖ x ‖ y', () => {
  const { privateKey, publicKey } = p256KeyPair();
  const fromKey = rawP256PublicKey(publicKey);
  assert.equal(fromKey.length, 65);
  assert.equal(fromKey[0], 0x04);
  assert.equal(toHex(rawP256PublicKey(publicKey.export({ type: 'spki', format: 'pem' }))), toHex(fromKey));
  assert.equal(toHex(rawP256PublicKey(privateKey)), toHex(fromKey));
  assert.equal(toHex(rawP256PublicKey(createPublicKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }))))), toHex(fromKey));
});

test('rawP256PublicKey reads the key of an X.509 certificate PEM (the wearable\'s certificate)', () => {
  const { privateKey, publicKey } = p256KeyPair();
  // An independent issuer: the openssl CLI self-signs a certificate for the generated key.
  const dir = mkdtempSync(join(tmpdir(), 'e3-cert-'));
  try {
    const keyFile = join(dir, 'device.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const pem = execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=wearable-001 DO NOT TRUST - TESTING ONLY', '-days', '1'], { encoding: 'utf8' });
    assert.match(pem, /-----BEGIN CERTIFICATE-----/);
    assert.equal(toHex(rawP256PublicKey(pem)), toHex(rawP256PublicKey(publicKey)));
    assert.equal(toHex(rawP256PublicKey(Buffer.from(pem))), toHex(rawP256PublicKey(publicKey)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keys that are not P-256 are refused with an e3-keys error', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => rawP256PrivateKey(p384.privateKey.export({ type: 'pkcs8', format: 'pem' })), /e3-keys: .*P-256.*secp384r1/);
  assert.throws(() => rawP256PublicKey(rsa.publicKey), /e3-keys: .*P-256/);
  assert.throws(() => rawP256PrivateKey('not a pem'), /e3-keys: cannot read the private key PEM/);
  assert.throws(
    () => deriveDeviceKeyNode({ cloudPrivateKey: p384.privateKey, devicePublicKey: p256KeyPair().publicKey, pseudonym: new Uint8Array(16), epoch: 1, algorithm: 'aes-128-gcm' }),
    /e3-keys: cloud private key must be an EC P-256/,
  );
  assert.throws(
    () => deriveDeviceKeyNoble({ devicePrivateKey: new Uint8Array(31), cloudPublicKey: new Uint8Array(65), pseudonym: new Uint8Array(16), epoch: 1, algorithm: 'aes-128-gcm' }),
    /e3-keys: device private key must be a 32-byte P-256 scalar/,
  );
});
