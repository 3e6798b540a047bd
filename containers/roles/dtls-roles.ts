/**
 * The DTLS paths' roles in containers (topology/containers-dtls-topology.ts), each the SAME class
 * the local DTLS topology runs, with its pion bridge from the read-only project mount:
 *
 *   dtls-wearables     DTLS wearables (emulators/dtls/dtls-fleet.ts), one bridge per wearable
 *     POST /report {deviceId, count}, POST /settled {timeoutMs}, GET /observations?device=ID
 *   dtls-gateway       strips DTLS, forwards E3 over MQTT/TLS to Mosquitto (dtls-gateway.ts);
 *                      also the cloud's PSK DTLS endpoint in front of Mosquitto      GET /observations
 *   dtls-psk-attacker  holds the PSK, relays to the cloud's endpoint (dtls-psk-attacker.ts)  GET /observations
 *   udp-link           the userspace UDP relay with impairments (links/udp-link.ts)        GET /observations
 *
 * Bridges write their session keys to EVIDENCE_DIR/dtls-keylogs/<role>.keylog (NSS format, 0600);
 * the topology merges them into the scenario's dtls.keylog.
 */
import { lookup } from 'node:dns/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import type { EvidenceSink } from '../../emulators/evidence.ts';
import { SimClock } from '../../emulators/sim-clock.ts';
import { DtlsGateway } from '../../emulators/dtls/dtls-gateway.ts';
import { DtlsPskAttacker } from '../../emulators/dtls/dtls-psk-attacker.ts';
import { fleetWearable } from '../../emulators/dtls/dtls-fleet.ts';
import type { DtlsWearable } from '../../emulators/dtls/dtls-wearable.ts';
import { UdpLink } from '../../links/udp-link.ts';
import { EVIDENCE_DIR, IDENTITY_DIR, PKI_DIR, type DtlsGatewayRole, type DtlsPskAttackerRole, type DtlsWearablesRole, type RoleConfig, type UdpLinkRole } from '../role-config.ts';
import { maliceFromData } from './malice-data.ts';
import { fleetRole } from './fleet-role.ts';
import type { ServedRole } from './resumption-device.ts';

export type DtlsRoleConfig = DtlsWearablesRole | DtlsGatewayRole | DtlsPskAttackerRole | UdpLinkRole;

const DTLS_ROLE_KINDS: readonly string[] = ['dtls-wearables', 'dtls-gateway', 'dtls-psk-attacker', 'udp-link'];

export function isDtlsRoleConfig(config: RoleConfig): config is DtlsRoleConfig {
  return DTLS_ROLE_KINDS.includes(config.role);
}

export async function startDtlsRole(config: DtlsRoleConfig, evidence: EvidenceSink): Promise<ServedRole> {
  if (config.role === 'dtls-wearables') return startDtlsWearables(config);
  if (config.role === 'dtls-gateway') return startDtlsGateway(config, evidence);
  if (config.role === 'dtls-psk-attacker') return startPskAttacker(config);
  return startUdpLink(config);
}

function keyLogFile(name: string): string {
  const dir = join(EVIDENCE_DIR, 'dtls-keylogs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${name}.keylog`);
}

/** The relay takes an IPv4 address: resolve a DNS name on the role's network. */
async function ipv4(host: string): Promise<string> {
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch (err) {
    throw new Error(`dtls-roles: cannot resolve ${host} (${(err as Error).message}); is that role on this container's network?`, { cause: err });
  }
}

async function startDtlsWearables(config: DtlsWearablesRole): Promise<ServedRole> {
  const pki = pkiPaths(PKI_DIR);
  const cloudE3PublicKeyPem = readPem(pki.cloudE3.publicKey, 'the cloud E3 public key');
  const clock = new SimClock(config.clock);
  // A name is resolved by each bridge when its wearable connects (the first report).
  const endpoint = { host: config.endpoint.host, port: config.endpoint.port };
  const auth = config.auth.kind === 'psk' ? config.auth : { kind: 'certificate' as const, serverName: config.endpoint.serverName };
  const keyLog = keyLogFile('wearables');
  const fleet = new Map<string, DtlsWearable>();
  for (const d of config.devices) {
    fleet.set(d.deviceId, fleetWearable({ provisioning: d, pki, cloudE3PublicKeyPem, endpoint, auth, clock, handshakeTimeoutMs: config.handshakeTimeoutMs, keyLogFile: keyLog, ...(config.reconnectAfterSends === undefined ? {} : { reconnectAfterSends: config.reconnectAfterSends }) }));
  }
  return fleetRole(fleet, (w) => w.connected);
}

async function startDtlsGateway(config: DtlsGatewayRole, evidence: EvidenceSink): Promise<ServedRole> {
  const pki = pkiPaths(PKI_DIR);
  // Its MQTT/TLS client identity towards Mosquitto (use_identity_as_username: the CN is the ACL user).
  const identity = config.identity === 'gateway' ? { chain: pki.gateway.chain, key: pki.gateway.key } : { chain: join(IDENTITY_DIR, 'client-chain.crt'), key: join(IDENTITY_DIR, 'client.key') };
  const gateway = new DtlsGateway({
    name: config.name,
    listen: { host: '0.0.0.0', port: config.listenPort },
    upstream: config.upstream,
    certChainFile: pki.gateway.chain,
    keyFile: pki.gateway.key,
    caFile: pki.caBundle,
    certChainPem: readPem(identity.chain, `the ${config.name} certificate chain`),
    keyPem: readPem(identity.key, `the ${config.name} key`),
    caPem: readPem(pki.caBundle, 'the testbed CA bundle'),
    ...(config.auth.kind === 'psk' ? { devicePskHex: config.auth.pskHex } : {}),
    malice: config.malice.map(maliceFromData),
    evidence,
    keyLogFile: keyLogFile(config.name),
  });
  await gateway.start();
  return { routes: { 'GET /observations': async () => gateway.log.all() }, stop: () => gateway.stop() };
}

async function startPskAttacker(config: DtlsPskAttackerRole): Promise<ServedRole> {
  const attacker = new DtlsPskAttacker({
    listen: { host: '0.0.0.0', port: config.listenPort },
    // Resolved by each upstream bridge when a device first sends: a network joined after start counts.
    upstream: config.upstream,
    pskHex: config.pskHex,
    malice: config.malice.map(maliceFromData),
  });
  await attacker.start();
  return { routes: { 'GET /observations': async () => attacker.log.all() }, stop: () => attacker.stop() };
}

async function startUdpLink(config: UdpLinkRole): Promise<ServedRole> {
  // The capture is a tcpdump sidecar beside the link, not the relay's tap.
  const link = new UdpLink({ name: config.name, listen: { host: '0.0.0.0', port: config.listenPort }, target: { host: await ipv4(config.target.host), port: config.target.port }, impairments: config.impairments });
  await link.start();
  return { routes: { 'GET /observations': async () => link.log.all() }, stop: () => link.stop() };
}
