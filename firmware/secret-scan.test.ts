import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePki } from '../certs/pki.ts';
import { buildFirmwareImage, parseFirmwareImage, sharedCredentialsForFleet } from './firmware-image.ts';
import { scanBytes, shannonEntropy, sharedCredentials } from './secret-scan.ts';

const ids = ['wearable-0001', 'wearable-0002', 'wearable-0003'];

test('a hard-coded fleet: the scan finds the password, the sk_live_ key and the user name at their offsets, and all three shared by every image', async () => {
  const pki = await generatePki({ wearableIds: [] });
  const shared = sharedCredentialsForFleet();
  const images = ids.map((deviceId) => buildFirmwareImage({ deviceId, profile: 'hardcoded-credentials', mqttHost: 'cloud.example', caPem: pki.rootCa.certPem, shared }));
  const scans = images.map((b, i) => ({ file: `${ids[i]}.fw.bin`, findings: scanBytes(b) }));
  for (const [i, { findings }] of scans.entries()) {
    const password = findings.find((f) => f.kind === 'password');
    assert.ok(password, 'no password found');
    assert.equal((images[i] as Buffer).subarray(password.offset, password.offset + password.length).toString('latin1'), shared.mqttPass);
    const apiKey = findings.find((f) => f.kind === 'api-key');
    assert.equal((images[i] as Buffer).subarray(apiKey?.offset, (apiKey?.offset ?? 0) + (apiKey?.length ?? 0)).toString('latin1'), shared.apiKey);
    assert.equal(findings.filter((f) => f.kind === 'api-key').length, 1, 'the sk_live_ key is reported once, not again as an assignment or as high entropy');
    assert.ok(findings.some((f) => f.kind === 'ca-certificate'));
    assert.ok(!findings.some((f) => f.preview.includes(shared.mqttPass)), 'a finding must not print the whole secret');
  }
  const fleet = sharedCredentials(scans);
  assert.deepEqual(fleet.map((g) => [g.kind, g.holders.length]).sort(), [['api-key', 3], ['password', 3]]);
  assert.equal(parseFirmwareImage(images[1] as Buffer).config.get('MQTT_PASS'), shared.mqttPass, 'the device boots with what the scan found');
});

test('a per-device fleet: each image holds its own key (PEM and DER, same fingerprint) and certificate; nothing secret is shared', async () => {
  const pki = await generatePki({ wearableIds: ids });
  const images = ids.map((deviceId) => {
    const w = pki.wearables.get(deviceId);
    return buildFirmwareImage({ deviceId, profile: 'per-device-identity', mqttHost: 'cloud.example', caPem: pki.rootCa.certPem, identity: { certPem: w?.certPem ?? '', keyPem: w?.keyPem ?? '' } });
  });
  const scans = images.map((b, i) => ({ file: `${ids[i]}.fw.bin`, findings: scanBytes(b) }));
  for (const { findings } of scans) {
    const pem = findings.find((f) => f.kind === 'pem-private-key');
    const der = findings.find((f) => f.kind === 'der-private-key');
    assert.ok(pem && der, `expected a PEM and a DER key, got ${findings.map((f) => f.kind).join(', ')}`);
    assert.equal(pem.fingerprint, der.fingerprint, 'the DER key is the same key as the PEM one');
    assert.ok(findings.some((f) => f.kind === 'certificate'));
    assert.ok(!findings.some((f) => f.kind === 'password' || f.kind === 'api-key' || f.kind === 'high-entropy'), findings.map((f) => `${f.kind} ${f.label}`).join('; '));
  }
  assert.deepEqual(sharedCredentials(scans), [], 'the CA certificate is public and every device secret is its own');
  assert.ok(parseFirmwareImage(images[2] as Buffer).certPem?.startsWith(pki.wearables.get('wearable-0003')?.certPem ?? '?'));
});

test('high entropy: a random token is flagged, words and code filler are not', () => {
  // Fixed, so the test never depends on a random draw's entropy: 48 characters, 5.4 bits/char.
  const token = 'q8ZJ3vN0xT5rK2mWb7YcL9dHf1GsPa4Ue6RzQiVoXnEjA0Bk';
  const bytes = Buffer.concat([Buffer.from('\0\0log: connection established to the broker successfully\0'), Buffer.from(`\0${token}\0`)]);
  const found = scanBytes(bytes).filter((f) => f.kind === 'high-entropy');
  assert.equal(found.length, 1);
  assert.equal(found[0]?.offset, bytes.indexOf(token));
  assert.ok(shannonEntropy('aaaaaaaaaaaaaaaaaaaa') === 0);
});

test('common API key shapes and NVS-style key\\0value passwords are found', () => {
  const bytes = Buffer.from('\0AKIAABCDEFGHIJKLMNOP\0wifi_psk\0hunter2hunter2\0', 'latin1');
  const kinds = scanBytes(bytes).map((f) => `${f.kind}:${f.label}`);
  assert.ok(kinds.includes('api-key:AWS access key id'), kinds.join(', '));
  assert.ok(kinds.includes('password:wifi_psk'), kinds.join(', '));
});

test('an image that is not one, or is truncated, is refused with what to do', () => {
  assert.throws(() => parseFirmwareImage(Buffer.from('hello')), /not a wearable firmware image/);
});
