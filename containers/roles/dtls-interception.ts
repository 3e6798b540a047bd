/**
 * The certificate-DTLS roles in containers (topology/containers-dtls-interception.ts), each
 * running the SAME code the local rig runs (topology/dtls-mitm-rig.ts), with pion bridges from
 * the read-only project mount:
 *
 *   dtls-mitm            the DTLS MITM (emulators/dtls/dtls-mitm.ts), long-lived, armed per attempt
 *     POST /arm {dir, presents}   stop the previous MITM, start a fresh one presenting `presents`
 *     POST /disarm {waitMs}       after `waitMs`, stop it; return its observations and plaintext bytes
 *   dtls-client          wearable-0001's DTLS clients, long-lived, one fresh run per request
 *     POST /attempt {client, target, readings, timeoutMs}   one matrix attempt (runDtlsVictim)
 *     POST /s_client {target, timeoutMs}                    s_client sends one sealed reading (opensslPeer)
 *   dtls-cloud-endpoint  the cloud's certificate DTLS endpoint and its cloud service, per scenario
 *     GET /observations, GET /audit
 *
 * `dir` is an evidence directory relative to EVIDENCE_DIR; `target` a {host, port} on the role's
 * network (resolved here: pion's bridge and s_client both take an address).
 */
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { pkiPaths } from '../../certs/pki-files.ts';
import type { ForgedCredential } from '../../certs/forged-catalogue.ts';
import { DtlsMitm } from '../../emulators/dtls/dtls-mitm.ts';
import type { Observation } from '../../emulators/observation-log.ts';
import { certificateCloudEndpoint, checkDtlsClientName, opensslPeer, runDtlsVictim, type DtlsVictimMaterial } from '../../topology/dtls-mitm-rig.ts';
import { EVIDENCE_DIR, PKI_DIR, type DtlsClientRole, type DtlsCloudEndpointRole, type DtlsMitmRole, type RoleConfig } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export type DtlsInterceptionRoleConfig = DtlsMitmRole | DtlsClientRole | DtlsCloudEndpointRole;

export function isDtlsInterceptionRole(config: RoleConfig): config is DtlsInterceptionRoleConfig {
  return config.role === 'dtls-mitm' || config.role === 'dtls-client' || config.role === 'dtls-cloud-endpoint';
}

export function startDtlsInterceptionRole(config: DtlsInterceptionRoleConfig): Promise<ServedRole> {
  if (config.role === 'dtls-mitm') return startDtlsMitm(config);
  if (config.role === 'dtls-client') return startDtlsClient(config);
  return startCloudEndpoint(config);
}

/** The body of POST /arm; checked, as it crosses a process boundary. */
export interface DtlsArmRequest {
  readonly dir: string;
  readonly presents: ForgedCredential;
}

function evidenceDir(who: string, dir: unknown): string {
  if (typeof dir !== 'string' || dir === '' || dir.startsWith('/') || dir.split('/').includes('..')) throw new Error(`${who}: "dir" must be a path inside the evidence directory, got ${JSON.stringify(dir)}`);
  return join(EVIDENCE_DIR, dir);
}

async function target(who: string, t: unknown): Promise<{ host: string; port: number }> {
  const o = (t ?? {}) as { host?: unknown; port?: unknown };
  if (typeof o.host !== 'string' || !Number.isInteger(o.port)) throw new Error(`${who}: "target" must be {"host": …, "port": …}, got ${JSON.stringify(t)}`);
  try {
    return { host: (await lookup(o.host, { family: 4 })).address, port: o.port as number };
  } catch (err) {
    throw new Error(`${who}: cannot resolve ${o.host} (${(err as Error).message}); is that role on this container's network?`, { cause: err });
  }
}

async function startDtlsMitm(config: DtlsMitmRole): Promise<ServedRole> {
  let armed: DtlsMitm | undefined;
  const disarm = async (): Promise<{ observations: readonly Observation[]; plaintextBytes: number }> => {
    const mitm = armed;
    armed = undefined;
    if (!mitm) return { observations: [], plaintextBytes: 0 };
    await mitm.stop();
    return { observations: [...mitm.log.all(), ...(mitm.bridgeLog?.all() ?? [])], plaintextBytes: mitm.plaintextBytes() };
  };
  return {
    routes: {
      'POST /arm': async (body) => {
        const dir = evidenceDir('dtls-mitm', body.dir);
        const presents = body.presents as Partial<ForgedCredential> | undefined;
        if (!presents || typeof presents.name !== 'string' || typeof presents.certChainPem !== 'string' || typeof presents.keyPem !== 'string') throw new Error('dtls-mitm: "presents" must be a forged credential with name, explain, certChainPem and keyPem (certs/forged-catalogue.ts)');
        await disarm();
        // A fresh bridge per attempt: a fresh DTLS server state, observation log and plaintext count.
        const mitm = new DtlsMitm({ listen: { host: '0.0.0.0', port: config.listenPort }, credential: presents as ForgedCredential, dir: join(dir, 'mitm'), handshakeTimeoutMs: config.handshakeTimeoutMs });
        await mitm.start();
        armed = mitm;
        return mitm.log.all();
      },
      'POST /disarm': async (body) => {
        const waitMs = Number(body.waitMs ?? 0);
        if (armed && waitMs > 0) await new Promise((r) => setTimeout(r, Math.min(waitMs, 5_000)));
        return disarm();
      },
    },
    stop: async () => {
      await disarm();
    },
  };
}

async function startDtlsClient(config: DtlsClientRole): Promise<ServedRole> {
  // The CRL sits where the run's material writes it (topology/mitm-rig.ts), inside the PKI mount.
  const material: DtlsVictimMaterial = { paths: pkiPaths(PKI_DIR), crlFile: join(PKI_DIR, 'ca', 'intermediate.crl'), victim: config.victim };
  return {
    routes: {
      'POST /attempt': async (b) =>
        runDtlsVictim(material, { client: checkDtlsClientName(String(b.client)), endpoint: await target('dtls-client', b.target), readings: Number(b.readings ?? 2), timeoutMs: Number(b.timeoutMs ?? 5_000) }),
      'POST /s_client': async (b) => opensslPeer(material, await target('dtls-client', b.target), Number(b.timeoutMs ?? 8_000)),
    },
    stop: async () => undefined,
  };
}

async function startCloudEndpoint(config: DtlsCloudEndpointRole): Promise<ServedRole> {
  const { cloud, service } = certificateCloudEndpoint({ paths: pkiPaths(PKI_DIR), dir: EVIDENCE_DIR, devices: config.devices, listen: { host: '0.0.0.0', port: config.listenPort }, timeoutMs: config.handshakeTimeoutMs });
  await cloud.start();
  return {
    routes: { 'GET /observations': async () => cloud.log.all(), 'GET /audit': async () => service.audit() },
    stop: () => cloud.stop(),
  };
}
