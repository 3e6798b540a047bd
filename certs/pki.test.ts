// The generated PKI, parsed back and verified by implementations other than the one that made
// it: node:crypto (OpenSSL bindings) and the openssl command-line verifier.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, diffieHellman, X509Certificate } from 'node:crypto';
import { generatePki, issueWearable, type IssuedCertificate, type Pki } from './pki.ts';
import { opensslText, opensslVerify, type OpensslPurpose } from './openssl-verify.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DEVICE_IDS = ['wearable-0001', 'wearable-0002', 'wearable-0003'];

function leafOf(issued: IssuedCertificate) {
  return new X509Certificate(issued.certPem);
}

function assertVerifiesWithOpenssl(pki: Pki, issued: IssuedCertificate, purpose: OpensslPurpose): void {
  const verdict = opensslVerify(pki.rootCa.certPem, pki.intermediateCa.certPem, issued.certPem, purpose);
  assert.ok(verdict.ok, `openssl verify of ${issued.subjectCn} (${purpose}): ${verdict.output}`);
}

describe('generatePki (ECDSA P-256)', () => {
  let pki: Pki;
  // Whole seconds: certificate times have one-second resolution (RFC 5280 §4.1.2.5).
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  before(async () => {
    pki = await generatePki({ wearableIds: DEVICE_IDS, cloudNames: ['mqtt.example.test', '10.0.0.7'], now });
  });

  it('names the CAs DO NOT TRUST – TESTING ONLY in CN and O', () => {
    for (const pem of [pki.rootCa.certPem, pki.intermediateCa.certPem]) {
      const lines = new X509Certificate(pem).subject.split('\n');
      const cn = lines.find((line) => line.startsWith('CN='));
      const o = lines.find((line) => line.startsWith('O='));
      assert.match(cn ?? '', /DO NOT TRUST – TESTING ONLY/);
      assert.match(o ?? '', /DO NOT TRUST – TESTING ONLY/);
    }
    assert.match(new X509Certificate(pki.rootCa.certPem).subject, /CN=IoT E3\/E4 Testbed Root CA – DO NOT TRUST – TESTING ONLY/);
  });

  it('makes a self-signed root and an intermediate it signed, both CAs, valid from now − 1 h to now + 30 days', () => {
    const root = new X509Certificate(pki.rootCa.certPem);
    const intermediate = new X509Certificate(pki.intermediateCa.certPem);
    assert.equal(root.ca, true);
    assert.equal(intermediate.ca, true);
    assert.ok(root.verify(root.publicKey), 'root is self-signed');
    assert.ok(intermediate.verify(root.publicKey), 'intermediate is signed by the root');
    assert.ok(!intermediate.verify(intermediate.publicKey), 'intermediate is not self-signed');
    assert.equal(new Date(root.validFrom).getTime(), now.getTime() - 3600_000);
    assert.equal(new Date(root.validTo).getTime(), now.getTime() + 30 * 86_400_000);
    assert.equal(root.publicKey.asymmetricKeyType, 'ec');
  });

  it('encodes the CA extensions as openssl reads them: critical CA:TRUE, pathlen:0 on the intermediate, keyCertSign + cRLSign, SKI/AKI', () => {
    const root = opensslText(pki.rootCa.certPem);
    const intermediate = opensslText(pki.intermediateCa.certPem);
    assert.match(root, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(intermediate, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
    for (const text of [root, intermediate]) {
      assert.match(text, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
      assert.match(text, /X509v3 Subject Key Identifier/);
      assert.match(text, /X509v3 Authority Key Identifier/);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    }
    const wearable = pki.wearables.get('wearable-0001');
    assert.ok(wearable);
    assert.match(opensslText(wearable.certPem), /X509v3 Key Usage: critical\n\s+Digital Signature, Key Agreement\n/);
    assert.match(opensslText(pki.cloud.certPem), /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  });

  it('issues every leaf from the intermediate, and openssl verifies each chain for its purpose', () => {
    const intermediate = new X509Certificate(pki.intermediateCa.certPem);
    const root = new X509Certificate(pki.rootCa.certPem);
    for (const issued of [pki.cloud, pki.gateway, ...pki.wearables.values()]) {
      const leaf = leafOf(issued);
      assert.ok(leaf.verify(intermediate.publicKey), `${issued.subjectCn} signed by the intermediate`);
      assert.ok(!leaf.verify(root.publicKey), `${issued.subjectCn} not signed by the root directly`);
      assert.ok(leaf.checkIssued(intermediate));
      assert.equal(leaf.ca, false);
      assert.equal(issued.chainPem, issued.certPem + pki.intermediateCa.certPem);
    }
    assertVerifiesWithOpenssl(pki, pki.cloud, 'sslserver');
    assertVerifiesWithOpenssl(pki, pki.gateway, 'sslserver');
    assertVerifiesWithOpenssl(pki, pki.gateway, 'sslclient');
    for (const wearable of pki.wearables.values()) assertVerifiesWithOpenssl(pki, wearable, 'sslclient');
  });

  it('refuses the purposes a certificate was not issued for (openssl)', () => {
    const wearable = pki.wearables.get('wearable-0001');
    assert.ok(wearable);
    assert.equal(opensslVerify(pki.rootCa.certPem, pki.intermediateCa.certPem, wearable.certPem, 'sslserver').ok, false);
    assert.equal(opensslVerify(pki.rootCa.certPem, pki.intermediateCa.certPem, pki.cloud.certPem, 'sslclient').ok, false);
  });

  it('gives the cloud certificate its names: checkHost/checkIP pass for its SANs and fail for others', () => {
    const cloud = leafOf(pki.cloud);
    assert.match(cloud.subject, /CN=cloud\.testbed\.local/);
    for (const host of ['cloud.testbed.local', 'broker.testbed.local', 'localhost', 'cloud', 'broker', 'mqtt.example.test']) {
      assert.equal(cloud.checkHost(host), host, host);
    }
    assert.equal(cloud.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cloud.checkIP('10.0.0.7'), '10.0.0.7');
    assert.equal(cloud.checkHost('evil.example'), undefined);
    assert.equal(cloud.checkIP('127.0.0.2'), undefined);
    assert.deepEqual(cloud.keyUsage, [SERVER_AUTH]);
  });

  it('gives the gateway CN gateway-01, OU gateway, its SANs and serverAuth + clientAuth', () => {
    const gateway = leafOf(pki.gateway);
    assert.match(gateway.subject, /OU=gateway/);
    assert.match(gateway.subject, /CN=gateway-01/);
    assert.equal(gateway.checkHost('gateway.testbed.local'), 'gateway.testbed.local');
    assert.equal(gateway.checkHost('gateway'), 'gateway');
    assert.equal(gateway.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(gateway.checkHost('cloud.testbed.local'), undefined);
    assert.deepEqual([...(gateway.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
  });

  it('gives each wearable CN = device id, OU wearable, clientAuth only, and a P-256 key usable for ECDH too', () => {
    for (const [deviceId, issued] of pki.wearables) {
      const leaf = leafOf(issued);
      assert.equal(issued.subjectCn, deviceId);
      assert.match(leaf.subject, new RegExp(`CN=${deviceId}$`, 'm'));
      assert.match(leaf.subject, /OU=wearable/);
      assert.deepEqual(leaf.keyUsage, [CLIENT_AUTH]);
      assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.ok(leaf.checkPrivateKey(createPrivateKey(issued.keyPem)), 'key matches certificate');
      // The device key agrees a secret with the cloud E3 key, and both sides get the same one.
      const deviceSide = diffieHellman({ privateKey: createPrivateKey(issued.keyPem), publicKey: createPublicKey(pki.cloudE3.publicKeyPem) });
      const cloudSide = diffieHellman({ privateKey: createPrivateKey(pki.cloudE3.privateKeyPem), publicKey: leaf.publicKey });
      assert.equal(deviceSide.length, 32);
      assert.deepEqual(deviceSide, cloudSide);
    }
  });

  it('gives every wearable a distinct key and a distinct positive serial of at most 20 octets', () => {
    const issued = [pki.cloud, pki.gateway, ...pki.wearables.values()];
    const keys = new Set(issued.map((i) => leafOf(i).publicKey.export({ type: 'spki', format: 'der' }).toString('hex')));
    const serials = new Set(issued.map((i) => leafOf(i).serialNumber));
    assert.equal(keys.size, issued.length);
    assert.equal(serials.size, issued.length);
    for (const i of issued) {
      const serial = leafOf(i).serialNumber;
      assert.equal(serial, i.serialHex);
      assert.ok(serial.length <= 40 && Number.parseInt(serial.slice(0, 2), 16) < 0x80, `positive, ≤ 20 octets: ${serial}`);
      assert.equal(leafOf(i).fingerprint256, i.fingerprintSha256);
    }
  });

  it('exports private keys as PKCS#8 and the cloud E3 public key as SPKI', () => {
    for (const pem of [pki.rootCa.keyPem, pki.intermediateCa.keyPem, pki.cloud.keyPem, pki.gateway.keyPem, pki.cloudE3.privateKeyPem]) {
      assert.match(pem, /^-----BEGIN [P]RIVATE KEY-----\n/); // [P]: not a key, for secret scanners
    }
    assert.match(pki.cloudE3.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(createPublicKey(pki.cloudE3.publicKeyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('issueWearable adds a new unique device that chains to the same intermediate, and refuses a duplicate id', async () => {
    const added = await issueWearable(pki, 'wearable-0100');
    assert.equal(pki.wearables.get('wearable-0100'), added);
    assertVerifiesWithOpenssl(pki, added, 'sslclient');
    const intermediate = new X509Certificate(pki.intermediateCa.certPem);
    assert.ok(new Date(leafOf(added).validTo) <= new Date(intermediate.validTo), 'never outlives its CA');
    await assert.rejects(issueWearable(pki, 'wearable-0100'), /already has a certificate/);
  });
});

describe('generatePki input checks', () => {
  it('rejects ids that are not safe as CN and directory name, duplicates, and bad names', async () => {
    await assert.rejects(generatePki({ wearableIds: ['../etc'] }), /certs: device id "\.\.\/etc" is not usable/);
    await assert.rejects(generatePki({ wearableIds: ['a', 'a'] }), /listed twice/);
    await assert.rejects(generatePki({ wearableIds: [], cloudNames: ['bad name'] }), /neither a DNS name nor an IP/);
    await assert.rejects(generatePki({ wearableIds: [], gatewayName: 'gw/1' }), /gatewayName/);
    await assert.rejects(generatePki({ wearableIds: [], validityDays: 0 }), /validityDays/);
  });
});

describe('generatePki (RSA 2048)', () => {
  it('makes RSA CAs, server and gateway keys, keeps wearables on P-256, and openssl verifies the chains', async () => {
    const pki = await generatePki({ wearableIds: ['wearable-0001'], algorithm: 'rsa-2048', gatewayName: 'gateway-07' });
    for (const pem of [pki.rootCa.certPem, pki.intermediateCa.certPem, pki.cloud.certPem, pki.gateway.certPem]) {
      const cert = new X509Certificate(pem);
      assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
      assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    }
    const wearable = pki.wearables.get('wearable-0001');
    assert.ok(wearable);
    assert.equal(leafOf(wearable).publicKey.asymmetricKeyType, 'ec');
    assert.match(leafOf(pki.gateway).subject, /CN=gateway-07/);
    assert.equal(leafOf(pki.gateway).checkHost('gateway-07'), 'gateway-07');
    assertVerifiesWithOpenssl(pki, pki.cloud, 'sslserver');
    assertVerifiesWithOpenssl(pki, pki.gateway, 'sslclient');
    assertVerifiesWithOpenssl(pki, wearable, 'sslclient');
  });
});

describe('generatePki at fleet size', () => {
  it('issues 100 wearables, all with distinct keys and serials', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
    const pki = await generatePki({ wearableIds: ids });
    assert.deepEqual([...pki.wearables.keys()], ids);
    const leaves = [...pki.wearables.values()].map(leafOf);
    assert.equal(new Set(leaves.map((l) => l.serialNumber)).size, 100);
    assert.equal(new Set(leaves.map((l) => l.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'))).size, 100);
    assert.equal(new Set([...pki.wearables.values()].map((w) => w.keyPem)).size, 100);
    const intermediate = new X509Certificate(pki.intermediateCa.certPem);
    assert.ok(leaves.every((leaf) => leaf.verify(intermediate.publicKey)));
  });
});
