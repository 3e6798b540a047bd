/**
 * The brokerPolicy() graph (topology/recipes.ts) as handles: a probe we control, the cloud broker
 * whose own policy it probes (mutual TLS, versions, suites), the cloud service behind it, and a
 * capture of the probe's link. The steps of mutual-tls and tls-policy hold only this interface;
 * the local placement realizes it with CloudRig (Aedes on node:tls, loopback), the containers
 * placement with Mosquitto and a probe container (topology/containers-broker-policy.ts).
 *
 *   probe ──(captured link: probe-cloud)──▶ cloud broker ──▶ cloud service (audit)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from '../certs/pki.ts';
import type { PkiPaths } from '../certs/pki-files.ts';
import { readPcap, reassembleTcpStreams } from '../capture/pcap-reader.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { wireAlerts, type WireAlerts } from '../analysis/tls-alerts.ts';
import { runSslscan, type SslscanReport } from '../analysis/sslscan.ts';
import { parseClientHello, type ClientHello } from '../analysis/tls-client-hello.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { TlsClientProfile } from '../emulators/tls-client-profile.ts';
import { Wearable } from '../emulators/wearable.ts';
import { probeBroker, type DeviceCredential, type ProbeResult } from '../emulators/device-credentials.ts';
import { probeTlsHandshake, type TlsProbeOffer, type TlsProbeResult } from '../emulators/tls-probe.ts';
import { issueRsaServerCertificate, tlsServerOptions, type TlsServerPolicy } from '../emulators/tls-server-policy.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import { TcpLink } from '../links/tcp-link.ts';
import type { BrokerKind } from './graph.ts';
import { CloudRig } from './cloud-rig.ts';
import { currentPlacement, requireRealizable, type Placement } from './placements.ts';
import { brokerPolicy } from './recipes.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

export { CLOUD_NAME } from '../certs/genuine-profiles.ts';
/** Bound on every wait for a role's own record (never a sleep): a broker that says nothing fails. */
export const RECORD_TIMEOUT_MS = 5_000;

export interface CredentialOffer {
  readonly credential: DeviceCredential;
  readonly clientId: string;
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** What one probe got, and what its link's capture shows. */
export interface Probed<R> {
  readonly result: R;
  /** Alerts on the probe's link, TLS 1.3 ones decrypted with the probe's key log. */
  readonly wire: WireAlerts;
  readonly capture: string;
}

export interface BrokerPolicyRig {
  readonly brokerKind: BrokerKind;
  readonly pki: Pki;
  readonly paths: PkiPaths;
  readonly devices: readonly DeviceProvisioning[];
  /**
   * Identities of the cloud's own clients (Mosquitto's subscriber, the cloud service), which the
   * broker logs like any session: not a device, never the probe.
   */
  readonly cloudIdentities: readonly string[];
  /** A device credential: TLS, then MQTT CONNECT and one PUBLISH if the broker lets it that far. */
  probeCredential(offer: CredentialOffer): Promise<Probed<ProbeResult>>;
  /** One TLS version or suite, presenting `deviceId`'s genuine certificate. */
  probeOffer(offer: TlsProbeOffer, deviceId: string): Promise<Probed<TlsProbeResult>>;
  /**
   * A wearable of `profile` connects straight to the broker through a captured link; its
   * ClientHello is read back from the capture.
   */
  connectWearable(deviceId: string, profile: TlsClientProfile): Promise<WearableAttempt>;
  /** sslscan against the broker, presenting `deviceId`'s certificate. */
  sslscan(deviceId: string): Promise<{ report: SslscanReport; commandLine: string }>;
  /** The broker's own records (kinds as emulators/cloud/cloud-broker.ts: tls-handshake, tls-error, mqtt-connect, …). */
  brokerObservations(): Promise<readonly Observation[]>;
  /** The cloud service's audit log. */
  audit(): Promise<readonly AuditEntry[]>;
  stop(): Promise<void>;
}

export interface WearableAttempt {
  readonly hello: ClientHello;
  readonly connectError?: string;
  readonly mqttConnected: boolean;
  readonly capture: string;
}

export interface BrokerPolicyRigSpec {
  readonly dir: string;
  readonly wearableIds: readonly string[];
  readonly offers: 'device-credential' | 'tls-version' | 'cipher-suite';
  /** The broker's TLS policy; its defaults (TLS 1.3, mTLS) otherwise. */
  readonly policy?: TlsServerPolicy;
  readonly scanner?: boolean;
}

/** Read one probe's capture: the last TCP conversation in it, alerts decrypted with `keyLogPath`. */
export function readProbeCapture(capture: string, keyLogPath: string): WireAlerts {
  const streams = reassembleTcpStreams(readPcap(capture).packets);
  const stream = streams.at(-1);
  if (!stream) return { alerts: [], undecrypted: 0, serverApplicationRecords: 0, problems: [`the capture ${capture} holds no TCP conversation`] };
  let keyLog = '';
  try {
    keyLog = readFileSync(keyLogPath, 'latin1');
  } catch {
    // No secrets written (no TLS 1.3 session keys, or a client that did not get that far): say so below.
  }
  return wireAlerts(stream, keyLog);
}

/** The local placement: CloudRig on loopback; each probe through its own captured TcpLink. */
class LocalBrokerPolicyRig implements BrokerPolicyRig {
  readonly brokerKind = 'aedes' as const;
  /** The in-process cloud service subscribes inside Aedes, without an MQTT session. */
  readonly cloudIdentities: readonly string[] = [];
  #probes = 0;

  constructor(readonly rig: CloudRig, readonly dir: string) {}

  get pki(): Pki {
    return this.rig.pki;
  }

  get paths(): PkiPaths {
    return this.rig.paths;
  }

  get devices(): readonly DeviceProvisioning[] {
    return this.rig.devices;
  }

  async #captured<R>(probe: (endpoint: { host: string; port: number }, keyLogFile: string) => Promise<R>, after: (r: R, seen: number) => Promise<void>): Promise<Probed<R>> {
    const n = ++this.#probes;
    const seen = this.rig.broker.log.all().length;
    const capture = join(this.dir, 'captures', `probe-cloud-${n}.pcap`);
    const keyLogFile = join(this.dir, 'keylogs', `probe-${n}.keylog`);
    mkdirSync(join(this.dir, 'keylogs'), { recursive: true, mode: 0o700 });
    const writer = PcapWriter.open(capture);
    const link = new TcpLink({ name: 'probe-cloud', listen: { host: '127.0.0.1', port: 0 }, target: this.rig.endpoint, capture: writer });
    const endpoint = await link.start();
    let result: R;
    try {
      result = await probe(endpoint, keyLogFile);
      await after(result, seen);
    } finally {
      await link.stop();
      await writer.close();
    }
    return { result, wire: readProbeCapture(capture, keyLogFile), capture };
  }

  /** The broker's own verdict on the probe's handshake, and the audit of an acknowledged reading. */
  async #verdict(seen: number, acknowledged: boolean): Promise<void> {
    const broker = this.rig.broker.log;
    // Only a record written after this probe started counts (the rig may have been probed before).
    await broker.waitFor("the broker's record of the TLS handshake (tls-handshake or tls-error)", (o) => (o.kind === 'tls-handshake' || o.kind === 'tls-error') && broker.all().indexOf(o) >= seen, RECORD_TIMEOUT_MS);
    if (acknowledged) await this.rig.service.log.waitFor("the cloud service's audit of the acknowledged reading", (o) => o.kind === 'audit', RECORD_TIMEOUT_MS);
  }

  probeCredential(offer: CredentialOffer): Promise<Probed<ProbeResult>> {
    return this.#captured(
      (endpoint, keyLogFile) => probeBroker({ ...offer, caPem: this.pki.rootCa.certPem, ...endpoint, serverName: CLOUD_NAME, timeoutMs: RECORD_TIMEOUT_MS, keyLogFile }),
      (r, seen) => this.#verdict(seen, r.connackReturnCode === 0),
    );
  }

  probeOffer(offer: TlsProbeOffer, deviceId: string): Promise<Probed<TlsProbeResult>> {
    const device = this.pki.wearables.get(deviceId);
    if (!device) throw new Error(`broker-policy: the broker's PKI has no ${deviceId}`);
    return this.#captured(
      (endpoint, keyLogFile) => probeTlsHandshake({ ...endpoint, serverName: CLOUD_NAME, caPem: this.pki.rootCa.certPem, certChainPem: device.chainPem, keyPem: device.keyPem, timeoutMs: RECORD_TIMEOUT_MS, keyLogFile }, offer),
      (_r, seen) => this.#verdict(seen, false).catch(() => undefined),
    );
  }

  async connectWearable(deviceId: string, profile: TlsClientProfile): Promise<WearableAttempt> {
    const device = this.devices.find((d) => d.deviceId === deviceId);
    const issued = this.pki.wearables.get(deviceId);
    if (!device || !issued) throw new Error(`broker-policy: ${deviceId} is not provisioned; the broker has ${this.devices.map((d) => d.deviceId).join(', ')}`);
    const capture = join(this.dir, 'captures', `${deviceId}-broker.pcap`);
    const writer = PcapWriter.open(capture);
    const link = new TcpLink({ name: `${deviceId}-broker`, listen: { host: '127.0.0.1', port: 0 }, target: this.rig.endpoint, capture: writer });
    const endpoint = await link.start();
    const wearable = new Wearable({
      provisioning: device,
      deviceKeyPem: issued.keyPem,
      deviceCertChainPem: issued.chainPem,
      caPem: this.pki.rootCa.certPem,
      cloudE3PublicKeyPem: this.pki.cloudE3.publicKeyPem,
      endpoint: { ...endpoint, serverName: CLOUD_NAME },
      profile,
      clock: SimClock.compressed(1),
      timeoutMs: RECORD_TIMEOUT_MS,
    });
    const seen = this.rig.broker.log.all().length;
    let connectError: string | undefined;
    try {
      await wearable.connect();
    } catch (err) {
      connectError = (err as Error).message;
    }
    await this.#verdict(seen, false).catch(() => undefined);
    const mqttConnected = wearable.log.ofKind('mqtt-connected').length > 0;
    await wearable.stop();
    await link.stop();
    await writer.close();
    const stream = reassembleTcpStreams(readPcap(capture).packets)[0];
    if (!stream) throw new Error(`broker-policy: the capture ${capture} holds no TCP conversation`);
    const parsed = parseClientHello(stream.clientToServer);
    if (!parsed.ok) throw new Error(`broker-policy: no ClientHello in ${capture}: ${parsed.reason}`);
    return { hello: parsed.hello, mqttConnected, capture, ...(connectError ? { connectError } : {}) };
  }

  sslscan(deviceId: string): Promise<{ report: SslscanReport; commandLine: string }> {
    const files = this.paths.wearable(deviceId);
    return runSslscan({ ...this.rig.endpoint, serverName: CLOUD_NAME, clientCertChainFile: files.chain, clientKeyFile: files.key, timeoutMs: 30_000 });
  }

  async brokerObservations(): Promise<readonly Observation[]> {
    return this.rig.broker.log.all();
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.rig.service.audit();
  }

  stop(): Promise<void> {
    return this.rig.stop();
  }
}

async function startLocal(spec: BrokerPolicyRigSpec): Promise<BrokerPolicyRig> {
  const policy = spec.policy;
  const rig = await CloudRig.start({
    dir: spec.dir,
    wearableIds: spec.wearableIds,
    // ECDSA and RSA certificates: the suite decides which one OpenSSL serves.
    ...(policy ? { tls: async (pki: Pki) => tlsServerOptions(policy, [{ chainPem: pki.cloud.chainPem, keyPem: pki.cloud.keyPem }, await issueRsaServerCertificate(pki)]) } : {}),
  });
  return new LocalBrokerPolicyRig(rig, spec.dir);
}

/**
 * Start the brokerPolicy() graph on the run's placement (judged first: a placement that cannot
 * realize it refuses before anything starts).
 */
export async function startBrokerPolicyRig(spec: BrokerPolicyRigSpec, placement: Placement = currentPlacement()): Promise<BrokerPolicyRig> {
  requireRealizable(brokerPolicy({ broker: placement.defaultBroker, offers: spec.offers, ...(spec.policy ? { policy: spec.policy.name } : {}), ...(spec.scanner ? { scanner: true } : {}) }), placement);
  if (placement.defaultBroker === 'mosquitto') {
    const { startContainersBrokerPolicyRig } = await import('./containers-broker-policy.ts');
    return startContainersBrokerPolicyRig(spec);
  }
  return startLocal(spec);
}

/** One line for the report: where the probe's capture is and which alerts it shows. */
export function describeProbe(p: Probed<unknown>): string {
  const w = p.wire;
  return `capture ${p.capture}; alerts: ${w.alerts.map((a) => `${a.from} ${a.level} ${a.name}${a.encrypted ? ' (decrypted)' : ''}`).join(', ') || 'none'}${w.problems.length ? `; ${w.problems.join('; ')}` : ''}`;
}
