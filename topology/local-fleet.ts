/**
 * The fleet graph on the local placement: the whole fleet, the cloud broker (Aedes on node:tls,
 * mutual TLS) and the cloud service in this process on loopback. The broker restart is a real
 * one: the listener and Aedes are closed (every device loses its connection) and a new broker
 * starts on the same port.
 *
 * The broker keeps its TLS session-ticket keys across the restart (node:tls `ticketKeys`, as a
 * clustered broker shares them), so devices can resume (RFC 8446 §4.6.1: the ticket is opaque to
 * the client and only the key holder can open it). Mosquitto has no such setting: its tickets die
 * with the process.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { CloudBroker, type CloudBrokerConfig } from '../emulators/cloud/cloud-broker.ts';
import { CloudService } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { Fleet } from '../emulators/fleet/fleet.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import { FleetLedger, type LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import { fleetDeviceIds, type BrokerHandshakes, type FleetRig, type FleetSpec } from './fleet-rig.ts';
import { fleetDeviceRecord, type FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { probeBroker } from '../emulators/device-credentials.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { fleetCrl, presenterAlerts, serialOf, type FleetRevocation, type PresentedCredential, type RevocationRecord } from './fleet-revocation.ts';

/** Bound on one presentation of a credential to the broker. */
const PRESENT_TIMEOUT_MS = 10_000;

export class LocalFleet implements FleetRig, FleetRevocation {
  readonly placement = 'local' as const;
  readonly ledgerOfCloud = new FleetLedger();
  #fleet: Fleet | undefined;
  #broker: CloudBroker | undefined;
  #brokerConfig: CloudBrokerConfig | undefined;
  #service: CloudService | undefined;
  #clock: SimClock | undefined;
  readonly #revoked: string[] = [];
  /** Records of brokers replaced by a restart, so the broker's record spans the whole run. */
  readonly #earlierRecords: Observation[] = [];
  /** The fleet and its broker endpoint, for benchmarks that drive devices one by one (bench/fleet.ts). */
  materials: { readonly fleet: Fleet; readonly pki: Pki; readonly endpoint: { host: string; port: number } } | undefined;

  constructor(readonly dir: string) {}

  async start(spec: FleetSpec): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = fleetDeviceIds(spec.wearables);
    const pki = await generatePki({ wearableIds: [] });
    issueFleetCertificates(pki, ids);
    const devices: DeviceProvisioning[] = ids.map((id, i) => provisionDevice(id, i + 1));
    const clock = new SimClock({ startSec: spec.startSec ?? Math.floor(Date.now() / 1000), speedup: spec.speedup, wallStartMs: Date.now() });
    const registry = new DeviceRegistry();
    const topics = new Map<string, string>();
    for (const d of devices) {
      registry.register(d, (pki.wearables.get(d.deviceId) as { certPem: string }).certPem);
      topics.set(d.deviceId, e3Topic(d.pseudonymHex));
    }
    this.#clock = clock;
    const service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => (this.#clock as SimClock).nowSec(), auditFile: join(this.dir, 'audit.jsonl') });
    this.#service = service;
    this.#brokerConfig = {
      host: '127.0.0.1',
      port: 0,
      serverCertChainPem: pki.cloud.chainPem,
      serverKeyPem: pki.cloud.keyPem,
      clientCaPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
      ownTopicOf: (id) => topics.get(id),
      minVersion: 'TLSv1.3',
      tlsServerOptions: { ticketKeys: randomBytes(48), ...(spec.revocable ? { crl: [...(await fleetCrl(pki, []))] } : {}) },
    };
    const endpoint = await this.#startBroker();
    this.#brokerConfig = { ...this.#brokerConfig, port: endpoint.port };
    this.#fleet = new Fleet({
      members: devices.map((d) => {
        const issued = pki.wearables.get(d.deviceId) as { keyPem: string; chainPem: string };
        return { provisioning: d, keyPem: issued.keyPem, certChainPem: issued.chainPem };
      }),
      caPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
      cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
      endpoint: { host: endpoint.host, port: endpoint.port, serverName: CLOUD_NAME },
      clock,
      ...(spec.queueCapacity ? { queueCapacity: spec.queueCapacity } : {}),
    });
    this.materials = { fleet: this.#fleet, pki, endpoint };
  }

  async #startBroker(): Promise<{ host: string; port: number }> {
    const broker = new CloudBroker(this.#brokerConfig as CloudBrokerConfig);
    const endpoint = await broker.start();
    const service = this.#service as CloudService;
    broker.subscribeReadings((payload, topic, deliveredBy) => this.ledgerOfCloud.observe(service.ingest(payload, { topic, deliveredBy })));
    this.#broker = broker;
    return endpoint;
  }

  #requireFleet(): Fleet {
    if (!this.#fleet) throw new Error('local fleet: not started; a Given step starts it');
    return this.#fleet;
  }

  connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    return this.#requireFleet().connectAll(deadlineMs);
  }

  report(count: number, deadlineMs: number): Promise<void> {
    return this.#requireFleet().report(count, deadlineMs);
  }

  /** `speedup`: a new time compression too (bench/fleet.ts steps through factors in one run). */
  async setClock(startSec: number, speedup = (this.#clock as SimClock).spec.speedup): Promise<void> {
    const clock = new SimClock({ startSec, speedup, wallStartMs: Date.now() });
    this.#clock = clock;
    this.#requireFleet().setClock(clock);
  }

  async restartBroker(): Promise<void> {
    this.#earlierRecords.push(...(this.#broker?.log.all() ?? []));
    await this.#broker?.stop();
    await this.#startBroker();
  }

  async settle(deadlineMs: number): Promise<void> {
    const fleet = this.#requireFleet();
    const started = performance.now();
    await fleet.settle(deadlineMs);
    const expected = Object.values(fleet.sealedPerDevice()).reduce((a, b) => a + b, 0) - fleet.counters.overflows;
    await fleet.waitFor(() => this.ledgerOfCloud.accepted >= expected, Math.max(1, deadlineMs - (performance.now() - started)), () => `the cloud opened ${this.ledgerOfCloud.accepted} of ${expected} readings`);
  }

  async fleetStats(): Promise<FleetStats> {
    return this.#requireFleet().stats();
  }

  async ledger(): Promise<LedgerReport> {
    return this.ledgerOfCloud.report(this.#requireFleet().sealedPerDevice());
  }

  /** The broker running now is the one started by the restart: its log holds exactly the handshakes since. */
  async brokerHandshakes(): Promise<BrokerHandshakes> {
    const handshakes = this.#broker?.log.ofKind('tls-handshake') ?? [];
    const resumed = handshakes.filter((o) => o.detail.sessionReused === true).length;
    return { source: "the restarted broker's own log (Aedes on node:tls: isSessionReused per handshake)", full: handshakes.length - resumed, resumed, unreadable: 0 };
  }

  /** Aedes takes the new CRL in place (CloudBroker.reloadCrl): no restart, no other device disturbed. */
  async revokeCertificate(deviceId: string): Promise<RevocationRecord> {
    const pki = this.materials?.pki;
    const broker = this.#broker;
    if (!pki || !broker) throw new Error('local fleet: not started; a Given step starts it');
    const serialHex = serialOf(pki, deviceId);
    this.#revoked.push(serialHex);
    const crl = await fleetCrl(pki, this.#revoked);
    const brokerRecordsBefore = (await this.brokerRecords()).length;
    const { closed } = broker.reloadCrl([...crl], this.#revoked);
    const atMs = Date.now();
    return { deviceId, serialHex, atMs, how: `Aedes reloaded the CRL in place (node:tls setSecureContext), rotated its ticket keys and closed ${closed} live session(s) of the revoked certificate`, deviceAtRevocation: await this.deviceRecord(deviceId), brokerRecordsBefore };
  }

  async deviceRecord(deviceId: string): Promise<FleetDeviceRecord> {
    const record = fleetDeviceRecord(this.#requireFleet(), deviceId);
    if (!record) throw new Error(`local fleet: ${deviceId} is not in this fleet`);
    return record;
  }

  /** The device's own certificate and key, once more, through a captured loopback link with a key log. */
  async presentCertificate(deviceId: string): Promise<PresentedCredential> {
    const pki = this.materials?.pki;
    const target = this.materials?.endpoint;
    const issued = pki?.wearables.get(deviceId);
    if (!pki || !target || !issued) throw new Error(`local fleet: cannot present ${deviceId}'s certificate (not started, or not in this fleet)`);
    for (const d of ['captures', 'keylogs']) mkdirSync(join(this.dir, d), { recursive: true, mode: 0o700 });
    const capture = join(this.dir, 'captures', `${deviceId}-presented.pcap`);
    const keyLogFile = join(this.dir, 'keylogs', `${deviceId}-presented.keylog`);
    const writer = PcapWriter.open(capture);
    const link = new TcpLink({ name: `${deviceId}-presented`, listen: { host: '127.0.0.1', port: 0 }, target, capture: writer });
    const endpoint = await link.start();
    const device = this.#requireFleet().devices.find((d) => d.deviceId === deviceId);
    let result;
    try {
      result = await probeBroker({ credential: { kind: 'genuine', certChainPem: issued.chainPem, keyPem: issued.keyPem }, caPem: pki.rootCa.certPem, ...endpoint, serverName: CLOUD_NAME, clientId: `${deviceId}-presented`, topic: device?.topic ?? 'wearables/unknown/e3', payload: new Uint8Array(96), timeoutMs: PRESENT_TIMEOUT_MS, keyLogFile });
    } finally {
      await link.stop();
      await writer.close();
    }
    return { result, wire: presenterAlerts(capture, keyLogFile), capture };
  }

  async brokerRecords(): Promise<readonly Observation[]> {
    return [...this.#earlierRecords, ...(this.#broker?.log.all() ?? [])];
  }

  async stop(): Promise<void> {
    this.#fleet?.stop();
    this.#fleet = undefined;
    await this.#broker?.stop();
    this.#broker = undefined;
  }
}
