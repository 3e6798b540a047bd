import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { E3Opener } from '../crypto/e3-opener.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { deviceSealer, deviceVitals } from './device-sealer.ts';
import { provisionDevice } from './provisioning.ts';

test('the device sealer seals what the cloud (node:crypto) opens, from sequence 1 or the one given', () => {
  const device = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cloud = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const provisioning = provisionDevice('wearable-0001', 1);
  const config = {
    provisioning,
    deviceKeyPem: device.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cloudE3PublicKeyPem: cloud.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
  const now = 1_700_000_000;
  const opener = new E3Opener({
    cloudPrivateKey: cloud.privateKey,
    lookup: (hex) => (hex === provisioning.pseudonymHex ? { deviceId: provisioning.deviceId, pseudonym: Buffer.from(hex, 'hex'), publicKey: device.publicKey, algorithm: provisioning.algorithm } : undefined),
    nowSec: () => now,
  });
  const plaintext = encodeReading(deviceVitals(provisioning).next());
  const first = opener.open(deviceSealer(config).seal(plaintext, now));
  assert.ok(first.ok, first.ok ? '' : first.detail);
  assert.equal(first.sequence, 1n);
  assert.deepEqual(Buffer.from(first.reading), Buffer.from(plaintext));
  const later = opener.open(deviceSealer({ ...config, nextSequence: 42n }).seal(plaintext, now));
  assert.ok(later.ok && later.sequence === 42n, later.ok ? String(later.sequence) : later.detail);
});

test('the vital-signs source is seeded per device: the same pseudonym gives the same readings', () => {
  const p = provisionDevice('wearable-0002', 2);
  assert.deepEqual(deviceVitals(p).next(), deviceVitals(p).next());
});
