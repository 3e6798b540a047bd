/**
 * The broker's TLS policy as data: which protocol versions and cipher suites it accepts.
 *
 * Source chapter §17.3.1: "TLS 1.3 (or TLS 1.2 minimum)", key exchange "ECDHE … for forward
 * secrecy", bulk encryption "AES-128-GCM or ChaCha20-Poly1305", and TLS_RSA_AES_128_CBC_SHA
 * marked "Legacy only". RFC 8996 deprecates TLS 1.0 and 1.1; RFC 9325 §4.1–4.2 asks for TLS 1.2
 * at least, AEAD suites with ephemeral (EC)DHE only, and no CBC or static-RSA key transport.
 *
 * `default` and `tls13-only` follow that; `legacy` is the pitfall a QA run must be able to tell
 * apart from them: a broker "kept compatible" that still accepts TLS 1.0 and CBC / RSA key
 * transport suites (no forward secrecy, Lucky13-style padding oracles, RFC 9325 §4.2).
 */
import type { SecureVersion, TlsOptions } from 'node:tls';
import { cloudServerProfile, genuineValidity } from '../certs/genuine-profiles.ts';
import { issueCertificate } from '../certs/certificate-profile.ts';
import { issuerFromPem, type Pki } from '../certs/pki.ts';

export type TlsServerPolicyName = 'default' | 'tls13-only' | 'legacy';

export interface TlsServerPolicy {
  readonly name: TlsServerPolicyName;
  /** One sentence for the report: what this broker accepts and why. */
  readonly explain: string;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher list for TLS 1.2 and below (RFC 5246 suites). */
  readonly ciphers: string;
  /** OpenSSL TLS 1.3 suite list (RFC 8446 §B.4). */
  readonly ciphersuites: string;
}

/** RFC 8446 §9.1 mandatory suite plus the chapter's two TLS 1.3 suites (§17.3.1 table). */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** RFC 9325 §4.2 recommended TLS 1.2 suites: ECDHE key exchange, AEAD (GCM, ChaCha20-Poly1305) only. */
const TLS12_ECDHE_AEAD = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const defaultPolicy: TlsServerPolicy = {
  name: 'default',
  explain: 'TLS 1.2 minimum (§17.3.1, RFC 8996), ECDHE with AEAD only (RFC 9325 §4.2): no CBC, no RSA key transport',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: TLS12_ECDHE_AEAD,
  ciphersuites: TLS13_SUITES,
};

export const tls13OnlyPolicy: TlsServerPolicy = {
  name: 'tls13-only',
  explain: 'TLS 1.3 only (§17.3.1 "TLS 1.3"): every suite is AEAD with ephemeral key exchange by construction (RFC 8446 §1.2)',
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: TLS12_ECDHE_AEAD,
  ciphersuites: TLS13_SUITES,
};

export const legacyPolicy: TlsServerPolicy = {
  name: 'legacy',
  explain: 'the pitfall: "kept compatible" with old devices, it still accepts TLS 1.0/1.1 and CBC suites with RSA key transport (no forward secrecy)',
  minVersion: 'TLSv1',
  maxVersion: 'TLSv1.3',
  // SECLEVEL=0: OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 handshake signatures) at any higher level.
  ciphers: `${TLS12_ECDHE_AEAD}:AES128-SHA:AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0`,
  ciphersuites: TLS13_SUITES,
};

export const serverPolicies: ReadonlyMap<string, TlsServerPolicy> = new Map([defaultPolicy, tls13OnlyPolicy, legacyPolicy].map((p) => [p.name, p]));

export function serverPolicy(name: string): TlsServerPolicy {
  const p = serverPolicies.get(name);
  if (!p) throw new Error(`tls-server-policy: unknown broker policy "${name}"; valid policies: ${[...serverPolicies.keys()].join(', ')}`);
  return p;
}

/** A row of the source chapter's cipher-suite table (§17.3.1), with what a TLS stack calls it. */
export interface ChapterCipherSuite {
  /** As the chapter writes it (it drops IANA's "WITH_"). */
  readonly chapterName: string;
  /** IANA registry name, as Node's getCipher().standardName reports it. */
  readonly ianaName: string;
  /** OpenSSL's name: a `ciphers` entry for TLS 1.2, a `ciphersuites` entry for TLS 1.3. */
  readonly opensslName: string;
  readonly protocol: 'TLSv1.2' | 'TLSv1.3';
  /** The server certificate key the suite needs (TLS 1.3 suites work with either). */
  readonly serverKey: 'ecdsa' | 'rsa' | 'any';
  readonly suitability: string;
}

export const CHAPTER_CIPHER_SUITES: readonly ChapterCipherSuite[] = [
  { chapterName: 'TLS_ECDHE_ECDSA_AES_128_GCM_SHA256', ianaName: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', opensslName: 'ECDHE-ECDSA-AES128-GCM-SHA256', protocol: 'TLSv1.2', serverKey: 'ecdsa', suitability: 'Recommended' },
  { chapterName: 'TLS_ECDHE_RSA_AES_128_GCM_SHA256', ianaName: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', opensslName: 'ECDHE-RSA-AES128-GCM-SHA256', protocol: 'TLSv1.2', serverKey: 'rsa', suitability: 'Compatible' },
  { chapterName: 'TLS_AES_256_GCM_SHA384', ianaName: 'TLS_AES_256_GCM_SHA384', opensslName: 'TLS_AES_256_GCM_SHA384', protocol: 'TLSv1.3', serverKey: 'any', suitability: 'TLS 1.3 only' },
  { chapterName: 'TLS_CHACHA20_POLY1305_SHA256', ianaName: 'TLS_CHACHA20_POLY1305_SHA256', opensslName: 'TLS_CHACHA20_POLY1305_SHA256', protocol: 'TLSv1.3', serverKey: 'any', suitability: 'Low-power devices' },
  { chapterName: 'TLS_RSA_AES_128_CBC_SHA', ianaName: 'TLS_RSA_WITH_AES_128_CBC_SHA', opensslName: 'AES128-SHA', protocol: 'TLSv1.2', serverKey: 'rsa', suitability: 'Legacy only' },
];

export function chapterCipherSuite(name: string): ChapterCipherSuite {
  const s = CHAPTER_CIPHER_SUITES.find((x) => x.chapterName === name || x.ianaName === name);
  if (!s) throw new Error(`tls-server-policy: "${name}" is not in the source chapter's cipher-suite table (§17.3.1); valid suites: ${CHAPTER_CIPHER_SUITES.map((x) => x.chapterName).join(', ')}`);
  return s;
}

/** A CBC-mode suite (RFC 9325 §4.2: padding oracles, Lucky13), by its IANA name. */
export function isCbcSuite(ianaName: string): boolean {
  return /_CBC_/.test(ianaName);
}

/** RSA key transport, no forward secrecy (RFC 9325 §4.2, RFC 8446 §1.2 removed it), by IANA name. */
export function isRsaKeyTransportSuite(ianaName: string): boolean {
  return /^TLS_RSA_WITH_/.test(ianaName);
}

export interface ServerCertificate {
  readonly chainPem: string;
  readonly keyPem: string;
}

/**
 * The broker's second certificate: RSA-2048, issued by the run's own intermediate for the cloud's
 * names. TLS 1.2 ECDHE_RSA and RSA key-transport suites need an RSA server key (RFC 5246 §7.4.2);
 * with both an ECDSA and an RSA certificate OpenSSL picks the one the negotiated suite needs, so
 * a refusal is the policy's doing, never a missing key.
 */
export async function issueRsaServerCertificate(pki: Pki, now: Date = new Date()): Promise<ServerCertificate> {
  const issuer = issuerFromPem(pki.intermediateCa, 'the intermediate CA');
  const issued = await issueCertificate(cloudServerProfile(issuer, { dns: [], ip: [] }, { algorithm: 'rsa-2048', validity: genuineValidity(1) }), now);
  return { chainPem: issued.certPem + pki.intermediateCa.certPem, keyPem: issued.keyPem };
}

/** node:tls server options for a policy, serving every certificate given (ECDSA and RSA). */
export function tlsServerOptions(policy: TlsServerPolicy, certificates: readonly ServerCertificate[]): TlsOptions {
  if (certificates.length === 0) throw new Error('tls-server-policy: give the broker at least one server certificate');
  return {
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    // node:tls takes both lists in `ciphers`: names starting with TLS_ are TLS 1.3 suites.
    ciphers: `${policy.ciphersuites}:${policy.ciphers}`,
    // RFC 9325 §4.1: the server's preference order, not the client's, picks the suite.
    honorCipherOrder: true,
    cert: certificates.map((c) => c.chainPem),
    key: certificates.map((c) => c.keyPem),
  };
}
