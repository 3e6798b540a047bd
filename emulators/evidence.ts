/**
 * Where roles hand the evidence that only they can produce: TLS sockets whose session keys go
 * into the run's SSLKEYLOGFILE (docs/architecture.md §7 Evidence). Roles do not know where the key log lives or
 * whether one is kept; the topology decides.
 */
import type { Server, TLSSocket } from 'node:tls';

export interface EvidenceSink {
  tlsEndpoint(role: string, endpoint: TLSSocket | Server): void;
}

export const noEvidence: EvidenceSink = { tlsEndpoint: () => undefined };
