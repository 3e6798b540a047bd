/**
 * Device certificates for a whole fleet, fast: the source chapter's worked example has 5,000
 * wearables (§17.6), each with its own P-256 key and certificate. Issuing them one by one through
 * @peculiar/x509 costs about 7 ms each (ASN.1 schema parsing and serialising in JavaScript),
 * 35 s for the fleet; this module writes the same certificate (the wearableProfile of
 * genuine-profiles.ts: same subject, key usages, extensions and validity rules) directly as DER
 * and signs it with node:crypto (OpenSSL), well under a millisecond each.
 *
 * RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
 * Only an ECDSA P-256 intermediate is supported (the PKI's default), signing ecdsa-with-SHA256
 * (RFC 5758 §3.2).
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { x509 } from './x509.ts';
import { fingerprintSha256, HOUR_MS, randomSerialHex } from './certificate-profile.ts';
import { TESTBED_ORGANIZATION } from './genuine-profiles.ts';
import { assertDeviceId, DEFAULT_VALIDITY_DAYS, MAX_WEARABLES, type IssuedCertificate, type Pki } from './pki.ts';
import { bitString, boolean, children, explicit, octetString, oid, readElement, sequence, set, smallInteger, time, unsignedInteger, utf8 } from './der.ts';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** What every device certificate of one issuer shares, computed once per fleet. */
interface FleetIssuer {
  readonly key: KeyObject;
  readonly subjectDer: Uint8Array;
  readonly keyIdentifier: Uint8Array;
  readonly notAfter: Date;
  readonly notBefore: Date;
  readonly chainSuffixPem: string;
}

function fleetIssuer(pki: Pki): FleetIssuer {
  const key = createPrivateKey(pki.intermediateCa.keyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('fleet-certificates: the intermediate CA must hold an ECDSA P-256 key (generatePki with algorithm "ecdsa-p256", the default)');
  }
  const cert = new X509Certificate(pki.intermediateCa.certPem);
  const der = new Uint8Array(cert.raw);
  // Certificate → tbsCertificate → [version, serial, signature, issuer, validity, subject, …]
  const tbs = readElement(der, readElement(der, 0).contentStart);
  const subject = children(der, tbs)[5];
  if (!subject) throw new Error('fleet-certificates: the intermediate certificate has no subject field');
  const ski = new x509.X509Certificate(pki.intermediateCa.certPem).getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new Error('fleet-certificates: the intermediate CA has no subjectKeyIdentifier to name in the devices\' authorityKeyIdentifier (RFC 5280 §4.2.1.1)');
  return {
    key,
    subjectDer: der.subarray(subject.start, subject.end),
    keyIdentifier: Buffer.from(ski.keyId, 'hex'),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    chainSuffixPem: pki.intermediateCa.certPem,
  };
}

function extension(id: string, critical: boolean, valueDer: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(valueDer));
}

/** One device certificate and its fresh P-256 key, as wearableProfile describes it. */
function issueDevice(issuer: FleetIssuer, deviceId: string, now: Date, validityDays: number): IssuedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const spkiElement = readElement(spki, 0);
  const keyBits = children(spki, spkiElement)[1];
  if (!keyBits) throw new Error('fleet-certificates: the generated public key has no subjectPublicKey');
  // RFC 5280 §4.2.1.2 (1): the key identifier is the SHA-1 of the subjectPublicKey bits.
  const ski = createHash('sha1').update(spki.subarray(keyBits.contentStart + 1, keyBits.end)).digest();
  const serialHex = randomSerialHex();
  // The usual hour of clock-skew allowance, never outside the issuing CA's window (as issueWearable).
  const notBefore = new Date(Math.max(now.getTime() - HOUR_MS, issuer.notBefore.getTime()));
  const notAfter = new Date(Math.min(now.getTime() + validityDays * 24 * HOUR_MS, issuer.notAfter.getTime()));
  const rdn = (id: string, value: string) => set(sequence(oid(id), utf8(value)));
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(Buffer.from(serialHex, 'hex')),
    signatureAlgorithm,
    issuer.subjectDer,
    sequence(time(notBefore), time(notAfter)),
    sequence(rdn(OID.organization, TESTBED_ORGANIZATION), rdn(OID.organizationalUnit, 'wearable'), rdn(OID.commonName, deviceId)),
    spki,
    explicit(
      3,
      sequence(
        // CA:FALSE, critical (RFC 5280 §4.2.1.9; DER omits the DEFAULT FALSE, so the SEQUENCE is empty).
        extension(OID.basicConstraints, true, sequence()),
        // digitalSignature (bit 0, mTLS) + keyAgreement (bit 4, E3 ECDH): 1000 1000, 3 unused bits.
        extension(OID.keyUsage, true, bitString(Uint8Array.of(0x88), 3)),
        extension(OID.extKeyUsage, false, sequence(oid(OID.clientAuth))),
        extension(OID.subjectKeyIdentifier, false, octetString(ski)),
        extension(OID.authorityKeyIdentifier, false, sequence(Uint8Array.of(0x80, issuer.keyIdentifier.length, ...issuer.keyIdentifier))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: issuer.key, dsaEncoding: 'der' });
  const der = sequence(tbs, signatureAlgorithm, bitString(signature));
  const certPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  return {
    certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    chainPem: certPem + issuer.chainSuffixPem,
    subjectCn: deviceId,
    serialHex,
    fingerprintSha256: fingerprintSha256(der),
  };
}

/**
 * Issue a certificate and key for every id from the PKI's intermediate and add them to
 * `pki.wearables`. Refuses, before issuing anything, ids that are unusable or already present.
 */
export function issueFleetCertificates(pki: Pki, deviceIds: readonly string[], o: { now?: Date; validityDays?: number } = {}): void {
  if (pki.wearables.size + deviceIds.length > MAX_WEARABLES) {
    throw new Error(`fleet-certificates: ${pki.wearables.size + deviceIds.length} wearables would exceed the ${MAX_WEARABLES} one PKI holds; use a smaller fleet`);
  }
  const seen = new Set<string>();
  for (const id of deviceIds) {
    assertDeviceId(id);
    if (pki.wearables.has(id) || seen.has(id)) throw new Error(`fleet-certificates: ${id} is listed twice or already has a certificate; device ids must be unique`);
    seen.add(id);
  }
  const issuer = fleetIssuer(pki);
  const now = o.now ?? new Date();
  for (const id of deviceIds) pki.wearables.set(id, issueDevice(issuer, id, now, o.validityDays ?? DEFAULT_VALIDITY_DAYS));
}
