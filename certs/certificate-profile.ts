// A certificate described as data, and the one function that issues it.
//
// Every certificate the testbed makes — the genuine chain and, later, each forged case of the
// catalogue (docs/architecture.md §6 PKI and forged certificates) — is a CertificateProfile: subject, names, validity offsets, key,
// signature hash, issuer, extensions, plus three deliberate escape hatches a forgery needs:
// `signWith` (sign with another key than the named issuer's), `holderKey` (hand out another
// private key than the certified one) and `postProcess` (edit the DER after signing, e.g.
// corrupt the signature). Keeping the issuing code in one place means a forged case is a few
// lines of data and can never drift from how the genuine certificates are made.
import { createHash, randomBytes } from 'node:crypto';
import { x509 } from './x509.ts';
import {
  generateKeyPair,
  privateKeyPem,
  publicKeySpkiDer,
  webCryptoSigner,
  type KeyPair,
  type KeySpec,
  type SignatureHash,
} from './keys.ts';

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

export type KeyUsageName = keyof typeof x509.KeyUsageFlags;
export type ExtendedKeyUsageName = keyof typeof x509.ExtendedKeyUsage;

export interface SubjectName {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
}

/** A CA (or, for forged cases, any certificate) that can sign: its certificate and its key. */
export interface Issuer {
  certificate: x509.X509Certificate;
  key: KeyPair;
}

/** An extension given as raw DER, e.g. an unknown critical extension (RFC 5280 §4.2: must be rejected). */
export interface CustomExtension {
  oid: string;
  critical: boolean;
  valueDer: Uint8Array;
}

export interface CertificateProfile {
  /** What this certificate is, for error messages ("the cloud server certificate"). */
  label: string;
  subject: SubjectName;
  subjectAltNames?: { dns?: string[]; ip?: string[] };
  /** Relative to the issuing clock; negative notAfter gives an expired certificate, positive notBefore a not-yet-valid one. */
  validity: { notBeforeOffsetMs: number; notAfterOffsetMs: number };
  /** Key to generate for the subject (ignored when `subjectKey` is given). */
  key: KeySpec;
  /** Certify this existing key instead of generating one (e.g. the genuine server key in `real-cert-other-name`). */
  subjectKey?: KeyPair;
  /** Private key handed out with the certificate; defaults to the certified key (`replaced-key` sets another). */
  holderKey?: KeyPair;
  signatureHash: SignatureHash;
  /** 'self' = self-signed (subject = issuer, signed with the subject key). */
  issuer: 'self' | Issuer;
  /** Sign with this key while still naming `issuer` (gives a certificate whose signature does not verify). */
  signWith?: KeyPair;
  /** 'omit' leaves the extension out (the `no-basic-constraints-intermediate` case). */
  basicConstraints: { ca: boolean; pathLength?: number; critical: boolean } | 'omit';
  keyUsage?: { usages: KeyUsageName[]; critical: boolean };
  extendedKeyUsage?: { usages: ExtendedKeyUsageName[]; critical: boolean };
  extraExtensions?: CustomExtension[];
  /** Hex serial; default is a fresh random one (randomSerialHex). */
  serialHex?: string;
  /** Edits the signed DER; the result must still parse as a certificate. */
  postProcess?: (der: Uint8Array) => Uint8Array;
}

export interface IssuedMaterial {
  certificate: x509.X509Certificate;
  certPem: string;
  /** The key handed to the holder (PKCS#8 PEM in keyPem). */
  key: KeyPair;
  keyPem: string;
  /** The key whose public half is inside the certificate (differs from `key` only for forgeries). */
  certifiedKey: KeyPair;
  subjectCn: string;
  /** Upper-case hex, as node:crypto's X509Certificate.serialNumber prints it. */
  serialHex: string;
  /** "AB:CD:…", as node:crypto's X509Certificate.fingerprint256 prints it. */
  fingerprintSha256: string;
}

/**
 * A positive serial of 16 octets with 126 random bits. RFC 5280 §4.1.2.2: positive, at most
 * 20 octets, unique per CA; CA/Browser Forum BR §7.1 asks for at least 64 random bits. The top
 * bit is cleared (so DER needs no 0x00 pad and the integer is positive) and the next bit set (so
 * the length is always 16 octets and the hex has no leading zeros to be stripped by parsers).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

export function fingerprintSha256(der: Uint8Array): string {
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

export async function issueCertificate(profile: CertificateProfile, now: Date): Promise<IssuedMaterial> {
  validateProfile(profile);
  const certifiedKey = profile.subjectKey ?? (await generateKeyPair(profile.key));
  const issuerKey = profile.issuer === 'self' ? certifiedKey : profile.issuer.key;
  const signingPair = profile.signWith ?? issuerKey;
  const signer = await webCryptoSigner(signingPair, profile.signatureHash);
  const subjectName = new x509.Name(jsonName(profile.subject));
  const serialHex = (profile.serialHex ?? randomSerialHex()).toUpperCase();

  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: subjectName,
    issuer: profile.issuer === 'self' ? subjectName : profile.issuer.certificate.subjectName,
    notBefore: new Date(now.getTime() + profile.validity.notBeforeOffsetMs),
    notAfter: new Date(now.getTime() + profile.validity.notAfterOffsetMs),
    publicKey: publicKeySpkiDer(certifiedKey),
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: await buildExtensions(profile, certifiedKey, issuerKey),
  });

  const der = profile.postProcess
    ? profile.postProcess(new Uint8Array(generated.rawData))
    : new Uint8Array(generated.rawData);
  const certificate = parseIssued(der, profile.label);
  const holder = profile.holderKey ?? certifiedKey;
  return {
    certificate,
    certPem: certificate.toString('pem') + '\n',
    key: holder,
    keyPem: privateKeyPem(holder),
    certifiedKey,
    subjectCn: profile.subject.commonName,
    serialHex,
    fingerprintSha256: fingerprintSha256(der),
  };
}

function validateProfile(profile: CertificateProfile): void {
  const { notBeforeOffsetMs, notAfterOffsetMs } = profile.validity;
  if (!Number.isFinite(notBeforeOffsetMs) || !Number.isFinite(notAfterOffsetMs)) {
    throw new Error(`certs: ${profile.label}: validity offsets must be finite milliseconds`);
  }
  // An inverted window is never what a profile means, even a forged one: expired is
  // "both in the past", not "notAfter before notBefore".
  if (notAfterOffsetMs <= notBeforeOffsetMs) {
    throw new Error(`certs: ${profile.label}: notAfter must be later than notBefore; check validity offsets`);
  }
  if (profile.subject.commonName.length === 0 || profile.subject.commonName.length > 64) {
    // RFC 5280 Appendix A: ub-common-name = 64.
    throw new Error(`certs: ${profile.label}: common name must be 1 to 64 characters, got ${profile.subject.commonName.length}`);
  }
  if (profile.serialHex !== undefined && !/^[0-9A-Fa-f]{2,40}$/.test(profile.serialHex)) {
    throw new Error(`certs: ${profile.label}: serialHex must be 1 to 20 octets of hex (RFC 5280 §4.1.2.2)`);
  }
}

function jsonName(subject: SubjectName): x509.JsonName {
  const name: x509.JsonName = [];
  if (subject.country !== undefined) name.push({ C: [subject.country] });
  if (subject.organization !== undefined) name.push({ O: [subject.organization] });
  if (subject.organizationalUnit !== undefined) name.push({ OU: [subject.organizationalUnit] });
  name.push({ CN: [subject.commonName] });
  return name;
}

async function buildExtensions(profile: CertificateProfile, certifiedKey: KeyPair, issuerKey: KeyPair): Promise<x509.Extension[]> {
  const extensions: x509.Extension[] = [];
  if (profile.basicConstraints !== 'omit') {
    const { ca, pathLength, critical } = profile.basicConstraints;
    extensions.push(new x509.BasicConstraintsExtension(ca, pathLength, critical));
  }
  if (profile.keyUsage) {
    const flags = profile.keyUsage.usages.reduce((all, usage) => all | x509.KeyUsageFlags[usage], 0);
    extensions.push(new x509.KeyUsagesExtension(flags, profile.keyUsage.critical));
  }
  if (profile.extendedKeyUsage) {
    const oids = profile.extendedKeyUsage.usages.map((usage) => x509.ExtendedKeyUsage[usage]);
    extensions.push(new x509.ExtendedKeyUsageExtension(oids, profile.extendedKeyUsage.critical));
  }
  const names = subjectAltNames(profile);
  if (names.length > 0) {
    // RFC 5280 §4.2.1.6: critical only when the subject DN is empty; ours never is.
    extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  // RFC 5280 §4.2.1.2 / §4.2.1.1: SKI on every certificate, AKI naming the issuer's key, so chain
  // builders can pick the right issuer when several share a name.
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKeySpkiDer(certifiedKey)));
  extensions.push(await authorityKeyIdentifier(profile.issuer, issuerKey));
  for (const custom of profile.extraExtensions ?? []) {
    extensions.push(new x509.Extension(custom.oid, custom.critical, custom.valueDer));
  }
  return extensions;
}

/** The issuer's own SKI when it has one (it may come from elsewhere), else one computed from its key. */
async function authorityKeyIdentifier(issuer: CertificateProfile['issuer'], issuerKey: KeyPair): Promise<x509.Extension> {
  const issuerSki = issuer === 'self' ? null : issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  if (issuerSki) return new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(publicKeySpkiDer(issuerKey));
}

function subjectAltNames(profile: CertificateProfile): x509.JsonGeneralName[] {
  const dns = (profile.subjectAltNames?.dns ?? []).map((value) => ({ type: 'dns' as const, value }));
  const ip = (profile.subjectAltNames?.ip ?? []).map((value) => ({ type: 'ip' as const, value }));
  return [...dns, ...ip];
}

function parseIssued(der: Uint8Array, label: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (error) {
    throw new Error(`certs: ${label}: postProcess produced DER that no longer parses as a certificate (${(error as Error).message})`);
  }
}
