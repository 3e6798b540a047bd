/**
 * The identity a TLS peer proved with its client certificate (mTLS). The broker takes a client's
 * identity from here, never from what the client claims in MQTT CONNECT.
 */
import type { TLSSocket } from 'node:tls';

export interface PeerIdentity {
  readonly commonName: string;
  /** 'wearable' | 'gateway' | …: the OU our PKI puts in each leaf certificate. */
  readonly unit: string;
  readonly fingerprint256: string;
}

export function peerIdentity(socket: TLSSocket): PeerIdentity | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const pick = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));
  return { commonName: pick(cert.subject.CN), unit: pick(cert.subject.OU), fingerprint256: cert.fingerprint256 };
}
