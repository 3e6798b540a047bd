/**
 * The rig of the TLS 1.3 0-RTT scenarios (features/zero-rtt-mqtt.feature), local placement:
 *
 *   wearable (wolfssl-bridge tls-client) ──TcpLink (25 ms each way, pcap beside the device)──▶
 *     on-path attacker (FirstFlightRecorder) ──▶ wolfSSL front (wolfssl-bridge tls-server,
 *     mTLS, tickets, early data) ──plain MQTT──▶ cloud broker (Aedes) ──▶ cloud service (audit)
 *
 * The front terminates TLS and hands each connection's bytes to the broker's plain listener on
 * loopback, so early data reaches the broker the moment it decrypts (RFC 8446 §4.2.10). The
 * device's MQTT CONNECT carries its provisioned password: behind the front the broker knows the
 * device by that, the front by its certificate.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { CloudService } from '../emulators/cloud/cloud-service.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { latency, symmetric } from '../links/impairments.ts';
import { FirstFlightRecorder } from '../emulators/tls13-early-data/first-flight-recorder.ts';
import { WolfsslTlsProcess, type SendWhen } from '../emulators/tls13-early-data/wolfssl-tls-process.ts';
import type { ReportOutcome, ZeroRttRig, ZeroRttRigSpec } from './zero-rtt-report.ts';
import { ZeroRttDevice } from './zero-rtt-device.ts';

const LOOPBACK = '127.0.0.1';

export class LocalZeroRttRig implements ZeroRttRig {
  readonly spec: ZeroRttRigSpec;
  readonly #device: ZeroRttDevice;
  #service: CloudService | undefined;
  #broker: CloudBroker | undefined;
  #front: WolfsslTlsProcess | undefined;
  #client: WolfsslTlsProcess | undefined;
  #recorder: FirstFlightRecorder | undefined;
  #link: TcpLink | undefined;
  #writer: PcapWriter | undefined;

  constructor(spec: ZeroRttRigSpec) {
    if (!(spec.rttMs >= 0 && spec.rttMs <= 10_000)) throw new Error(`zero-rtt-rig: RTT must be 0..10000 ms, got ${spec.rttMs}`);
    this.spec = spec;
    this.#device = new ZeroRttDevice(spec);
  }

  get capturePath(): string {
    return this.#device.capturePath;
  }

  get keyLogPath(): string {
    return this.#device.keyLogPath;
  }

  async start(): Promise<void> {
    const { dir, deviceId } = this.spec;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pki = await generatePki({ wearableIds: [deviceId] });
    const paths = await writePki(pki, join(dir, 'pki'));
    const device = this.#device.provisioning;
    const registry = new DeviceRegistry();
    registry.register(device, pki.wearables.get(deviceId)?.certPem as string);
    this.#service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => Math.floor(Date.now() / 1000), auditFile: join(dir, 'audit.jsonl') });
    const broker = new CloudBroker(
      loopbackBrokerConfig(pki.cloud, {
        plainPort: 0,
        clientCaPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
        ownTopicOf: (id) => (id === deviceId ? e3Topic(device.pseudonymHex) : undefined),
        passwordOf: (id) => (id === deviceId ? device.mqttPassword : undefined),
      }),
    );
    this.#broker = broker;
    await broker.start();
    const service = this.#service;
    broker.subscribeReadings((payload, topic, deliveredBy) => service.ingest(payload, { topic, deliveredBy }));
    const plain = broker.plainEndpoint;
    if (!plain) throw new Error('zero-rtt-rig: the broker opened no plain listener');
    this.#front = await WolfsslTlsProcess.start(
      { mode: 'tls-server', listen: { host: LOOPBACK, port: 0 }, upstream: plain, certFile: paths.cloud.chain, keyFile: paths.cloud.key, caFile: paths.caBundle, earlyData: true, singleUseTickets: this.spec.singleUseTickets, keyLogFile: join(dir, 'front.keylog'), handshakeTimeoutMs: 4_000 },
      'cloud/wolfssl-front',
    );
    this.#recorder = new FirstFlightRecorder(this.#front.address);
    const onPath = await this.#recorder.start();
    this.#writer = PcapWriter.open(this.capturePath);
    this.#link = new TcpLink({ name: 'device-cloud', listen: { host: LOOPBACK, port: 0 }, target: onPath, capture: this.#writer, impairments: symmetric(latency({ ms: this.spec.rttMs / 2 })) });
    const endpoint = await this.#link.start();
    const chain = paths.wearable(deviceId);
    this.#client = await WolfsslTlsProcess.start(
      { mode: 'tls-client', connect: endpoint, serverName: CLOUD_NAME, certFile: chain.chain, keyFile: chain.key, caFile: paths.caBundle, earlyData: true, keyLogFile: this.keyLogPath, handshakeTimeoutMs: 5_000 },
      `${deviceId}/wolfssl-tls`,
    );
    this.#device.provision(pki);
  }

  async report(when: SendWhen): Promise<ReportOutcome> {
    return this.#device.report(this.#client, when);
  }

  get front(): WolfsslTlsProcess {
    return need(this.#front);
  }

  get recorder(): FirstFlightRecorder {
    return need(this.#recorder);
  }

  /** The broker's own record: every PUBLISH it took on the device's topic (Aedes observations). */
  async publishesReceived(): Promise<number> {
    const topic = e3Topic(this.#device.provisioning.pseudonymHex);
    return need(this.#broker).log.ofKind('publish').filter((o) => o.detail.topic === topic).length;
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return need(this.#service).audit();
  }

  get brokerRecordName(): string {
    return 'Aedes observations';
  }

  async stop(): Promise<void> {
    await this.#client?.stop();
    await this.#link?.stop();
    await this.#recorder?.stop();
    await this.#front?.stop();
    await this.#broker?.stop();
    await this.#writer?.close();
  }
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('zero-rtt-rig: not started');
  return value;
}
