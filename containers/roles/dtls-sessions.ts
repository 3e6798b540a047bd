/**
 * The two ends of DTLS resumption in containers (topology/containers-dtls-resumption.ts), the
 * SAME code the local rig runs (topology/dtls-resumption-rig.ts), pion bridges from the
 * read-only project mount:
 *
 *   dtls-session-server   the cloud's bridge server keeping sessions (RFC 5246 §7.3 session IDs)
 *   dtls-session-device   wearable-0001's bridge client keeping its session
 *     POST /handshake {timeoutMs}   first call: handshake; later calls: reconnect and handshake again
 *
 * Each writes its session keys to EVIDENCE_DIR/dtls-keylogs/<role>.keylog (0600); the topology
 * merges them into the scenario's dtls.keylog.
 */
import { lookup } from 'node:dns/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pkiPaths } from '../../certs/pki-files.ts';
import { DtlsSessionClient, startDtlsSessionServer } from '../../topology/dtls-resumption-rig.ts';
import { EVIDENCE_DIR, PKI_DIR, type DtlsSessionDeviceRole, type DtlsSessionServerRole, type RoleConfig } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export type DtlsSessionRoleConfig = DtlsSessionServerRole | DtlsSessionDeviceRole;

export function isDtlsSessionRole(config: RoleConfig): config is DtlsSessionRoleConfig {
  return config.role === 'dtls-session-server' || config.role === 'dtls-session-device';
}

export function startDtlsSessionRole(config: DtlsSessionRoleConfig): Promise<ServedRole> {
  return config.role === 'dtls-session-server' ? startServer(config) : startDevice(config);
}

function keyLogFile(role: string): string {
  const dir = join(EVIDENCE_DIR, 'dtls-keylogs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${role}.keylog`);
}

async function startServer(config: DtlsSessionServerRole): Promise<ServedRole> {
  const server = await startDtlsSessionServer({ pki: pkiPaths(PKI_DIR), listen: { host: '0.0.0.0', port: config.listenPort }, clientCertificate: config.clientCertificate, keyLogFile: keyLogFile(config.role) });
  return {
    routes: { 'GET /observations': async () => server.log.all() },
    stop: async () => {
      await server.stop();
    },
  };
}

async function startDevice(config: DtlsSessionDeviceRole): Promise<ServedRole> {
  let host: string;
  try {
    // The bridge takes an address; the link's name is resolved on this container's network.
    host = (await lookup(config.endpoint.host, { family: 4 })).address;
  } catch (err) {
    throw new Error(`dtls-session-device: cannot resolve ${config.endpoint.host} (${(err as Error).message}); is the link on this container's network?`, { cause: err });
  }
  const client = new DtlsSessionClient({ pki: pkiPaths(PKI_DIR), connect: { host, port: config.endpoint.port }, clientCertificate: config.clientCertificate, keyLogFile: keyLogFile(config.role) });
  return {
    routes: { 'POST /handshake': async (b) => client.handshake(Number(b.timeoutMs ?? 10_000)) },
    stop: () => client.stop(),
  };
}
