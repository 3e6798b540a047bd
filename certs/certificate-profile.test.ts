// The CertificateProfile seam: each capability the forged-certificate catalogue (docs/architecture.md §6 PKI and forged certificates)
// will need, shown to produce a certificate that an independent verifier (openssl, node:crypto)
// rejects for exactly the intended reason — while the same profile without the change verifies.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { DAY_MS, issueCertificate, type CertificateProfile, type Issuer } from './certificate-profile.ts';
import { wearableProfile, cloudServerProfile, rootCaProfile, intermediateCaProfile, genuineValidity } from './genuine-profiles.ts';
import { generateKeyPair } from './keys.ts';
import { generatePki, issuerFromPem, type Pki } from './pki.ts';
import { opensslText, opensslVerify } from './openssl-verify.ts';

describe('CertificateProfile: what a forged case can express', () => {
  let pki: Pki;
  let intermediate: Issuer;
  const now = () => new Date();
  const validity = genuineValidity(30);
  const verify = (pem: string, purpose?: 'sslserver' | 'sslclient') =>
    opensslVerify(pki.rootCa.certPem, pki.intermediateCa.certPem, pem, purpose);
  const serverProfile = (): CertificateProfile =>
    cloudServerProfile(intermediate, { dns: [], ip: [] }, { algorithm: 'ecdsa-p256', validity });

  before(async () => {
    pki = await generatePki({ wearableIds: [] });
    intermediate = issuerFromPem(pki.intermediateCa, 'the intermediate CA');
  });

  it('issues a genuine profile that verifies (the baseline every case below departs from)', async () => {
    const issued = await issueCertificate(serverProfile(), now());
    const verdict = verify(issued.certPem, 'sslserver');
    assert.ok(verdict.ok, verdict.output);
  });

  it('sets validity in the past (expired) or the future (not yet valid)', async () => {
    const expired = await issueCertificate({ ...serverProfile(), validity: { notBeforeOffsetMs: -10 * DAY_MS, notAfterOffsetMs: -DAY_MS } }, now());
    assert.match(verify(expired.certPem).output, /certificate has expired/);
    const early = await issueCertificate({ ...serverProfile(), validity: { notBeforeOffsetMs: DAY_MS, notAfterOffsetMs: 10 * DAY_MS } }, now());
    assert.match(verify(early.certPem).output, /certificate is not yet valid/);
  });

  it('chooses another issuer (an attacker CA with the same name) and openssl finds no trusted path', async () => {
    const attackerRoot = await issueCertificate(rootCaProfile({ algorithm: 'ecdsa-p256', validity }), now());
    const attacker: Issuer = { certificate: attackerRoot.certificate, key: attackerRoot.key };
    const forged = await issueCertificate({ ...serverProfile(), issuer: attacker }, now());
    assert.equal(new X509Certificate(forged.certPem).issuer, new X509Certificate(pki.rootCa.certPem).subject, 'same issuer name as the real root');
    const verdict = verify(forged.certPem);
    // The AKI names the attacker's key, so no trusted certificate can have issued it.
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /unable to get local issuer certificate/);
  });

  it('signs with another key than the named issuer\'s (signWith): the signature does not verify', async () => {
    const forged = await issueCertificate({ ...serverProfile(), signWith: await generateKeyPair({ kind: 'ec', curve: 'P-256' }) }, now());
    const leaf = new X509Certificate(forged.certPem);
    assert.equal(leaf.verify(new X509Certificate(pki.intermediateCa.certPem).publicKey), false);
    assert.match(verify(forged.certPem).output, /certificate signature failure/);
  });

  it('hands out another private key than the certified one (holderKey, the replaced-key case)', async () => {
    const attackerKey = await generateKeyPair({ kind: 'ec', curve: 'P-256' });
    const forged = await issueCertificate({ ...serverProfile(), holderKey: attackerKey }, now());
    const leaf = new X509Certificate(forged.certPem);
    assert.ok(verify(forged.certPem).ok, 'the certificate itself is genuine');
    assert.equal(leaf.checkPrivateKey(createPrivateKey(forged.keyPem)), false);
    assert.equal(leaf.checkPrivateKey(forged.certifiedKey.privateKey), true);
  });

  it('certifies a weak RSA 1024 key', async () => {
    const forged = await issueCertificate({ ...serverProfile(), key: { kind: 'rsa', modulusBits: 1024 } }, now());
    assert.equal(new X509Certificate(forged.certPem).publicKey.asymmetricKeyDetails?.modulusLength, 1024);
    assert.match(opensslText(forged.certPem), /Public-Key: \(1024 bit\)/);
  });

  it('signs with SHA-1, for ECDSA and for RSA issuers, with a signature that really is SHA-1', async () => {
    const ecdsa = await issueCertificate({ ...serverProfile(), signatureHash: 'SHA-1' }, now());
    assert.match(opensslText(ecdsa.certPem), /Signature Algorithm: ecdsa-with-SHA1/);
    assert.ok(new X509Certificate(ecdsa.certPem).verify(new X509Certificate(pki.intermediateCa.certPem).publicKey));

    const rsaRoot = await issueCertificate(rootCaProfile({ algorithm: 'rsa-2048', validity }), now());
    const rsaIssuer: Issuer = { certificate: rsaRoot.certificate, key: rsaRoot.key };
    const rsa = await issueCertificate({ ...serverProfile(), issuer: rsaIssuer, signatureHash: 'SHA-1' }, now());
    assert.match(opensslText(rsa.certPem), /Signature Algorithm: sha1WithRSAEncryption/);
    assert.ok(new X509Certificate(rsa.certPem).verify(new X509Certificate(rsaRoot.certPem).publicKey));
  });

  it('adds an unknown critical extension, which openssl refuses (RFC 5280 §4.2)', async () => {
    const extension = { oid: '1.3.6.1.4.1.55555.1.1', critical: true, valueDer: new Uint8Array([0x05, 0x00]) };
    const forged = await issueCertificate({ ...serverProfile(), extraExtensions: [extension] }, now());
    assert.match(verify(forged.certPem).output, /unhandled critical extension/);
    const tolerated = await issueCertificate({ ...serverProfile(), extraExtensions: [{ ...extension, critical: false }] }, now());
    assert.ok(verify(tolerated.certPem).ok, 'the same extension, non-critical, is ignored');
  });

  it('omits basicConstraints on an intermediate, and openssl refuses the chain through it', async () => {
    const root = issuerFromPem(pki.rootCa, 'the root CA');
    const noBc = await issueCertificate({ ...intermediateCaProfile(root, { algorithm: 'ecdsa-p256', validity }), basicConstraints: 'omit' }, now());
    const leaf = await issueCertificate(wearableProfile({ certificate: noBc.certificate, key: noBc.key }, 'wearable-0001', { validity }), now());
    const verdict = opensslVerify(pki.rootCa.certPem, noBc.certPem, leaf.certPem);
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /invalid CA certificate/);
  });

  it('post-processes the DER (here: corrupts the last signature byte) and the result still parses but fails', async () => {
    const forged = await issueCertificate(
      {
        ...serverProfile(),
        postProcess: (der) => {
          const copy = der.slice();
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
          return copy;
        },
      },
      now(),
    );
    assert.match(verify(forged.certPem).output, /certificate signature failure/);
  });

  it('rejects a profile that cannot mean anything: an inverted validity window or an oversize serial', async () => {
    await assert.rejects(
      issueCertificate({ ...serverProfile(), validity: { notBeforeOffsetMs: DAY_MS, notAfterOffsetMs: -DAY_MS } }, now()),
      /certs: the cloud server certificate: notAfter must be later than notBefore/,
    );
    await assert.rejects(issueCertificate({ ...serverProfile(), serialHex: '01'.repeat(21) }, now()), /1 to 20 octets/);
  });
});
