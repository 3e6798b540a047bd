/**
 * The fleet graph on the local placement: the whole fleet, the cloud broker (Aedes on node:tls,
 * mutual TLS) and the cloud service in this process on loopback. The wearables run as one shard
 * in a worker thread (topology/fleet-shard-thread.ts, the routes the container shard serves), the
 * broker and the cloud in the main thread, so the two sides use the two cores: in one thread the
 * fleet, Aedes and the cloud shared one core and fell behind at 5,000 wearables (docs/benchmarks.md
 * "Fleet speed, second pass"). The broker restart is a real
 * one: the listener and Aedes are closed (every device loses its connection) and a new broker
 * starts on the same port.
 *
 * The broker keeps its TLS session-ticket keys across the restart (node:tls `ticketKeys`, as a
 * clustered broker shares them), so devices can resume (RFC 8446 §4.6.1: the ticket is opaque to
 * the client and only the key holder can open it). Mosquitto has no such setting: its tickets die
 * with the process.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { CloudBroker, type CloudBrokerConfig } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { auditLine, CloudService } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { waitUntil, type Fleet } from '../emulators/fleet/fleet.ts';
import { fleetShard, type FleetShardSpec } from '../emulators/fleet/fleet-shard-routes.ts';
import { FleetShardHost } from './fleet-shard-thread.ts';
import { fleetHostAllocator, type HostAllocator } from './fleet-host-allocator.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import { FleetLedger, type LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import { fleetDeviceIds, type BrokerHandshakes, type FleetRig, type FleetSpec } from './fleet-rig.ts';
import type { FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { probeBroker } from '../emulators/device-credentials.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { fleetCrl, presenterAlerts, serialOf, type FleetRevocation, type PresentedCredential, type RevocationRecord } from './fleet-revocation.ts';
import type { FleetCloudAbsence } from './fleet-cloud-absence.ts';
import { FLEET_CLOUD_CLIENT_ID, PersistentSubscriber } from '../emulators/cloud/persistent-subscriber.ts';
import { issueCloudServiceIdentity } from '../certs/cloud-service-identity.ts';
import { connectTls } from '../emulators/tls-connect.ts';
import { secureProfile, tlsClientOptions } from '../emulators/tls-client-profile.ts';
import { E3_TOPIC_FILTER } from '../emulators/cloud/cloud-broker.ts';

/** Bound on one presentation of a credential to the broker. */
const PRESENT_TIMEOUT_MS = 10_000;
/** Polling a shard across a thread: each poll is a message round trip and a walk over its devices. */
const SHARD_POLL_MS = 100;

/**
 * Where the wearables run: a worker thread (the placement's default), this thread (bench/fleet.ts's
 * one-thread storm and single-device handshakes), or a process of their own (bench/fleet.ts's
 * memory figure: that process's RSS is the wearables' alone).
 */
export type WearablesThread = 'worker thread' | 'main thread' | 'forked process';

/** The shard's routes, served by a worker thread or called in this one. */
interface ShardHandle {
  call<T>(route: string, body?: Record<string, unknown>): Promise<T>;
  eventLoopUtilization?(since?: EventLoopUtilization): EventLoopUtilization | undefined;
  stop(): Promise<void>;
  /** The process the wearables run in. */
  readonly pid: number;
}

export class LocalFleet implements FleetRig, FleetRevocation, FleetCloudAbsence {
  readonly placement = 'local' as const;
  readonly cloudClientId = FLEET_CLOUD_CLIENT_ID;
  readonly ledgerOfCloud = new FleetLedger();
  /** The cloud as an MQTT subscriber with a persistent session, when it may go away; otherwise it is wired in-process. */
  #subscriber: PersistentSubscriber | undefined;
  #shard: ShardHandle | undefined;
  #pki: Pki | undefined;
  #endpoint: { host: string; port: number } | undefined;
  readonly #topics = new Map<string, string>();
  #broker: CloudBroker | undefined;
  #brokerConfig: CloudBrokerConfig | undefined;
  #service: CloudService | undefined;
  #audit: WriteStream | undefined;
  #auditError: string | undefined;
  #clock: SimClock | undefined;
  readonly #revoked: string[] = [];
  /** Records of brokers replaced by a restart, so the broker's record spans the whole run. */
  readonly #earlierRecords: Observation[] = [];
  /** The fleet and its broker endpoint, for benchmarks that drive devices one by one (bench/fleet.ts); only with the wearables in the main thread. */
  materials: { readonly fleet: Fleet; readonly pki: Pki; readonly endpoint: { host: string; port: number } } | undefined;

  constructor(
    readonly dir: string,
    readonly wearablesIn: WearablesThread = 'worker thread',
    /** The allocator of a forked wearables process (topology/fleet-host-allocator.ts). */
    readonly allocator: HostAllocator = fleetHostAllocator(),
  ) {}

  async start(spec: FleetSpec): Promise<void> {
    if (spec.cloudMayGoAway?.brokerQueueQuota !== undefined) {
      // aedes-persistence 11 keeps an offline client's QoS 1 messages in an unbounded array (asyncPersistence.js #outgoingEnqueuePerSub).
      throw new Error(`local fleet: Aedes has no queue quota for an offline subscriber (aedes-persistence keeps every message), so it cannot hold "at most ${spec.cloudMayGoAway.brokerQueueQuota}"; say "holds every message … without a quota", or run a quota on --topology containers (Mosquitto)`);
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = fleetDeviceIds(spec.wearables);
    const pki = await generatePki({ wearableIds: [] });
    issueFleetCertificates(pki, ids);
    const devices: DeviceProvisioning[] = ids.map((id, i) => provisionDevice(id, i + 1));
    const clock = new SimClock({ startSec: spec.startSec ?? Math.floor(Date.now() / 1000), speedup: spec.speedup, wallStartMs: Date.now() });
    const registry = new DeviceRegistry();
    const topics = this.#topics;
    for (const d of devices) {
      registry.register(d, (pki.wearables.get(d.deviceId) as { certPem: string }).certPem);
      topics.set(d.deviceId, e3Topic(d.pseudonymHex));
    }
    this.#clock = clock;
    // The audit goes to audit.jsonl through one open stream, not CloudService's append per entry
    // (an open and a close per reading were ~8 % of the main thread at 3,333 readings/s).
    const service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => (this.#clock as SimClock).nowSec() });
    const auditFile = join(this.dir, 'audit.jsonl');
    this.#audit = createWriteStream(auditFile, { flags: 'a', mode: 0o600 });
    // A write that fails (disk full, directory gone) must not kill the run nor pass silently:
    // it is kept, and the ledger refuses to report on an audit that was not written.
    this.#audit.on('error', (err) => {
      this.#auditError ??= `the cloud's audit ${auditFile} could not be written (${err.message}); free space or fix the run directory, then run again`;
    });
    this.#service = service;
    this.#brokerConfig = loopbackBrokerConfig(pki.cloud, {
      clientCaPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
      ownTopicOf: (id) => topics.get(id),
      minVersion: 'TLSv1.3',
      tlsServerOptions: { ticketKeys: randomBytes(48), ...(spec.revocable ? { crl: [...(await fleetCrl(pki, []))] } : {}) },
    });
    const endpoint = await this.#startBroker(spec.cloudMayGoAway === undefined);
    this.#brokerConfig = { ...this.#brokerConfig, port: endpoint.port };
    if (spec.cloudMayGoAway) await this.#subscribeOverMqtt(pki, endpoint);
    this.#pki = pki;
    this.#endpoint = endpoint;
    const shardSpec: FleetShardSpec = {
      members: devices.map((d) => {
        const issued = pki.wearables.get(d.deviceId) as { keyPem: string; chainPem: string };
        return { provisioning: d, keyPem: issued.keyPem, certChainPem: issued.chainPem };
      }),
      // The root only: the trust anchor (RFC 5280 §6.1.1 (d)); the broker sends its intermediate
      // (RFC 8446 §4.4.2). One certificate fewer in each device's own store (docs/benchmarks.md
      // "Fleet memory on jemalloc").
      caPem: pki.rootCa.certPem,
      cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
      endpoint: { host: endpoint.host, port: endpoint.port, serverName: CLOUD_NAME },
      clock: clock.spec,
      ...(spec.queueCapacity ? { queueCapacity: spec.queueCapacity } : {}),
    };
    if (this.wearablesIn === 'worker thread') {
      this.#shard = await FleetShardHost.inWorkerThread(shardSpec);
    } else if (this.wearablesIn === 'forked process') {
      this.#shard = await FleetShardHost.inForkedProcess(shardSpec, this.allocator);
    } else {
      const shard = fleetShard(shardSpec);
      const serve = (route: string) => {
        const r = shard.routes[route];
        if (!r) throw new Error(`fleet shard: no route "${route}" (it serves ${Object.keys(shard.routes).join(', ')})`);
        return r;
      };
      this.#shard = { call: async <T>(route: string, body: Record<string, unknown> = {}) => (await serve(route)(body)) as T, stop: async () => shard.stop(), pid: process.pid };
      this.materials = { fleet: shard.fleet, pki, endpoint };
    }
  }

  /** `inProcessCloud`: the cloud reads Aedes in-process (no session to keep); otherwise it is an MQTT subscriber (#subscribeOverMqtt). */
  async #startBroker(inProcessCloud = this.#subscriber === undefined): Promise<{ host: string; port: number }> {
    const broker = new CloudBroker(this.#brokerConfig as CloudBrokerConfig);
    const endpoint = await broker.start();
    if (inProcessCloud) broker.subscribeReadings((payload, topic, deliveredBy) => this.#ingest(payload, topic, deliveredBy));
    this.#broker = broker;
    return endpoint;
  }

  #ingest(payload: Uint8Array, topic: string, deliveredBy: string): void {
    const entry = (this.#service as CloudService).ingest(payload, { topic, deliveredBy });
    this.#audit?.write(auditLine(entry));
    this.ledgerOfCloud.observe(entry);
  }

  /** The cloud as a mutual-TLS MQTT client of Aedes with a persistent session, under a certificate of the cloud's unit. */
  async #subscribeOverMqtt(pki: Pki, endpoint: { host: string; port: number }): Promise<void> {
    const identity = await issueCloudServiceIdentity(pki.intermediateCa);
    const tls = tlsClientOptions(secureProfile, { ca: pki.rootCa.certPem + pki.intermediateCa.certPem, certChain: identity.chainPem, key: identity.keyPem, serverName: CLOUD_NAME });
    const subscriber = new PersistentSubscriber({
      stream: () => connectTls(endpoint.host, endpoint.port, tls),
      clientId: FLEET_CLOUD_CLIENT_ID,
      filter: E3_TOPIC_FILTER,
      brokerName: `Aedes on ${endpoint.host}:${endpoint.port}`,
      onMessage: (topic, payload) => this.#ingest(payload, topic, `Aedes (MQTT subscriber ${FLEET_CLOUD_CLIENT_ID})`),
    });
    this.#subscriber = subscriber;
    await subscriber.start();
  }

  cloudAway(): Promise<void> {
    if (!this.#subscriber) throw new Error('local fleet: the cloud is wired in-process and cannot go away; start the fleet with cloudMayGoAway');
    return this.#subscriber.away();
  }

  cloudBack(): Promise<{ sessionPresent: boolean }> {
    if (!this.#subscriber) throw new Error('local fleet: the cloud is wired in-process and cannot go away; start the fleet with cloudMayGoAway');
    return this.#subscriber.back();
  }

  #requireShard(): ShardHandle {
    if (!this.#shard) throw new Error('local fleet: not started; a Given step starts it');
    return this.#shard;
  }

  connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    return this.#requireShard().call('POST /connect', { deadlineMs });
  }

  async report(count: number, deadlineMs: number): Promise<void> {
    await this.#requireShard().call('POST /report', { count, deadlineMs });
  }

  /** Load every wearable's TLS context now, as at power-on (bench/fleet.ts, before a storm); seconds. */
  async loadCredentials(): Promise<number> {
    return (await this.#requireShard().call<{ seconds: number }>('POST /credentials')).seconds;
  }

  /** Seal-to-PUBACK latencies since the last call, sorted (one benchmark phase at a time). */
  takeLatencies(): Promise<number[]> {
    return this.#requireShard().call('POST /latencies');
  }

  /** The fleet's PKI (every wearable's key and chain, the broker's), for benchmarks that build baselines from the same credentials. */
  get issued(): Pki {
    if (!this.#pki) throw new Error('local fleet: not started; a Given step starts it');
    return this.#pki;
  }

  /** How busy the wearables' worker thread was (since `since`); undefined when they share this thread or run in a process. */
  wearablesLoad(since?: EventLoopUtilization): EventLoopUtilization | undefined {
    return this.#requireShard().eventLoopUtilization?.(since);
  }

  /** The process the wearables run in (a forked one's /proc/PID/status is their own memory). */
  get wearablesPid(): number {
    return this.#requireShard().pid;
  }

  /** Wait (bounded) until every wearable is connected. */
  async untilAllConnected(deadlineMs: number): Promise<void> {
    let s: FleetStats | undefined;
    await waitUntil(async () => (s = await this.fleetStats()).connected === s.devices, deadlineMs, () => `${s ? s.devices - s.connected : '?'} wearables are not connected`, SHARD_POLL_MS);
  }

  /** `speedup`: a new time compression too (bench/fleet.ts steps through factors in one run). */
  async setClock(startSec: number, speedup = (this.#clock as SimClock).spec.speedup): Promise<void> {
    const clock = new SimClock({ startSec, speedup, wallStartMs: Date.now() });
    this.#clock = clock;
    await this.#requireShard().call('POST /clock', { clock: clock.spec });
  }

  async restartBroker(): Promise<void> {
    // One by one: after a long run the log holds over 100,000 records, too many to spread as arguments (a stack overflow).
    for (const o of this.#broker?.log.all() ?? []) this.#earlierRecords.push(o);
    await this.#broker?.stop();
    await this.#startBroker();
  }

  /** Wait (bounded) until the broker acknowledged every reading the wearables sealed (their queues are empty). */
  async untilAcknowledged(deadlineMs: number): Promise<void> {
    await this.#requireShard().call('POST /settle', { deadlineMs });
  }

  async settle(deadlineMs: number): Promise<void> {
    const started = performance.now();
    await this.untilAcknowledged(deadlineMs);
    const { sealed, overflows } = await this.fleetStats();
    const expected = sealed - overflows;
    await waitUntil(() => this.ledgerOfCloud.accepted >= expected, Math.max(1, deadlineMs - (performance.now() - started)), () => `the cloud opened ${this.ledgerOfCloud.accepted} of ${expected} readings`);
  }

  fleetStats(): Promise<FleetStats> {
    return this.#requireShard().call('GET /stats');
  }

  async ledger(): Promise<LedgerReport> {
    if (this.#auditError) throw new Error(`local fleet: ${this.#auditError}`);
    return this.ledgerOfCloud.report(await this.#requireShard().call<Record<string, number>>('GET /sealed'));
  }

  /** The broker running now is the one started by the restart: its log holds exactly the handshakes since. */
  async brokerHandshakes(): Promise<BrokerHandshakes> {
    const handshakes = this.#broker?.log.ofKind('tls-handshake') ?? [];
    const resumed = handshakes.filter((o) => o.detail.sessionReused === true).length;
    return { source: "the restarted broker's own log (Aedes on node:tls: isSessionReused per handshake)", full: handshakes.length - resumed, resumed, unreadable: 0 };
  }

  /** Aedes takes the new CRL in place (CloudBroker.reloadCrl): no restart, no other device disturbed. */
  async revokeCertificate(deviceId: string): Promise<RevocationRecord> {
    const pki = this.#pki;
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
    const record = await this.#requireShard().call<FleetDeviceRecord | null>('POST /device', { deviceId });
    if (!record) throw new Error(`local fleet: ${deviceId} is not in this fleet`);
    return record;
  }

  /** The device's own certificate and key, once more, through a captured loopback link with a key log. */
  async presentCertificate(deviceId: string): Promise<PresentedCredential> {
    const pki = this.#pki;
    const target = this.#endpoint;
    const issued = pki?.wearables.get(deviceId);
    if (!pki || !target || !issued) throw new Error(`local fleet: cannot present ${deviceId}'s certificate (not started, or not in this fleet)`);
    for (const d of ['captures', 'keylogs']) mkdirSync(join(this.dir, d), { recursive: true, mode: 0o700 });
    const capture = join(this.dir, 'captures', `${deviceId}-presented.pcap`);
    const keyLogFile = join(this.dir, 'keylogs', `${deviceId}-presented.keylog`);
    const writer = PcapWriter.open(capture);
    const link = new TcpLink({ name: `${deviceId}-presented`, listen: { host: '127.0.0.1', port: 0 }, target, capture: writer });
    const endpoint = await link.start();
    let result;
    try {
      result = await probeBroker({ credential: { kind: 'genuine', certChainPem: issued.chainPem, keyPem: issued.keyPem }, caPem: pki.rootCa.certPem, ...endpoint, serverName: CLOUD_NAME, clientId: `${deviceId}-presented`, topic: this.#topics.get(deviceId) ?? 'wearables/unknown/e3', payload: new Uint8Array(96), timeoutMs: PRESENT_TIMEOUT_MS, keyLogFile });
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
    const shard = this.#shard;
    this.#shard = undefined;
    this.materials = undefined;
    await shard?.stop();
    await this.#subscriber?.stop();
    this.#subscriber = undefined;
    await this.#broker?.stop();
    const audit = this.#audit;
    this.#audit = undefined;
    if (audit) {
      audit.end();
      // Flushed, or failed (already recorded by its error listener): either way it is over.
      await finished(audit).catch(() => undefined);
    }
    this.#broker = undefined;
  }
}
