/**
 * Client security profiles: how a device or the gateway's upstream client configures TLS.
 *
 * A profile is data; `tlsClientOptions` turns it into node:tls options. Named insecure profiles
 * exist to demonstrate attacks (DESIGN.md §3); `secure` is what the source chapter prescribes
 * (§17.3.1/§17.4): CA chain and hostname verified, TLS 1.3, mutual TLS.
 */
import type { ConnectionOptions } from 'node:tls';

export interface TlsClientProfile {
  readonly name: string;
  readonly explain: string;
  /** Verify the server's chain against the trusted CA (RFC 5280 §6). */
  readonly verifyChain: boolean;
  /** Verify the server's name against its certificate (RFC 6125 / RFC 9525). */
  readonly verifyHostname: boolean;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
}

export const secureProfile: TlsClientProfile = {
  name: 'secure',
  explain: 'verifies the CA chain and the server name, TLS 1.3 only, presents its own certificate (mTLS)',
  verifyChain: true,
  verifyHostname: true,
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
};

export const clientProfiles: ReadonlyMap<string, TlsClientProfile> = new Map([[secureProfile.name, secureProfile]]);

export function clientProfile(name: string): TlsClientProfile {
  const p = clientProfiles.get(name);
  if (!p) throw new Error(`tls-client-profile: unknown profile "${name}"; valid profiles: ${[...clientProfiles.keys()].join(', ')}`);
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
    ...(profile.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}
