/**
 * The device of the handshake scenarios in a container: the same Wearable the local rig
 * (topology/resumption-rig.ts) drives, with its own TLS session cache, pinned to one TLS
 * version at both ends of its range. Each POST /connect is a new connection (a new Wearable
 * object sharing the cache), so the second one offers the first one's session, as a device that
 * wakes, reports and sleeps would.
 *
 *   POST /connect {serverName, reconnectPeriodMs?}  connect, wait for CONNACK → {id, ms}
 *   POST /disconnect {id}                            hang up (MQTT DISCONNECT, TLS close)
 *   POST /connacks {id, count, timeoutMs}            wait until connection id saw `count` CONNACKs
 *   GET  /observations?id=N                          that connection's observation log
 */
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import { Wearable } from '../../emulators/wearable.ts';
import { SimClock } from '../../emulators/sim-clock.ts';
import { secureProfile, type TlsClientProfile } from '../../emulators/tls-client-profile.ts';
import { TlsSessionCache } from '../../emulators/tls-session-cache.ts';
import type { EvidenceSink } from '../../emulators/evidence.ts';
import { PKI_DIR, type ResumptionDeviceRole } from '../role-config.ts';

/** What role-runner.ts serves for a role: its routes and how to stop it. */
export interface ServedRole {
  readonly routes: Record<string, (body: Record<string, unknown>, query: URLSearchParams) => Promise<unknown>>;
  stop(): Promise<void>;
}

/** The TLS version pinned at both ends of the client's range (as ResumptionRig#profile). */
export function pinnedProfile(version: 'TLS 1.2' | 'TLS 1.3'): TlsClientProfile {
  const v = version === 'TLS 1.2' ? 'TLSv1.2' : 'TLSv1.3';
  return { ...secureProfile, name: `secure (${version})`, minVersion: v, maxVersion: v };
}

export function startResumptionDevice(config: ResumptionDeviceRole, evidence: EvidenceSink): ServedRole {
  const pki = pkiPaths(PKI_DIR);
  const files = pki.wearable(config.device.deviceId);
  const material = {
    deviceKeyPem: readPem(files.key, `the ${config.device.deviceId} device key`),
    deviceCertChainPem: readPem(files.chain, `the ${config.device.deviceId} certificate chain`),
    caPem: readPem(pki.caBundle, 'the testbed CA bundle'),
    cloudE3PublicKeyPem: readPem(pki.cloudE3.publicKey, 'the cloud E3 public key'),
  };
  const cache = config.keepSessions ? new TlsSessionCache() : undefined;
  const profile = pinnedProfile(config.tlsVersion);
  const connections: Wearable[] = [];
  const connection = (id: unknown): Wearable => {
    const w = typeof id === 'number' ? connections[id] : undefined;
    if (!w) throw new Error(`resumption-device: no connection ${JSON.stringify(id)}; ${connections.length} were made (ids 0..${connections.length - 1})`);
    return w;
  };
  return {
    routes: {
      'POST /connect': async (b) => {
        if (typeof b.serverName !== 'string' || b.serverName === '') throw new Error('resumption-device: POST /connect needs {"serverName": "cloud.testbed.local"}');
        const w = new Wearable({
          provisioning: config.device,
          ...material,
          endpoint: { ...config.endpoint, serverName: b.serverName },
          profile,
          clock: SimClock.compressed(1),
          evidence,
          ...(cache ? { sessionCache: cache } : {}),
          ...(typeof b.reconnectPeriodMs === 'number' ? { reconnectPeriodMs: b.reconnectPeriodMs } : {}),
        });
        connections.push(w);
        const started = performance.now();
        await w.connect();
        return { id: connections.length - 1, ms: performance.now() - started };
      },
      'POST /disconnect': async (b) => {
        await connection(b.id).stop();
        return { stopped: true };
      },
      'POST /connacks': async (b) => {
        await connection(b.id).log.waitForCount('CONNACKs', (o) => o.kind === 'mqtt-connected', Number(b.count), Number(b.timeoutMs ?? 10_000));
        return { connacks: Number(b.count) };
      },
      'GET /observations': async (_b, q) => connection(Number(q.get('id'))).log.all(),
    },
    stop: async () => {
      await Promise.allSettled(connections.map((w) => w.stop()));
    },
  };
}
