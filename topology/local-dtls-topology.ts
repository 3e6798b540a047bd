/**
 * The `local` placement of the DTLS paths (docs/architecture.md §2 The modelled system, §8): the source chapter's worked
 * example, where the wearable speaks DTLS 1.2 over UDP (E2) and E3 rides inside it.
 *
 *   dtls-stripping-gateway:
 *     wearable ─UDP link device-gateway (pcap, impairments)─▶ gateway (strips DTLS)
 *              ─TCP link gateway-cloud (pcap)─▶ cloud broker (MQTT/TLS) ─▶ cloud service
 *     acks: cloud service → broker `cloud/acks/<pseudonym>` → gateway → the device's DTLS peer
 *   dtls-psk-attacker:
 *     wearable ─UDP link device-attacker─▶ on-path attacker (holds the PSK)
 *              ─UDP link attacker-cloud─▶ cloud DTLS endpoint ─▶ cloud service (acks on DTLS)
 *
 * Every DTLS end is a dtls-bridge process (emulators/dtls/); the bridges append their session
 * keys to `dtls.keylog` (NSS format) so Wireshark can open the E2 layer and still see E3 opaque.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { writePki, readPem, type PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_CN, GATEWAY_DNS_NAMES } from '../certs/genuine-profiles.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { KeyLog } from '../capture/keylog.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import type { CloudService, AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { EvidenceSink } from '../emulators/evidence.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { DtlsWearable } from '../emulators/dtls/dtls-wearable.ts';
import { fleetHandshakeTimeoutMs, fleetWearable, type FleetDtlsAuth } from '../emulators/dtls/dtls-fleet.ts';
import { DtlsGateway } from '../emulators/dtls/dtls-gateway.ts';
import { DtlsCloudEndpoint } from '../emulators/dtls/dtls-cloud-endpoint.ts';
import { DtlsPskAttacker } from '../emulators/dtls/dtls-psk-attacker.ts';
import { DtlsFleetShard, MAX_DTLS_FLEET_SESSIONS, type DtlsFleetShardHandle } from '../emulators/dtls/dtls-fleet-shard.ts';
import { ackFor, ackTopic } from '../emulators/dtls/cloud-acks.ts';
import { encodeAckDatagram } from '../emulators/dtls/reading-datagram.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { UdpLink } from '../links/udp-link.ts';
import type { LinkImpairments } from '../links/impairments.ts';
import { assembleCloudService, cloudBrokerConfig } from './cloud-assembly.ts';
import { commonObservations, stopLoopback } from './loopback-parts.ts';
import { wearableId } from './local-topology.ts';
import { sentReadingOf, type Evidence, type Path, type RoleName, type SentReading, type Topology, type TopologySpec } from './topology.ts';

const LOOPBACK = '127.0.0.1';
const GATEWAY_NAME = GATEWAY_DNS_NAMES[0] as string;
/** Each wearable runs its own bridge process: keep a scenario's fleet modest (bench/dtls.ts goes further). */
const MAX_DTLS_WEARABLES = 200;

export const DTLS_PATHS: readonly Path[] = ['dtls-stripping-gateway', 'dtls-psk-attacker'];
export function isDtlsPath(path: Path): boolean {
  return DTLS_PATHS.includes(path);
}

/** What every placement of the DTLS paths refuses before anything starts. */
export function checkDtlsSpec(spec: TopologySpec, topology: string, otherwise: string): void {
  if (!isDtlsPath(spec.path)) throw new Error(`topology: ${topology} builds ${DTLS_PATHS.join(' and ')}, not "${spec.path}"; use ${otherwise}`);
  if (spec.dtlsFleet) {
    // One fleet bridge process hosts every session (emulators/dtls/dtls-fleet-shard.ts).
    if (spec.path !== 'dtls-stripping-gateway') throw new Error(`topology: a DTLS fleet on one bridge reports through the dtls-stripping-gateway path, not "${spec.path}"`);
    if (!Number.isInteger(spec.wearables) || spec.wearables < 1 || spec.wearables > MAX_DTLS_FLEET_SESSIONS) throw new Error(`topology: a DTLS fleet on one bridge runs 1..${MAX_DTLS_FLEET_SESSIONS} wearables, got ${spec.wearables}`);
  } else if (!Number.isInteger(spec.wearables) || spec.wearables < 1 || spec.wearables > MAX_DTLS_WEARABLES) {
    throw new Error(`topology: a DTLS topology runs 1..${MAX_DTLS_WEARABLES} wearables (one bridge process each), got ${spec.wearables}`);
  }
  if (spec.wearableProfile !== 'secure') throw new Error(`topology: DTLS wearables use the "secure" profile (CA + name checks or PSK); "${spec.wearableProfile}" is a TLS profile`);
}

/** The scenario's own PKI and device records (keys 0600 under `dir`). */
export async function provisionDtlsRun(dir: string, wearables: number, fleet = false): Promise<{ pki: PkiPaths; devices: DeviceProvisioning[] }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ids = Array.from({ length: wearables }, (_, i) => wearableId(i + 1));
  // A fleet's identities are issued by the fast DER path (certs/fleet-certificates.ts): 1,000 in about a second.
  const generated = await generatePki({ wearableIds: fleet ? [] : ids });
  if (fleet) issueFleetCertificates(generated, ids);
  const pki = await writePki(generated, join(dir, 'pki'));
  const devices = ids.map((id, i) => provisionDevice(id, i + 1));
  writeProvisioning(dir, devices);
  return { pki, devices };
}

export class LocalDtlsTopology implements Topology {
  readonly placement = 'local' as const;
  #devices: DeviceProvisioning[] = [];
  #pki: PkiPaths | undefined;
  readonly #wearables = new Map<string, DtlsWearable>();
  #service: CloudService | undefined;
  #broker: CloudBroker | undefined;
  #gateway: DtlsGateway | undefined;
  #attacker: DtlsPskAttacker | undefined;
  #cloudDtls: DtlsCloudEndpoint | undefined;
  #fleetShard: DtlsFleetShard | undefined;
  readonly #links = new Map<string, TcpLink | UdpLink>();
  readonly #captures: { link: string; writer: PcapWriter }[] = [];
  #keyLog: KeyLog | undefined;
  #stopped: Evidence | undefined;

  constructor(readonly dir: string) {}

  get pki(): PkiPaths {
    if (!this.#pki) throw new Error('topology: not started');
    return this.#pki;
  }

  get dtlsKeyLog(): string {
    return join(this.dir, 'dtls.keylog');
  }

  async start(spec: TopologySpec): Promise<void> {
    checkDtlsSpec(spec, 'LocalDtlsTopology', 'LocalTopology');
    const { pki, devices } = await provisionDtlsRun(this.dir, spec.wearables, spec.dtlsFleet !== undefined);
    this.#pki = pki;
    this.#devices = devices;
    const clock = SimClock.compressed(spec.speedup);
    const { registry, service, wasAccepted } = assembleCloudService({ dir: this.dir, pki, devices: this.#devices, clock });
    this.#service = service;

    let deviceEndpoint: { host: string; port: number };
    let auth: FleetDtlsAuth;
    const fleetPskHex = spec.dtlsFleet ? randomBytes(16).toString('hex') : undefined;
    if (spec.path === 'dtls-stripping-gateway') {
      deviceEndpoint = await this.#strippingGateway(spec, pki, registry, service, wasAccepted, fleetPskHex);
      auth = { kind: 'certificate', serverName: GATEWAY_NAME };
    } else {
      const pskHex = randomBytes(16).toString('hex');
      deviceEndpoint = await this.#pskAttacker(spec, pskHex, service, wasAccepted);
      auth = { kind: 'psk', pskHex };
    }
    const cloudE3PublicKeyPem = readPem(pki.cloudE3.publicKey, 'the cloud E3 public key');
    const handshakeTimeoutMs = fleetHandshakeTimeoutMs(spec.deviceLinkImpairments !== undefined);
    if (spec.dtlsFleet && fleetPskHex) {
      const shard = new DtlsFleetShard({ ...spec.dtlsFleet, devices: this.#devices, pki, endpoint: deviceEndpoint, pskHex: fleetPskHex, clock, handshakeTimeoutMs, keyLogFile: this.dtlsKeyLog });
      this.#fleetShard = shard;
      await shard.start();
      return;
    }
    for (const d of this.#devices) {
      this.#wearables.set(d.deviceId, fleetWearable({ provisioning: d, pki, cloudE3PublicKeyPem, endpoint: deviceEndpoint, auth, clock, handshakeTimeoutMs, keyLogFile: this.dtlsKeyLog, ...(spec.dtlsReconnectAfterSends ? { reconnectAfterSends: spec.dtlsReconnectAfterSends } : {}) }));
    }
  }

  async #strippingGateway(spec: TopologySpec, pki: PkiPaths, registry: DeviceRegistry, service: CloudService, wasAccepted: (d: string, s: bigint) => boolean, devicePskHex?: string): Promise<{ host: string; port: number }> {
    const keyLog = KeyLog.open(join(this.dir, 'sslkeys.keylog'));
    this.#keyLog = keyLog;
    const evidence: EvidenceSink = { tlsEndpoint: (_role, endpoint) => keyLog.attach(endpoint) };
    const caBundle = readPem(pki.caBundle, 'the testbed CA bundle');
    // The DTLS path: the gateway reads the cloud's acknowledgements (cloud/acks/<pseudonym>).
    const broker = new CloudBroker({ ...cloudBrokerConfig({ pki, registry, evidence }), grants: { dtlsAcks: true } });
    this.#broker = broker;
    const cloudEndpoint = await broker.start();
    broker.subscribeReadings((payload, topic, deliveredBy) => {
      const ack = ackFor(service.ingest(payload, { topic, deliveredBy }), wasAccepted);
      if (ack) broker.publishFromCloud(ackTopic(ack.pseudonymHex), encodeAckDatagram(ack.pseudonymHex, [ack.sequence]));
    });
    const upstream = await this.#tcpLink('gateway-cloud', cloudEndpoint);
    const gateway = new DtlsGateway({
      listen: { host: LOOPBACK, port: 0 },
      upstream: { ...upstream, serverName: CLOUD_CN },
      certChainFile: pki.gateway.chain,
      keyFile: pki.gateway.key,
      caFile: pki.caBundle,
      certChainPem: readPem(pki.gateway.chain, 'the gateway certificate chain'),
      keyPem: readPem(pki.gateway.key, 'the gateway key'),
      caPem: caBundle,
      malice: spec.gatewayMalice,
      evidence,
      keyLogFile: this.dtlsKeyLog,
      // A DTLS fleet on one bridge authenticates with the fleet's PSK, each session its device's identity.
      ...(devicePskHex ? { devicePskHex } : {}),
    });
    this.#gateway = gateway;
    return this.#udpLink('device-gateway', await gateway.start(), spec.deviceLinkImpairments);
  }

  async #pskAttacker(spec: TopologySpec, pskHex: string, service: CloudService, wasAccepted: (d: string, s: bigint) => boolean): Promise<{ host: string; port: number }> {
    const cloud = new DtlsCloudEndpoint({
      listen: { host: LOOPBACK, port: 0 },
      dtls: { pskHex, ciphers: ['PSK-AES128-GCM-SHA256'], handshakeTimeoutMs: 15_000, keyLogFile: this.dtlsKeyLog },
      ingest: (payload, meta) => service.ingest(payload, meta),
      wasAccepted,
    });
    this.#cloudDtls = cloud;
    const towardsCloud = await this.#udpLink('attacker-cloud', await cloud.start());
    const attacker = new DtlsPskAttacker({ listen: { host: LOOPBACK, port: 0 }, upstream: towardsCloud, pskHex, malice: spec.gatewayMalice });
    this.#attacker = attacker;
    return this.#udpLink('device-attacker', await attacker.start(), spec.deviceLinkImpairments);
  }

  #capture(name: string): PcapWriter {
    const writer = PcapWriter.open(join(this.dir, 'captures', `${name}.pcap`));
    this.#captures.push({ link: name, writer });
    return writer;
  }

  async #tcpLink(name: string, target: { host: string; port: number }): Promise<{ host: string; port: number }> {
    const link = new TcpLink({ name, listen: { host: LOOPBACK, port: 0 }, target, capture: this.#capture(name) });
    this.#links.set(name, link);
    return link.start();
  }

  async #udpLink(name: string, target: { host: string; port: number }, impairments?: LinkImpairments): Promise<{ host: string; port: number }> {
    const link = new UdpLink({ name, listen: { host: LOOPBACK, port: 0 }, target, capture: this.#capture(name), ...(impairments ? { impairments } : {}) });
    this.#links.set(name, link);
    return link.start();
  }

  devices(): readonly DeviceProvisioning[] {
    return this.#devices;
  }

  /** The wearables' one fleet bridge (spec.dtlsFleet). */
  dtlsFleetShard(): DtlsFleetShardHandle {
    if (!this.#fleetShard) throw new Error('topology: no DTLS fleet in this run; start it with spec.dtlsFleet');
    return this.#fleetShard;
  }

  #wearable(deviceId: string): DtlsWearable {
    const w = this.#wearables.get(deviceId);
    if (!w) throw new Error(`topology: no wearable "${deviceId}"; this topology has ${[...this.#wearables.keys()].join(', ') || 'none'}`);
    return w;
  }

  async report(deviceId: string, count: number): Promise<SentReading[]> {
    const w = this.#wearable(deviceId);
    if (!w.connected) await w.connect();
    const before = w.log.ofKind('reading-sent').length;
    await w.report(count);
    return w.log
      .ofKind('reading-sent')
      .slice(before)
      .map((o) => sentReadingOf(deviceId, o));
  }

  async settle(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const w of this.#wearables.values()) await w.settled(Math.max(1, deadline - Date.now()));
    // Injected copies and late resends arrive after the last ack: wait for a quiet audit.
    const service = this.#service as CloudService;
    let last = -1;
    for (;;) {
      const audited = service.audit().length;
      if (audited === last) return;
      last = audited;
      if (Date.now() > deadline) throw new Error(`topology: not settled after ${timeoutMs} ms: the cloud is still auditing (${audited} entries)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async observations(role: RoleName): Promise<readonly Observation[]> {
    if (role === 'gateway') {
      const node = this.#gateway ?? this.#attacker;
      return node?.log.all() ?? [];
    }
    if ((role as string) === 'cloud-dtls') return this.#cloudDtls?.log.all() ?? [];
    const common = commonObservations(role, { broker: this.#broker, service: this.#service, wearable: (id) => this.#wearable(id), links: this.#links });
    if (common) return common;
    throw new Error(`topology: unknown role "${role}"`);
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#service?.audit() ?? [];
  }

  async sequenceGaps(deviceId: string): Promise<bigint[]> {
    return this.#service?.sequenceGaps(deviceId) ?? [];
  }

  async stop(): Promise<Evidence> {
    if (this.#stopped) return this.#stopped;
    await this.#fleetShard?.stop().catch(() => undefined);
    const captures = await stopLoopback({ wearables: this.#wearables.values(), middle: [this.#gateway, this.#attacker, this.#cloudDtls], links: this.#links.values(), broker: this.#broker, captures: this.#captures, keyLog: this.#keyLog });
    this.#stopped = { captures, keyLog: this.#keyLog ? join(this.dir, 'sslkeys.keylog') : this.dtlsKeyLog, auditLog: join(this.dir, 'audit.jsonl') };
    return this.#stopped;
  }
}
