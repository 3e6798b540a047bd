// The per-run PKI (docs/architecture.md §6 PKI and forged certificates): root CA → intermediate CA → cloud server, gateway and one
// unique certificate and key per wearable, plus the cloud's E3 key pair. Generated fresh for
// every run and held in memory; pki-files.ts writes it out. Nothing here is ever committed.
import { isIP } from 'node:net';
import { x509 } from './x509.ts';
import { HOUR_MS, issueCertificate, type CertificateProfile, type IssuedMaterial, type Issuer } from './certificate-profile.ts';
import {
  cloudServerProfile,
  gatewayProfile,
  genuineValidity,
  GATEWAY_DEFAULT_CN,
  intermediateCaProfile,
  rootCaProfile,
  wearableProfile,
} from './genuine-profiles.ts';
import { generateKeyPair, keyPairFromPrivatePem, privateKeyPem, publicKeyPem, type KeyAlgorithm } from './keys.ts';

export type { KeyAlgorithm } from './keys.ts';

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** Leaf + intermediate: what a TLS peer sends so the other side can build the path to the root. */
  chainPem: string;
  subjectCn: string;
  serialHex: string;
  fingerprintSha256: string;
}

export interface Pki {
  rootCa: { certPem: string; keyPem: string };
  intermediateCa: { certPem: string; keyPem: string };
  cloud: IssuedCertificate;
  /** The cloud's E3 key (KMS stand-in): P-256 for ECDH with each device key, never a TLS key. */
  cloudE3: { privateKeyPem: string; publicKeyPem: string };
  gateway: IssuedCertificate;
  wearables: Map<string, IssuedCertificate>;
  createdAt: Date;
}

export interface PkiOptions {
  wearableIds: string[];
  /** Key algorithm of the CAs, cloud server and gateway; wearables are always P-256. Default 'ecdsa-p256'. */
  algorithm?: KeyAlgorithm;
  /** Extra DNS names or IP addresses for the cloud server certificate. */
  cloudNames?: string[];
  /** Gateway CN (also added as a DNS SAN). Default 'gateway-01'. */
  gatewayName?: string;
  /** Default 30. */
  validityDays?: number;
  /** The issuing clock; default the current time. */
  now?: Date;
}

export const DEFAULT_VALIDITY_DAYS = 30;
/** The most wearables one call issues; docs/architecture.md §10 The scenario catalogue's fleet scenario uses 5,000. */
export const MAX_WEARABLES = 10_000;

// Device ids become CNs and directory names: start with a letter or digit (so never "." or
// ".."), no slashes, at most 64 characters (RFC 5280 ub-common-name).
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

export function assertDeviceId(deviceId: string): void {
  if (!DEVICE_ID.test(deviceId)) {
    throw new Error(
      `certs: device id ${JSON.stringify(deviceId)} is not usable; use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. "wearable-0001")`,
    );
  }
}

export async function generatePki(o: PkiOptions): Promise<Pki> {
  const now = o.now ?? new Date();
  const algorithm = o.algorithm ?? 'ecdsa-p256';
  const validity = genuineValidity(o.validityDays ?? DEFAULT_VALIDITY_DAYS);
  const gatewayName = o.gatewayName ?? GATEWAY_DEFAULT_CN;
  if (!DNS_NAME.test(gatewayName)) {
    throw new Error(`certs: gatewayName ${JSON.stringify(gatewayName)} must be a DNS name (it is also a SAN), e.g. "gateway-01"`);
  }
  const cloudNames = splitNames(o.cloudNames ?? []);
  assertWearableIds(o.wearableIds);

  const root = await issueCertificate(rootCaProfile({ algorithm, validity }), now);
  const rootIssuer: Issuer = { certificate: root.certificate, key: root.key };
  const intermediate = await issueCertificate(intermediateCaProfile(rootIssuer, { algorithm, validity }), now);
  const issuer: Issuer = { certificate: intermediate.certificate, key: intermediate.key };

  const leaf = (profile: CertificateProfile) => issueLeaf(profile, intermediate, now);
  const cloud = await leaf(cloudServerProfile(issuer, cloudNames, { algorithm, validity }));
  const gateway = await leaf(gatewayProfile(issuer, gatewayName, { algorithm, validity }));
  const wearables = new Map<string, IssuedCertificate>();
  for (const deviceId of o.wearableIds) {
    wearables.set(deviceId, await leaf(wearableProfile(issuer, deviceId, { validity })));
  }
  const cloudE3Key = await generateKeyPair({ kind: 'ec', curve: 'P-256' });

  return {
    rootCa: { certPem: root.certPem, keyPem: root.keyPem },
    intermediateCa: { certPem: intermediate.certPem, keyPem: intermediate.keyPem },
    cloud,
    cloudE3: { privateKeyPem: privateKeyPem(cloudE3Key), publicKeyPem: publicKeyPem(cloudE3Key) },
    gateway,
    wearables,
    createdAt: now,
  };
}

/**
 * Issues a certificate for one more wearable from the PKI's intermediate (fleet growth) and adds
 * it to `pki.wearables`. It expires with the intermediate, never after it.
 */
export async function issueWearable(pki: Pki, deviceId: string, now: Date = new Date()): Promise<IssuedCertificate> {
  assertDeviceId(deviceId);
  if (pki.wearables.has(deviceId)) {
    throw new Error(`certs: ${deviceId} already has a certificate in this PKI; device ids must be unique`);
  }
  const issuer = issuerFromPem(pki.intermediateCa, 'the intermediate CA');
  const caNotBefore = issuer.certificate.notBefore.getTime();
  const caNotAfter = issuer.certificate.notAfter.getTime();
  if (caNotAfter - now.getTime() <= HOUR_MS) {
    throw new Error(`certs: the intermediate CA expires at ${issuer.certificate.notAfter.toISOString()}; generate a new PKI with \`testbed pki --out DIR\``);
  }
  // The usual hour of clock-skew allowance, but never outside the issuing CA's own window.
  const validity = {
    notBeforeOffsetMs: Math.max(-HOUR_MS, caNotBefore - now.getTime()),
    notAfterOffsetMs: caNotAfter - now.getTime(),
  };
  const issued = await issueLeaf(wearableProfile(issuer, deviceId, { validity }), pki.intermediateCa, now);
  pki.wearables.set(deviceId, issued);
  return issued;
}

/** A CA held as PEM (as in Pki) turned back into something issueCertificate can sign with. */
export function issuerFromPem(ca: { certPem: string; keyPem: string }, what: string): Issuer {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(ca.certPem);
  } catch (error) {
    throw new Error(`certs: ${what} certificate does not parse (${(error as Error).message}); regenerate with \`testbed pki --out DIR\``);
  }
  return { certificate, key: keyPairFromPrivatePem(ca.keyPem, `${what} key`) };
}

async function issueLeaf(profile: CertificateProfile, intermediate: { certPem: string }, now: Date): Promise<IssuedCertificate> {
  return toIssuedCertificate(await issueCertificate(profile, now), intermediate.certPem);
}

function toIssuedCertificate(m: IssuedMaterial, intermediatePem: string): IssuedCertificate {
  return {
    certPem: m.certPem,
    keyPem: m.keyPem,
    chainPem: m.certPem + intermediatePem,
    subjectCn: m.subjectCn,
    serialHex: m.serialHex,
    fingerprintSha256: m.fingerprintSha256,
  };
}

function assertWearableIds(ids: string[]): void {
  if (ids.length > MAX_WEARABLES) {
    throw new Error(`certs: ${ids.length} wearables requested; at most ${MAX_WEARABLES} per PKI`);
  }
  const seen = new Set<string>();
  for (const id of ids) {
    assertDeviceId(id);
    if (seen.has(id)) throw new Error(`certs: wearable id ${id} is listed twice; device ids must be unique`);
    seen.add(id);
  }
}

function splitNames(names: string[]): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const name of names) {
    if (isIP(name) !== 0) ip.push(name);
    else if (DNS_NAME.test(name)) dns.push(name.toLowerCase());
    else throw new Error(`certs: cloud name ${JSON.stringify(name)} is neither a DNS name nor an IP address`);
  }
  return { dns, ip };
}
