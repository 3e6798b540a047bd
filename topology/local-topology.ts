/**
 * The `local` placement: every role in this process, wired over loopback, with a capturing link
 * on each hop (docs/architecture.md §8 The graph and its placements). No Docker, no root: the embedded default.
 *
 *   wearable(s) ──link device-gateway──▶ gateway ──link gateway-cloud──▶ cloud broker ─▶ cloud service
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { forgeCertificate } from '../certs/forged-catalogue.ts';
import { MitmProxy, type MitmProxyConfig } from '../emulators/mitm-proxy.ts';
import { harvestCredentials, presentForgedCertificate, readPublishedPayloads } from '../emulators/mitm-attacks.ts';
import { writePki, readPem, type PkiPaths } from '../certs/pki-files.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { KeyLog } from '../capture/keylog.ts';
import { Wearable } from '../emulators/wearable.ts';
import { Gateway } from '../emulators/gateway.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import type { CloudService } from '../emulators/cloud/cloud-service.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile, secureProfile } from '../emulators/tls-client-profile.ts';
import type { EvidenceSink } from '../emulators/evidence.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { TcpLink } from '../links/tcp-link.ts';
import type { LinkImpairments } from '../links/impairments.ts';
import { assembleCloudService, cloudBrokerConfig } from './cloud-assembly.ts';
import { commonObservations, stopLoopback } from './loopback-parts.ts';
import { sentReadingOf, type DeviceGatewayMitm, type Evidence, type GatewayCloudMitm, type RoleName, type SentReading, type Topology, type TopologySpec } from './topology.ts';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import type { CommandCenter, ResponseAuditEntry, SentCommand } from '../emulators/cloud/command-center.ts';
import { commandHandlerOf, localCommandCenter, type CommandTopology, type DeviceCommandRecords } from './command-topology.ts';
import { brokerPolicyTls } from './broker-policy-tls.ts';

const LOOPBACK = '127.0.0.1';

export function wearableId(index: number): string {
  return `wearable-${String(index).padStart(4, '0')}`;
}

export class LocalTopology implements Topology, CommandTopology {
  readonly placement = 'local' as const;
  #pki: PkiPaths | undefined;
  #devices: DeviceProvisioning[] = [];
  readonly #wearables = new Map<string, Wearable>();
  #gateway: Gateway | undefined;
  #mitm: MitmProxy | undefined;
  #broker: CloudBroker | undefined;
  #service: CloudService | undefined;
  readonly #links = new Map<string, TcpLink>();
  readonly #captures: { link: string; writer: PcapWriter }[] = [];
  #keyLog: KeyLog | undefined;
  #stopped: Evidence | undefined;
  #commands: CommandCenter | undefined;

  constructor(readonly dir: string) {}

  async start(spec: TopologySpec): Promise<void> {
    if (!Number.isInteger(spec.wearables) || spec.wearables < 1 || spec.wearables > 5000) {
      throw new Error(`topology: the number of wearables must be 1..5000, got ${spec.wearables}`);
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = Array.from({ length: spec.wearables }, (_, i) => wearableId(i + 1));
    const generated = await generatePki({ wearableIds: ids });
    const pki = await writePki(generated, join(this.dir, 'pki'));
    this.#pki = pki;
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    writeProvisioning(this.dir, this.#devices);

    const caBundle = readPem(pki.caBundle, 'the testbed CA bundle');
    const profile = clientProfile(spec.wearableProfile);
    if (profile.plaintext && spec.path === 'terminating-gateway') {
      throw new Error('topology: a gateway that terminates TLS cannot carry the plaintext profile (there is no TLS to terminate); use a gateway that only relays TCP');
    }
    const clock = SimClock.compressed(spec.speedup);
    const keyLog = KeyLog.open(join(this.dir, 'sslkeys.keylog'));
    this.#keyLog = keyLog;
    const evidence: EvidenceSink = { tlsEndpoint: (_role, endpoint) => keyLog.attach(endpoint) };

    const { registry, service: cloudService } = assembleCloudService({ dir: this.dir, pki, devices: this.#devices, clock });
    this.#service = cloudService;
    const commandHandler = commandHandlerOf(spec);
    const broker = new CloudBroker({
      ...cloudBrokerConfig({ pki, registry, evidence }),
      // The command topics only for a run whose wearables take commands, as Mosquitto's ACL.
      grants: { deviceCommands: commandHandler !== undefined },
      ...(spec.brokerPolicy ? { tlsServerOptions: await brokerPolicyTls(spec.brokerPolicy, generated) } : {}),
      ...(profile.plaintext ? { plainPort: 0, passwordOf: (deviceId: string) => this.#devices.find((d) => d.deviceId === deviceId)?.mqttPassword } : {}),
    });
    this.#broker = broker;
    const tlsEndpoint = await broker.start();
    // The plaintext pitfall: the wearable's MQTT goes to the broker's plain listener (1883).
    const cloudEndpoint = profile.plaintext ? (broker.plainEndpoint as { host: string; port: number }) : tlsEndpoint;
    const service = this.#service;
    broker.subscribeReadings((payload, topic, deliveredBy) => service.ingest(payload, { topic, deliveredBy }));
    if (commandHandler) this.#commands = localCommandCenter({ broker, registry, pki, nowSec: () => clock.nowSec(), dir: this.dir });

    const upstreamLink = await this.#link('gateway-cloud', spec.gatewayCloudMitm ? await this.#startGatewayCloudMitm(spec.gatewayCloudMitm, cloudEndpoint, generated, caBundle, evidence) : cloudEndpoint);
    const gateway = new Gateway({
      mode: spec.path === 'terminating-gateway' ? 'terminate' : 'relay',
      listen: { host: LOOPBACK, port: 0 },
      upstream: { ...upstreamLink, serverName: CLOUD_NAME },
      malice: spec.gatewayMalice,
      certChainPem: readPem(pki.gateway.chain, 'the gateway certificate chain'),
      keyPem: readPem(pki.gateway.key, 'the gateway key'),
      caPem: caBundle,
      upstreamProfile: clientProfile(spec.gatewayUpstreamProfile ?? secureProfile.name),
      evidence,
    });
    this.#gateway = gateway;
    const gatewayEndpoint = await gateway.start();
    const deviceLink = await this.#link('device-gateway', spec.deviceGatewayMitm ? await this.#startDeviceGatewayMitm(spec.deviceGatewayMitm, gatewayEndpoint, generated, caBundle, evidence) : gatewayEndpoint, spec.deviceLinkImpairments);

    const cloudE3PublicKeyPem = readPem(pki.cloudE3.publicKey, 'the cloud E3 public key');
    for (const d of this.#devices) {
      const files = pki.wearable(d.deviceId);
      this.#wearables.set(
        d.deviceId,
        new Wearable({
          provisioning: d,
          deviceKeyPem: readPem(files.key, `the ${d.deviceId} device key`),
          deviceCertChainPem: readPem(files.chain, `the ${d.deviceId} certificate chain`),
          caPem: caBundle,
          cloudE3PublicKeyPem,
          endpoint: { ...deviceLink, serverName: spec.path === 'terminating-gateway' ? GATEWAY_NAME : CLOUD_NAME },
          profile,
          clock,
          evidence,
          ...(commandHandler ? { commands: commandHandler } : {}),
        }),
      );
    }
  }

  /**
   * A MITM on the gateway→cloud link: it presents a forged certificate to the gateway's upstream
   * client and, if it stole the gateway's identity, relays into the real cloud with it.
   */
  async #startGatewayCloudMitm(spec: GatewayCloudMitm, cloud: { host: string; port: number }, pki: Pki, caBundle: string, evidence: EvidenceSink): Promise<{ host: string; port: number }> {
    const upstream = spec.stolenGatewayIdentity ? { host: cloud.host, port: cloud.port, tls: { ca: caBundle, cert: pki.gateway.chainPem, key: pki.gateway.keyPem, servername: CLOUD_NAME, minVersion: 'TLSv1.2' as const } } : undefined;
    return this.#startMitm(spec.forgedCase, CLOUD_NAME, upstream, pki, evidence);
  }

  /**
   * A MITM on the device link: it presents a certificate forged for the gateway's name to the
   * wearables (and external clients) and connects onward to the gateway as a TLS client with a
   * device identity it stole (the gateway asks every client for a certificate).
   */
  async #startDeviceGatewayMitm(spec: DeviceGatewayMitm, gateway: { host: string; port: number }, pki: Pki, caBundle: string, evidence: EvidenceSink): Promise<{ host: string; port: number }> {
    const files = this.pki.wearable(spec.stolenDeviceIdentity);
    const tls = { ca: caBundle, cert: readPem(files.chain, `the ${spec.stolenDeviceIdentity} certificate chain`), key: readPem(files.key, `the ${spec.stolenDeviceIdentity} device key`), servername: GATEWAY_NAME, minVersion: 'TLSv1.2' as const };
    return this.#startMitm(spec.forgedCase, GATEWAY_NAME, { host: gateway.host, port: gateway.port, tls }, pki, evidence);
  }

  async #startMitm(forgedCase: string, serverName: string, upstream: MitmProxyConfig['upstream'], pki: Pki, evidence: EvidenceSink): Promise<{ host: string; port: number }> {
    const forged = await forgeCertificate(forgedCase, { pki, serverName });
    const mitm = new MitmProxy({
      name: 'mitm-proxy',
      listen: { host: LOOPBACK, port: 0 },
      attacks: [presentForgedCertificate(forged.name, forged.explain, { certChainPem: forged.certChainPem, keyPem: forged.keyPem, legacySecurityLevel: forged.needsLegacySecurityLevel }), harvestCredentials(), readPublishedPayloads()],
      ...(upstream ? { upstream } : {}),
      handshakeTimeoutMs: 5_000,
      evidence,
      impostorKeyLogFile: join(this.dir, 'impostor.keylog'),
    });
    this.#mitm = mitm;
    return mitm.start();
  }

  async #link(name: string, target: { host: string; port: number }, impairments?: LinkImpairments): Promise<{ host: string; port: number }> {
    const writer = PcapWriter.open(join(this.dir, 'captures', `${name}.pcap`));
    this.#captures.push({ link: name, writer });
    const link = new TcpLink({ name, listen: { host: LOOPBACK, port: 0 }, target, capture: writer, ...(impairments ? { impairments } : {}) });
    this.#links.set(name, link);
    return link.start();
  }

  get pki(): PkiPaths {
    if (!this.#pki) throw new Error('topology: not started');
    return this.#pki;
  }

  devices(): readonly DeviceProvisioning[] {
    return this.#devices;
  }

  #wearable(deviceId: string): Wearable {
    const w = this.#wearables.get(deviceId);
    if (!w) throw new Error(`topology: no wearable "${deviceId}"; this topology has ${[...this.#wearables.keys()].join(', ') || 'none'}`);
    return w;
  }

  async report(deviceId: string, count: number): Promise<SentReading[]> {
    const w = this.#wearable(deviceId);
    if (w.log.ofKind('mqtt-connected').length === 0) await w.connect();
    const before = w.log.ofKind('reading-sent').length;
    await w.report(count);
    return w.log
      .ofKind('reading-sent')
      .slice(before)
      .map((o) => sentReadingOf(deviceId, o));
  }

  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const w of this.#wearables.values()) await w.settled(Math.max(1, deadline - Date.now()));
    // Copies a gateway injects travel after the last acknowledgement: wait until every publish
    // the broker authorised has an audit entry and nothing new has arrived for a moment.
    const broker = this.#requireBroker();
    const service = this.#service as CloudService;
    let last = -1;
    for (;;) {
      const published = broker.log.ofKind('publish').length;
      const audited = service.audit().length;
      if (published === audited && audited === last) return;
      last = audited;
      if (Date.now() > deadline) throw new Error(`topology: not settled after ${timeoutMs} ms: broker took ${published} publishes, cloud audited ${audited}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  #requireBroker(): CloudBroker {
    if (!this.#broker) throw new Error('topology: not started');
    return this.#broker;
  }

  async observations(role: RoleName): Promise<readonly Observation[]> {
    if (role === 'gateway') return this.#gateway?.log.all() ?? [];
    if (role === 'mitm-proxy') {
      if (!this.#mitm) throw new Error('topology: this scenario has no MITM; add "And a MITM between the gateway and the cloud presents the …"');
      return this.#mitm.log.all();
    }
    const common = commonObservations(role, { broker: this.#broker, service: this.#service, wearable: (id) => this.#wearable(id), links: this.#links });
    if (common) return common;
    throw new Error(`topology: unknown role "${role}"`);
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#service?.audit() ?? [];
  }

  async sendCommand(deviceId: string, body: string): Promise<SentCommand> {
    const w = this.#wearable(deviceId);
    if (!this.#commands) throw new Error('topology: this scenario\'s wearables take no commands; say which handler they run first');
    if (w.log.ofKind('mqtt-connected').length === 0) await w.connect();
    return this.#commands.send(deviceId, body);
  }

  async deviceCommandRecords(deviceId: string): Promise<DeviceCommandRecords> {
    const commands = this.#wearable(deviceId).commands;
    if (!commands) throw new Error(`topology: ${deviceId} has no command records: it takes no commands in this scenario, or has not connected yet`);
    return { records: commands.log.all(), status: commands.state.status(), setPointsApplied: [...commands.state.setPointsApplied] };
  }

  async commandResponses(): Promise<readonly ResponseAuditEntry[]> {
    return this.#commands?.responses() ?? [];
  }

  async sequenceGaps(deviceId: string): Promise<bigint[]> {
    return this.#service?.sequenceGaps(deviceId) ?? [];
  }

  async stop(): Promise<Evidence> {
    if (this.#stopped) return this.#stopped;
    const captures = await stopLoopback({ wearables: this.#wearables.values(), middle: [this.#gateway, this.#mitm], links: this.#links.values(), broker: this.#broker, captures: this.#captures, keyLog: this.#keyLog });
    this.#stopped = { captures, keyLog: join(this.dir, 'sslkeys.keylog'), auditLog: join(this.dir, 'audit.jsonl') };
    return this.#stopped;
  }
}
