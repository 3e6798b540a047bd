// The forged-certificate catalogue (docs/architecture.md §6 PKI and forged certificates; case names from tlspretense, certmitm and
// badssl): every certificate mistake a MITM can try on a TLS client, generated fresh per run
// against the run's genuine PKI. Each case is a genuine profile with one thing broken, so a
// client that refuses it refuses it for exactly that reason. certs/README.md has the table of
// cases, what is wrong with each and what openssl and node:tls say.
import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { DAY_MS, HOUR_MS, issueCertificate, type CertificateProfile, type IssuedMaterial, type Issuer } from './certificate-profile.ts';
import { cloudServerProfile, DO_NOT_TRUST, genuineValidity, intermediateCaProfile, rootCaProfile, TESTBED_ORGANIZATION } from './genuine-profiles.ts';
import { generateKeyPair, keyPairFromPrivatePem, privateKeyPem, type KeyAlgorithm, type KeyPair } from './keys.ts';
import { crlPem, issueCrl } from './crl.ts';
import { resignWithMd5 } from './md5-signature.ts';
import { issuerFromPem, type Pki } from './pki.ts';

export const FORGED_CASE_NAMES = [
  'self-signed',
  'unknown-ca',
  'wrong-hostname-cn',
  'wrong-hostname-san',
  'expired',
  'not-yet-valid',
  'expired-intermediate',
  'ca-false-intermediate',
  'no-basic-constraints-intermediate',
  'bad-signature',
  'replaced-key',
  'wrong-eku',
  'sha1-signature',
  'md5-signature',
  'rsa-1024',
  'unknown-critical-extension',
  'real-cert-other-name',
  'revoked',
] as const;

export type ForgedCaseName = (typeof FORGED_CASE_NAMES)[number];

export interface ForgedCredential {
  readonly name: string;
  /** One sentence for reports: what is wrong with it. */
  readonly explain: string;
  /** What the MITM presents in its Certificate message: leaf first, then the intermediates it needs. */
  readonly certChainPem: string;
  /** The private key the MITM holds (for replaced-key: the attacker's key, not the certified one). */
  readonly keyPem: string;
  readonly keyAlgorithm: 'ecdsa-p256' | 'rsa-2048' | 'rsa-1024';
  /**
   * True when OpenSSL at SECLEVEL 2 refuses to load it on the server side (a 1024-bit key, an MD5
   * or SHA-1 signature in the chain); the MITM then appends ':@SECLEVEL=0' to its ciphers.
   */
  readonly needsLegacySecurityLevel: boolean;
  /** Only for `revoked`: the serial the run's CRL (runCrl / catalogueCrl) lists. */
  readonly revokedSerialHex?: string;
}

export interface ForgeryContext {
  pki: Pki;
  /** The name the client expects, e.g. 'cloud.testbed.local' (or an IP address). */
  serverName: string;
  /** The forging clock; default the current time. */
  now?: Date;
}

export interface RevocationList {
  /** The intermediate CA's v2 CRL. */
  crlPem: string;
  revokedSerials: string[];
  /**
   * The root CA's (empty) CRL. node:tls turns on CRL checks for the whole chain as soon as it is
   * given a CRL, so a node:tls client needs `crl: [crlPem, rootCrlPem]`; openssl's `-crl_check`
   * checks the leaf only and needs crlPem alone.
   */
  rootCrlPem: string;
}

/** A name no genuine certificate of the testbed carries (RFC 2606 reserves `.example`). */
export const OTHER_HOST_NAME = 'attacker.example';

interface Env {
  pki: Pki;
  serverName: string;
  now: Date;
  algorithm: KeyAlgorithm;
  root: Issuer;
  intermediate: Issuer;
}

interface Forged {
  explain: string;
  certChainPem: string;
  key: KeyPair;
  needsLegacySecurityLevel?: boolean;
  revokedSerialHex?: string;
}

type Forge = (env: Env) => Promise<Forged>;

const FORGERS: Record<ForgedCaseName, Forge> = {
  'self-signed': async (env) => {
    // What `openssl req -x509` makes (a self-signed CA:TRUE certificate, no key usage limits),
    // with the right names: only the issuer is wrong.
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      issuer: 'self',
      basicConstraints: { ca: true, critical: true },
      keyUsage: undefined,
    });
    return {
      explain: `a self-signed certificate for ${env.serverName}, which no trusted CA issued`,
      certChainPem: leaf.certPem,
      key: leaf.key,
    };
  },

  'unknown-ca': async (env) => {
    // The attacker copies the genuine CAs' names; only the keys (and so the AKI/SKI) differ.
    const validity = genuineValidity(30);
    const rootMaterial = await issue(env, { ...rootCaProfile({ algorithm: env.algorithm, validity }), label: 'the attacker root CA' });
    const attackerRoot = asIssuer(rootMaterial);
    const attackerIntermediate = asIssuer(
      await issue(env, { ...intermediateCaProfile(attackerRoot, { algorithm: env.algorithm, validity }), label: 'the attacker intermediate CA' }),
    );
    const leaf = await issue(env, serverProfile(env, attackerIntermediate));
    return {
      explain: `a certificate for ${env.serverName} from a chain that copies the genuine CA names but ends in the attacker's own root, which the client does not trust`,
      certChainPem: leaf.certPem + pemOf(attackerIntermediate),
      key: leaf.key,
    };
  },

  'wrong-hostname-cn': async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      subject: { ...serverProfile(env, env.intermediate).subject, commonName: OTHER_HOST_NAME },
      subjectAltNames: undefined,
    });
    return {
      explain: `a certificate from the genuine CA for ${OTHER_HOST_NAME} (in the CN, no subjectAltName), not for ${env.serverName}`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'wrong-hostname-san': async (env) => {
    // CN = the expected name, SAN = another one: RFC 6125 §6.4.4 says a client must not look at
    // the CN when a subjectAltName is present, so only a client that does is fooled.
    const leaf = await issue(env, { ...serverProfile(env, env.intermediate), subjectAltNames: { dns: [OTHER_HOST_NAME] } });
    return {
      explain: `a certificate from the genuine CA whose subjectAltName is ${OTHER_HOST_NAME} (only its CN says ${env.serverName}, which RFC 6125 says to ignore)`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  expired: async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      validity: { notBeforeOffsetMs: -10 * DAY_MS, notAfterOffsetMs: -DAY_MS },
    });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} that expired a day ago`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'not-yet-valid': async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      validity: { notBeforeOffsetMs: DAY_MS, notAfterOffsetMs: 30 * DAY_MS },
    });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} that becomes valid only tomorrow`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'expired-intermediate': async (env) => {
    // A retired intermediate, signed by the genuine root key, whose key the attacker kept.
    const retired = asIssuer(
      await issue(env, {
        ...intermediateCaProfile(env.root, { algorithm: env.algorithm, validity: { notBeforeOffsetMs: -60 * DAY_MS, notAfterOffsetMs: -DAY_MS } }),
        label: 'the retired intermediate CA',
        subject: { commonName: `Retired Intermediate CA – ${DO_NOT_TRUST}`, organization: TESTBED_ORGANIZATION },
      }),
    );
    const leaf = await issue(env, {
      ...serverProfile(env, retired),
      validity: { notBeforeOffsetMs: -40 * DAY_MS, notAfterOffsetMs: 30 * DAY_MS },
    });
    return {
      explain: `a certificate for ${env.serverName} issued by an intermediate of the genuine root that expired a day ago`,
      certChainPem: leaf.certPem + pemOf(retired),
      key: leaf.key,
    };
  },

  'ca-false-intermediate': async (env) => {
    // The basicConstraints attack (Marlinspike, 2002): a genuine leaf (the gateway's, whose key
    // the attacker holds) signs a certificate for the server. RFC 5280 §4.2.1.9: only CA:TRUE
    // certificates may issue.
    const gateway = issuerFromPem(env.pki.gateway, 'the gateway');
    const leaf = await issue(env, serverProfile(env, gateway));
    return {
      explain: `a certificate for ${env.serverName} signed with the gateway's genuine end-entity certificate (CA:FALSE) as if it were a CA`,
      certChainPem: leaf.certPem + env.pki.gateway.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'no-basic-constraints-intermediate': async (env) => {
    const subCa = asIssuer(
      await issue(env, {
        ...intermediateCaProfile(env.root, { algorithm: env.algorithm, validity: caValidity(env) }),
        label: 'the intermediate without basicConstraints',
        subject: { commonName: `Sub-CA without basicConstraints – ${DO_NOT_TRUST}`, organization: TESTBED_ORGANIZATION },
        basicConstraints: 'omit',
      }),
    );
    const leaf = await issue(env, serverProfile(env, subCa));
    return {
      explain: `a certificate for ${env.serverName} issued by an intermediate of the genuine root that has no basicConstraints, so is not a CA (RFC 5280 §4.2.1.9)`,
      certChainPem: leaf.certPem + pemOf(subCa),
      key: leaf.key,
    };
  },

  'bad-signature': async (env) => {
    const leaf = await issue(env, { ...serverProfile(env, env.intermediate), postProcess: flipLastSignatureBit });
    return {
      explain: `a certificate for ${env.serverName} naming the genuine CA as issuer whose signature does not verify (one bit flipped)`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'replaced-key': async (env) => {
    const genuine = new X509Certificate(env.pki.cloud.certPem);
    assertCovers(genuine, env.serverName, 'replaced-key', 'the genuine cloud certificate');
    const certified = keyPairFromPrivatePem(env.pki.cloud.keyPem, 'the cloud key');
    return {
      explain: `the genuine certificate of ${env.serverName}, presented with the attacker's own key instead of the certified one`,
      certChainPem: env.pki.cloud.chainPem,
      key: await generateKeyPair(certified.spec),
    };
  },

  'wrong-eku': async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      extendedKeyUsage: { usages: ['clientAuth'], critical: false },
    });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} whose extended key usage allows TLS client authentication only, not serverAuth`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'sha1-signature': async (env) => {
    const leaf = await issue(env, { ...serverProfile(env, env.intermediate), signatureHash: 'SHA-1' });
    return {
      explain: `a certificate for ${env.serverName} that the genuine CA signed with SHA-1, which has practical collisions (SHAttered, 2017)`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
      needsLegacySecurityLevel: true,
    };
  },

  'md5-signature': async (env) => {
    // MD5 exists only as md5WithRSAEncryption. With an RSA PKI the genuine intermediate signs;
    // with an ECDSA PKI (no ECDSA-with-MD5 exists) a legacy RSA intermediate that the genuine
    // root certified with SHA-256 does, so the MD5 signature is still the chain's only defect.
    const rsaIssuer = env.algorithm === 'rsa-2048' ? env.intermediate : await legacyRsaIntermediate(env);
    const leaf = await issue(env, {
      ...serverProfile(env, rsaIssuer),
      key: { kind: 'rsa', modulusBits: 2048 },
      keyUsage: { usages: ['digitalSignature', 'keyEncipherment'], critical: true },
      postProcess: (der) => resignWithMd5(der, rsaIssuer.key.privateKey),
    });
    const intermediates = rsaIssuer === env.intermediate ? env.pki.intermediateCa.certPem : pemOf(rsaIssuer);
    return {
      explain:
        rsaIssuer === env.intermediate
          ? `a certificate for ${env.serverName} that the genuine CA signed with MD5 (md5WithRSAEncryption), forgeable by chosen-prefix collision`
          : `a certificate for ${env.serverName} signed with MD5 (md5WithRSAEncryption) by a legacy RSA intermediate of the genuine root (ECDSA has no MD5 variant), forgeable by chosen-prefix collision`,
      certChainPem: leaf.certPem + intermediates,
      key: leaf.key,
      needsLegacySecurityLevel: true,
    };
  },

  'rsa-1024': async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      key: { kind: 'rsa', modulusBits: 1024 },
      keyUsage: { usages: ['digitalSignature', 'keyEncipherment'], critical: true },
    });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} with a 1024-bit RSA key (80-bit security; NIST SP 800-131A disallows it since 2014)`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
      needsLegacySecurityLevel: true,
    };
  },

  'unknown-critical-extension': async (env) => {
    const leaf = await issue(env, {
      ...serverProfile(env, env.intermediate),
      extraExtensions: [{ oid: UNKNOWN_EXTENSION_OID, critical: true, valueDer: new Uint8Array([0x05, 0x00]) }],
    });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} carrying an unknown extension marked critical, which RFC 5280 §4.2 says must be rejected`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
    };
  },

  'real-cert-other-name': async (env) => {
    const gateway = new X509Certificate(env.pki.gateway.certPem);
    if (covers(gateway, env.serverName)) {
      throw new Error(
        `forged-catalogue: real-cert-other-name: the gateway certificate also covers ${env.serverName}; use a serverName only the cloud has, e.g. 'cloud.testbed.local'`,
      );
    }
    return {
      explain: `the gateway's genuine, valid certificate and key (an identity the attacker really holds), which is not for ${env.serverName}`,
      certChainPem: env.pki.gateway.chainPem,
      key: keyPairFromPrivatePem(env.pki.gateway.keyPem, 'the gateway key'),
    };
  },

  revoked: async (env) => {
    const serialHex = revokedSerialHex(env.pki);
    const leaf = await issue(env, { ...serverProfile(env, env.intermediate), serialHex });
    return {
      explain: `a certificate from the genuine CA for ${env.serverName} that the CA has revoked (serial ${serialHex} on its CRL)`,
      certChainPem: leaf.certPem + env.pki.intermediateCa.certPem,
      key: leaf.key,
      revokedSerialHex: serialHex,
    };
  },
};

/** A private-enterprise OID nobody implements (RFC 5280 §4.2: critical + unrecognised = reject). */
export const UNKNOWN_EXTENSION_OID = '1.3.6.1.4.1.55555.1.1';

export function isForgedCaseName(name: string): name is ForgedCaseName {
  return (FORGED_CASE_NAMES as readonly string[]).includes(name);
}

export async function forgeCertificate(name: string, ctx: ForgeryContext): Promise<ForgedCredential> {
  if (!isForgedCaseName(name)) {
    throw new Error(`forged-catalogue: unknown case ${JSON.stringify(name)}; valid names: ${FORGED_CASE_NAMES.join(', ')}`);
  }
  const env = environment(ctx);
  return credential(name, await FORGERS[name](env));
}

/** Every case, forged concurrently (key generation runs on libuv's thread pool). */
export async function forgeCatalogue(ctx: ForgeryContext): Promise<Map<string, ForgedCredential>> {
  const env = environment(ctx);
  const forged = await Promise.all(FORGED_CASE_NAMES.map(async (name) => credential(name, await FORGERS[name](env))));
  return new Map(forged.map((c) => [c.name, c]));
}

/** The intermediate CA's CRL listing `revokedSerials`, plus the root's empty CRL (see RevocationList). */
export async function runCrl(ctx: ForgeryContext, revokedSerials: string[]): Promise<RevocationList> {
  const now = ctx.now ?? new Date();
  const intermediate = issuerFromPem(ctx.pki.intermediateCa, 'the intermediate CA');
  const root = issuerFromPem(ctx.pki.rootCa, 'the root CA');
  const [crl, rootCrl] = await Promise.all([issueCrl(intermediate, { revokedSerials, now }), issueCrl(root, { revokedSerials: [], now })]);
  return { crlPem: crlPem(crl), revokedSerials: revokedSerials.map((s) => s.toUpperCase()), rootCrlPem: crlPem(rootCrl) };
}

/** The run's CRL: the one that revokes the `revoked` case's certificate. */
export async function catalogueCrl(ctx: ForgeryContext): Promise<RevocationList> {
  return runCrl(ctx, [revokedSerialHex(ctx.pki)]);
}

/**
 * The `revoked` case's serial, derived from the run's intermediate so that the certificate and
 * the CRL agree without shared state. 16 octets, positive, no leading zero (as randomSerialHex).
 */
export function revokedSerialHex(pki: Pki): string {
  const bytes = createHash('sha256').update('forged-catalogue: revoked\n').update(pki.intermediateCa.certPem).digest().subarray(0, 16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

function environment(ctx: ForgeryContext): Env {
  if (ctx.serverName.length === 0 || ctx.serverName.toLowerCase() === OTHER_HOST_NAME) {
    throw new Error(`forged-catalogue: serverName must be the name the client expects and not ${OTHER_HOST_NAME}, e.g. 'cloud.testbed.local'`);
  }
  const root = issuerFromPem(ctx.pki.rootCa, 'the root CA');
  const intermediate = issuerFromPem(ctx.pki.intermediateCa, 'the intermediate CA');
  const algorithm: KeyAlgorithm = root.key.spec.kind === 'ec' ? 'ecdsa-p256' : 'rsa-2048';
  return { pki: ctx.pki, serverName: ctx.serverName, now: ctx.now ?? new Date(), algorithm, root, intermediate };
}

function credential(name: ForgedCaseName, forged: Forged): ForgedCredential {
  return {
    name,
    explain: forged.explain,
    certChainPem: forged.certChainPem,
    keyPem: privateKeyPem(forged.key),
    keyAlgorithm: keyAlgorithmOf(forged.key),
    needsLegacySecurityLevel: forged.needsLegacySecurityLevel ?? false,
    ...(forged.revokedSerialHex === undefined ? {} : { revokedSerialHex: forged.revokedSerialHex }),
  };
}

function keyAlgorithmOf(key: KeyPair): ForgedCredential['keyAlgorithm'] {
  if (key.spec.kind === 'ec') return 'ecdsa-p256';
  if (key.spec.modulusBits === 1024) return 'rsa-1024';
  if (key.spec.modulusBits === 2048) return 'rsa-2048';
  throw new Error(`forged-catalogue: unexpected RSA key size ${key.spec.modulusBits}`);
}

/**
 * The genuine cloud server profile, for `serverName`, issued by `issuer` within its validity:
 * the starting point every case changes one thing in.
 */
function serverProfile(env: Env, issuer: Issuer): CertificateProfile {
  const ip = isIP(env.serverName) !== 0;
  const base = cloudServerProfile(issuer, { dns: ip ? [] : [env.serverName.toLowerCase()], ip: ip ? [env.serverName] : [] }, {
    algorithm: env.algorithm,
    validity: leafValidity(env, issuer),
  });
  const commonName = env.serverName.length <= 64 ? env.serverName : base.subject.commonName;
  return { ...base, label: 'a forged server certificate', subject: { ...base.subject, commonName } };
}

/** The usual hour of clock skew allowance, ending with the issuer (as pki.ts issueWearable). */
function leafValidity(env: Env, issuer: Issuer): CertificateProfile['validity'] {
  const notAfter = issuer.certificate.notAfter.getTime() - env.now.getTime();
  return { notBeforeOffsetMs: -HOUR_MS, notAfterOffsetMs: notAfter > 0 ? notAfter : 30 * DAY_MS };
}

/** A sub-CA of the genuine root, valid as long as the genuine intermediate. */
function caValidity(env: Env): CertificateProfile['validity'] {
  return {
    notBeforeOffsetMs: env.intermediate.certificate.notBefore.getTime() - env.now.getTime(),
    notAfterOffsetMs: env.intermediate.certificate.notAfter.getTime() - env.now.getTime(),
  };
}

async function legacyRsaIntermediate(env: Env): Promise<Issuer> {
  return asIssuer(
    await issue(env, {
      ...intermediateCaProfile(env.root, { algorithm: 'rsa-2048', validity: caValidity(env) }),
      label: 'the legacy RSA intermediate CA',
      subject: { commonName: `Legacy RSA Intermediate CA – ${DO_NOT_TRUST}`, organization: TESTBED_ORGANIZATION },
    }),
  );
}

function issue(env: Env, profile: CertificateProfile): Promise<IssuedMaterial> {
  return issueCertificate(profile, env.now);
}

function asIssuer(material: IssuedMaterial): Issuer {
  return { certificate: material.certificate, key: material.key };
}

function pemOf(issuer: Issuer): string {
  return issuer.certificate.toString('pem') + '\n';
}

/** Flips the lowest bit of the last signature octet: the DER still parses, the signature fails. */
function flipLastSignatureBit(der: Uint8Array): Uint8Array {
  const copy = der.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
}

function covers(certificate: X509Certificate, name: string): boolean {
  return isIP(name) !== 0 ? certificate.checkIP(name) !== undefined : certificate.checkHost(name) !== undefined;
}

function assertCovers(certificate: X509Certificate, name: string, caseName: string, what: string): void {
  if (!covers(certificate, name)) {
    throw new Error(`forged-catalogue: ${caseName}: ${what} does not cover ${name}; use one of its names, e.g. 'cloud.testbed.local'`);
  }
}
