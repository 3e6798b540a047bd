import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { generatePki } from './pki.ts';
import { issueFleetCertificates } from './fleet-certificates.ts';

test('fleet certificates chain to the intermediate and carry the wearableProfile fields of a @peculiar/x509-issued one', async () => {
  const pki = await generatePki({ wearableIds: ['wearable-9999'] });
  issueFleetCertificates(pki, ['wearable-0001', 'wearable-0002']);
  const reference = new X509Certificate((pki.wearables.get('wearable-9999') as { certPem: string }).certPem);
  const intermediate = new X509Certificate(pki.intermediateCa.certPem);
  for (const id of ['wearable-0001', 'wearable-0002']) {
    const issued = pki.wearables.get(id);
    assert.ok(issued, `${id} was issued`);
    const cert = new X509Certificate(issued.certPem);
    assert.ok(cert.verify(intermediate.publicKey), `${id}: the intermediate's signature verifies`);
    assert.ok(cert.checkIssued(intermediate), `${id}: issued by the intermediate`);
    assert.equal(cert.subject, reference.subject.replace('wearable-9999', id));
    assert.equal(cert.issuer, reference.issuer);
    assert.equal(cert.keyUsage?.join(','), reference.keyUsage?.join(','));
    assert.equal(cert.ca, false);
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)), `${id}: the key is the certificate's own`);
    assert.equal(createPublicKey(issued.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(issued.chainPem, issued.certPem + pki.intermediateCa.certPem);
    assert.ok(new Date(cert.validTo) <= new Date(intermediate.validTo), 'a leaf never outlives its CA');
  }
  // Each device its own key and serial.
  const [a, b] = ['wearable-0001', 'wearable-0002'].map((id) => pki.wearables.get(id) as { keyPem: string; serialHex: string });
  assert.notEqual(a?.keyPem, b?.keyPem);
  assert.notEqual(a?.serialHex, b?.serialHex);
});

test('fleet certificates refuse unusable, duplicate and already-issued ids before issuing anything', async () => {
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  assert.throws(() => issueFleetCertificates(pki, ['ok-1', '../etc']), /not usable/);
  assert.throws(() => issueFleetCertificates(pki, ['ok-1', 'ok-1']), /listed twice/);
  assert.throws(() => issueFleetCertificates(pki, ['wearable-0001']), /already has a certificate/);
  assert.equal(pki.wearables.size, 1);
});

test('fleet certificates need an ECDSA P-256 intermediate', async () => {
  const pki = await generatePki({ wearableIds: [], algorithm: 'rsa-2048' });
  assert.throws(() => issueFleetCertificates(pki, ['wearable-0001']), /ECDSA P-256/);
});
