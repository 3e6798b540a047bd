/**
 * The two ends of DTLS resumption in containers (topology/containers-dtls-resumption.ts), the
 * SAME code the local rig runs (topology/dtls-resumption-rig.ts), pion bridges from the
 * read-only project mount:
 *
 *   dtls-session-server   the cloud's bridge server keeping sessions (RFC 5246 §7.3 session IDs)
 *   dtls-session-device   wearable-0001's bridge client keeping its session
 *     POST /handshake {timeoutMs, earlyDataHex?}   first call: handshake; later calls: reconnect and handshake again (with DTLS 1.3 0-RTT data)
 *     POST /send {payloadHex}        one datagram through the current connection
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
  const client = new DtlsSessionClient({ pki: pkiPaths(PKI_DIR), connect: { host, port: config.endpoint.port }, clientCertificate: config.clientCertificate, keyLogFile: keyLogFile(config.role), ...(config.sessionStore === false ? { sessionStore: false } : {}) });
  return {
    routes: {
      'POST /handshake': async (b) => {
        // earlyDataHex: DTLS 1.3 0-RTT data for the reconnect's first flight (wolfssl-bridge).
        const hex = b.earlyDataHex;
        if (hex !== undefined && (typeof hex !== 'string' || !/^(?:[0-9a-f]{2}){1,16384}$/.test(hex))) throw new Error('dtls-session-device: earlyDataHex must be lower-case hex bytes');
        return client.handshake(Number(b.timeoutMs ?? 10_000), hex === undefined ? undefined : Buffer.from(hex, 'hex'));
      },
      // One datagram through the current connection (a reading whose first byte the capture times).
      'POST /send': async (b) => {
        if (typeof b.payloadHex !== 'string' || !/^(?:[0-9a-f]{2}){1,16384}$/.test(b.payloadHex)) throw new Error('dtls-session-device: payloadHex must be lower-case hex bytes');
        client.send(Buffer.from(b.payloadHex, 'hex'));
        return { sent: b.payloadHex.length / 2 };
      },
    },
    stop: () => client.stop(),
  };
}
