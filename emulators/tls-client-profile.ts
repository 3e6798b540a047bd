/**
 * Client security profiles: how a device or the gateway's upstream client configures TLS.
 *
 * A profile is data; `tlsClientOptions` turns it into node:tls options. Named insecure profiles
 * exist to demonstrate attacks (docs/architecture.md §3 Roles); `secure` is what the source chapter prescribes
 * (§17.3.1/§17.4): CA chain and hostname verified, TLS 1.3, mutual TLS.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';

export interface TlsClientProfile {
  readonly name: string;
  readonly explain: string;
  /** Verify the server's chain against the trusted CA (RFC 5280 §6). */
  readonly verifyChain: boolean;
  /** Verify the server's name against its certificate (RFC 6125 / RFC 9525). */
  readonly verifyHostname: boolean;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Also require the server key to match a pinned SPKI hash (RFC 7469 §2.4 pin format). */
  readonly pinSpki?: boolean;
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are not restricted here). */
  readonly ciphers?: string;
  /** No TLS at all: MQTT in clear (port 1883), the source chapter's first pitfall (§17.5). */
  readonly plaintext?: boolean;
  /** Check the server chain against the CA's revocation lists (RFC 5280 §6.3). */
  readonly checkRevocation?: boolean;
}

export const secureProfile: TlsClientProfile = {
  name: 'secure',
  explain: 'verifies the CA chain and the server name, TLS 1.3 only, presents its own certificate (mTLS)',
  verifyChain: true,
  verifyHostname: true,
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  // OpenSSL security level 2: refuse RSA keys under 2048 bits and SHA-1 signatures in the chain
  // (Node's default level 1 accepts a 1024-bit RSA server key).
  ciphers: 'DEFAULT:@SECLEVEL=2',
};

/** Pitfall of the source chapter (§17.5, "certificate validation failures"): any certificate is accepted. */
export const noVerifyProfile: TlsClientProfile = {
  ...secureProfile,
  name: 'no-verify',
  explain: 'accepts any certificate (rejectUnauthorized: false), the "disabled during testing and never re-enabled" pitfall',
  verifyChain: false,
  verifyHostname: false,
};

/** Chain checked, name not: any valid certificate from the trusted CA impersonates the cloud. */
export const noHostnameCheckProfile: TlsClientProfile = {
  ...secureProfile,
  name: 'no-hostname-check',
  explain: 'verifies the chain but not the server name, so any certificate the CA issued passes',
  verifyHostname: false,
};

/** secure plus revocation checking: without it a revoked certificate still passes. */
export const secureCrlProfile: TlsClientProfile = {
  ...secureProfile,
  name: 'secure-crl',
  explain: 'secure, and also checks the CA revocation lists (CRL), so a revoked certificate is refused',
  checkRevocation: true,
};

/** secure plus an SPKI pin of the cloud's key (source chapter §17.10, "Certificate Pinning"). */
export const pinnedProfile: TlsClientProfile = {
  ...secureProfile,
  name: 'pinned',
  explain: 'verifies chain and name and also requires the cloud key to match a pinned SPKI SHA-256',
  pinSpki: true,
};

/** MQTT without TLS: "Credentials visible in network packet captures" (source chapter §17.5). */
export const plaintextProfile: TlsClientProfile = {
  ...noVerifyProfile,
  name: 'plaintext',
  explain: 'speaks MQTT without TLS (port 1883): username, password and topics cross the network in clear',
  plaintext: true,
};

/**
 * An old device firmware: TLS 1.2 only, offering just TLS_RSA_WITH_AES_128_CBC_SHA, the source
 * chapter's "Legacy only" suite (§17.3.1): RSA key transport (no forward secrecy) and CBC
 * (padding oracles), both excluded by RFC 9325 §4.2. A policy-compliant broker refuses it.
 */
export const legacyTls12CbcProfile: TlsClientProfile = {
  ...secureProfile,
  name: 'legacy-tls12-cbc',
  explain: 'TLS 1.2 only, offering only TLS_RSA_WITH_AES_128_CBC_SHA (RSA key transport, CBC): the "legacy only" suite',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
  ciphers: 'AES128-SHA',
};

/**
 * An older firmware that still accepts TLS 1.2 and OpenSSL's default TLS 1.2 suites, CBC-SHA ones
 * included: it prefers TLS 1.3 but takes whatever a server offers within that list, so a
 * gateway that offers only TLS 1.2 with a CBC suite gets it (RFC 9325 §4.1 asks clients to
 * negotiate TLS 1.3 when they can; nothing stops a server from not offering it).
 */
export const legacyTls12Profile: TlsClientProfile = {
  ...secureProfile,
  name: 'legacy-tls12',
  explain: 'accepts TLS 1.2 and its default suites (CBC-SHA included) besides TLS 1.3: a server that offers only TLS 1.2 with CBC gets it',
  minVersion: 'TLSv1.2',
};

export const clientProfiles: ReadonlyMap<string, TlsClientProfile> = new Map(
  [secureProfile, secureCrlProfile, noVerifyProfile, noHostnameCheckProfile, pinnedProfile].map((p) => [p.name, p]),
);

/** Every profile a wearable can use, including those that are not TLS client profiles. */
export const wearableProfiles: ReadonlyMap<string, TlsClientProfile> = new Map([...clientProfiles, [plaintextProfile.name, plaintextProfile], [legacyTls12CbcProfile.name, legacyTls12CbcProfile], [legacyTls12Profile.name, legacyTls12Profile]]);

export function clientProfile(name: string): TlsClientProfile {
  const p = wearableProfiles.get(name);
  if (!p) throw new Error(`tls-client-profile: unknown profile "${name}"; valid profiles: ${[...wearableProfiles.keys()].join(', ')}`);
  return p;
}

export interface TlsClientIdentity {
  /** PEM: trusted CA certificate(s). */
  readonly ca: string;
  /** PEM: own certificate chain (leaf first) and key, for mTLS. */
  readonly certChain?: string;
  readonly key?: string;
  /** The name the client expects the server to prove (SNI and hostname check). */
  readonly serverName: string;
  /** PEM CRLs of every CA in the chain (OpenSSL needs one per CA once it checks any), RFC 5280 §6.3. */
  readonly crlPem?: string | readonly string[];
  /** base64 SHA-256 of the expected server SubjectPublicKeyInfo, for the pinned profile. */
  readonly spkiPinSha256?: string;
}

/**
 * RFC 7469 §2.4 pin: base64(SHA-256(SubjectPublicKeyInfo DER)). Node's PeerCertificate.pubkey is
 * the bare EC point, not the SPKI, so the SPKI is taken from the certificate's DER.
 */
export function spkiPinOf(cert: PeerCertificate | string): string {
  const x509 = new X509Certificate(typeof cert === 'string' ? cert : cert.raw);
  return createHash('sha256').update(x509.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

export function tlsClientOptions(profile: TlsClientProfile, id: TlsClientIdentity): ConnectionOptions {
  return {
    ca: id.ca,
    ...(id.certChain ? { cert: id.certChain } : {}),
    ...(id.key ? { key: id.key } : {}),
    servername: id.serverName,
    minVersion: profile.minVersion,
    maxVersion: profile.maxVersion,
    rejectUnauthorized: profile.verifyChain,
    ...(profile.checkRevocation && id.crlPem ? { crl: typeof id.crlPem === 'string' ? id.crlPem : [...id.crlPem] } : {}),
    ...(profile.ciphers ? { ciphers: profile.ciphers } : {}),
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      if (profile.verifyHostname) {
        const err = checkServerIdentity(host, cert);
        if (err) return err;
      }
      if (profile.pinSpki) {
        if (!id.spkiPinSha256) return new Error(`profile ${profile.name}: no SPKI pin configured; give the client the cloud key's pin`);
        const got = spkiPinOf(cert);
        if (got !== id.spkiPinSha256) return Object.assign(new Error(`SPKI pin mismatch: server key ${got} is not the pinned ${id.spkiPinSha256}`), { code: 'ERR_SPKI_PIN_MISMATCH' });
      }
      return undefined;
    },
  };
}
