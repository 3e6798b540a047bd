/**
 * The brokerPolicy() graph on the containers placement (docs/architecture.md §8 The graph and its placements): Mosquitto as the cloud
 * broker, a probe container and the cloud service as Mosquitto's subscriber, all on one internal
 * cloud network; each probe captured by a tcpdump sidecar in the probe's own network namespace.
 *
 *   cloud network (internal)
 *   probe ──▶ cloud.testbed.local:8883 (Mosquitto: mTLS, CN as username, ACL, the policy's lists) ◀── cloud service
 *   └─ tcpdump sidecar per probe: captures/probe-cloud-<n>.pcap (+ the probe's key log, 0600)
 *
 * Mosquitto records no TLS handshake of its own, only connections, OpenSSL errors and the
 * identity of an accepted CONNECT. So a completed handshake is what the broker said on the wire
 * (its ServerHello: version and suite, read from the capture) together with the identity its
 * log shows it admitted; a refusal is its OpenSSL error line and the alert it sent.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { cipherSuiteName, parseClientHello } from '../analysis/tls-client-hello.ts';
import type { SslscanReport } from '../analysis/sslscan.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { ProbeResult } from '../emulators/device-credentials.ts';
import type { TlsProbeOffer, TlsProbeResult } from '../emulators/tls-probe.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { mosquittoMinimum } from './broker-policy-tls.ts';
import { CloudServiceContainer, type StartedCloudServiceContainer } from '../containers/cloud-service-container.ts';
import { ProbeContainer, type StartedProbeContainer } from '../containers/probe-container.ts';
import { WearableContainer } from '../containers/wearable-container.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import { readPcap, reassembleTcpStreams } from '../capture/pcap-reader.ts';
import type { TlsClientProfile } from '../emulators/tls-client-profile.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_TLS_PORT, PKI_DIR } from '../containers/role-config.ts';
import type { RoleImages } from '../containers/role-images.ts';
import { ContainersTopology, internalNetwork } from './containers-topology.ts';
import { CLOUD_NAME, RECORD_TIMEOUT_MS, readProbeCapture, type BrokerPolicyRig, type BrokerPolicyRigSpec, type CredentialOffer, type Probed, type WearableAttempt } from './broker-policy-rig.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION_NAMES: Readonly<Record<number, string>> = { 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };

interface Running {
  broker?: StartedCloudBrokerContainer;
  service?: StartedCloudServiceContainer;
  probe?: StartedProbeContainer;
}

export class ContainersBrokerPolicyRig implements BrokerPolicyRig {
  readonly brokerKind = 'mosquitto' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly devices: readonly DeviceProvisioning[];
  readonly cloudIdentities: readonly string[] = [CLOUD_SERVICE_CN];
  #pki: Pki | undefined;
  #paths: PkiPaths | undefined;
  #running: Running = {};
  #subnet = '';
  #network = '';
  #mounts: RoleMounts | undefined;
  #images: RoleImages | undefined;
  #controlDir: string | undefined;
  #releaseInterrupt: (() => void) | undefined;
  #probes = 0;
  /** ServerHellos read from the probes' captures, with the identity Mosquitto then admitted. */
  readonly #handshakes: Observation[] = [];
  #stopped: Promise<void> | undefined;

  constructor(readonly spec: BrokerPolicyRigSpec) {
    if (spec.wearableIds.length === 0) throw new Error('containers-broker-policy: name at least one wearable, e.g. ["wearable-0001"]');
    this.devices = spec.wearableIds.map((id, i) => provisionDevice(id, i + 1));
  }

  get pki(): Pki {
    if (!this.#pki) throw new Error('containers-broker-policy: not started');
    return this.#pki;
  }

  get paths(): PkiPaths {
    if (!this.#paths) throw new Error('containers-broker-policy: not started');
    return this.#paths;
  }

  async start(): Promise<void> {
    const spec = this.spec;
    this.#images = await ContainersTopology.prepare();
    mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
    this.#pki = await generatePki({ wearableIds: [...spec.wearableIds] });
    this.#paths = await writePki(this.#pki, join(spec.dir, 'pki'));
    const identityDir = join(spec.dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(this.#paths, identityDir);
    this.#controlDir = mkdtempSync('/tmp/tb-ctl-');
    const mounts = { project: PROJECT_DIR, pki: this.#paths.dir, evidence: resolve(spec.dir), control: this.#controlDir };
    this.#mounts = mounts;
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    const cloud = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
    try {
      const { name, subnet } = await internalNetwork(this.runId, 'cloud');
      this.#network = name;
      this.#subnet = subnet;
      const broker = new CloudBrokerContainer(this.#images['cloud-broker'])
        .withRun(this.runId)
        .withInternalNetwork(name, CLOUD_NAME, 'broker.testbed.local')
        .withPki(this.#paths.dir)
        .withConfigDir(resolve(spec.dir, 'broker'))
        .withDevices(this.devices)
        .withSubscriber(CLOUD_SERVICE_CN);
      // Mosquitto serves one certificate per listener: the cloud's ECDSA one (see the feature).
      if (spec.policy) broker.withTlsVersion(mosquittoMinimum(spec.policy.minVersion)).withCiphers(spec.policy.ciphers, spec.policy.ciphersuites);
      this.#running.broker = await broker.start();
      const service = new CloudServiceContainer(this.#images['cloud-service'])
        .withRun(this.runId)
        .withInternalNetwork(name, 'cloud-service.testbed.local')
        .withMounts(mounts)
        .withIdentity(identityDir)
        .withDevices(this.devices)
        .withBroker(cloud)
        .withClock(SimClock.compressed(1).spec);
      const probe = new ProbeContainer(this.#images.probe).withRun(this.runId).withInternalNetwork(name, 'probe.testbed.local').withMounts(mounts).withBroker(cloud);
      // The cloud service only where the scenario follows a reading to it (mutual TLS).
      const [s, p] = await Promise.all([spec.offers === 'device-credential' ? service.start() : undefined, probe.start()]);
      this.#running.service = s;
      this.#running.probe = p;
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new Error(`containers-broker-policy: the rig did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  #live<K extends keyof Running>(key: K): NonNullable<Running[K]> {
    const value = this.#running[key];
    if (!value) throw new Error(this.#stopped ? `containers-broker-policy: stopped; the ${key} is no longer running` : `containers-broker-policy: no ${key} in this rig (not started, or not part of this scenario's graph)`);
    return value;
  }

  /** One probe with its own capture beside the probe, stopped (flushed) before it is read. */
  async #captured<R>(probe: (keyLog: string) => Promise<R>, after: (r: R, seen: number) => Promise<void>, beside: { id: string; file: string } = { id: this.#live('probe').getId(), file: `probe-cloud-${this.#probes + 1}.pcap` }): Promise<Probed<R>> {
    const n = ++this.#probes;
    const capturesDir = resolve(this.spec.dir, 'captures');
    mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
    mkdirSync(resolve(this.spec.dir, 'keylogs'), { recursive: true, mode: 0o700 });
    const file = beside.file;
    const keyLog = `probe-${n}.keylog`;
    const seen = (await this.#live('broker').observations()).length;
    const images = this.#images as RoleImages;
    const tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: beside.id, hostDir: capturesDir, file, filter: `tcp and net ${this.#subnet}` });
    let result: R;
    try {
      result = await probe(keyLog);
      await after(result, seen);
    } finally {
      await tcpdump.stop().catch(() => undefined);
    }
    const capture = join(capturesDir, file);
    if (!existsSync(capture)) throw new Error(`containers-broker-policy: the capture sidecar wrote no ${capture}; see \`docker logs\` of the tcpdump sidecar`);
    handBackCapture(capture);
    return { result, wire: readProbeCapture(capture, resolve(this.spec.dir, 'keylogs', keyLog)), capture };
  }

  /**
   * Wait (bounded) for Mosquitto's own record of this probe's connection: an OpenSSL error, an
   * accepted CONNECT, or the client's close; and for the audit of an acknowledged reading.
   * `docker logs` trails the broker by a moment, so this polls the log, never sleeps a fixed time.
   */
  async #verdict(seen: number, acknowledged: boolean): Promise<void> {
    const deadline = Date.now() + RECORD_TIMEOUT_MS;
    const decided = (o: Observation) => o.kind === 'tls-error' || o.kind === 'mqtt-connect' || o.kind === 'client-disconnect';
    while (!(await this.#live('broker').observations()).slice(seen).some(decided)) {
      if (Date.now() > deadline) throw new Error(`containers-broker-policy: Mosquitto logged nothing about the probe's connection within ${RECORD_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    while (acknowledged && (await this.audit()).length === 0) {
      if (Date.now() > deadline) throw new Error(`containers-broker-policy: the cloud service audited nothing within ${RECORD_TIMEOUT_MS} ms of the broker's PUBACK`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  probeCredential(offer: CredentialOffer): Promise<Probed<ProbeResult>> {
    return this.#captured(
      (keyLog) => this.#live('probe').credential({ ...offer, caPem: this.pki.rootCa.certPem, timeoutMs: RECORD_TIMEOUT_MS, keyLog }),
      (r, seen) => this.#verdict(seen, r.connackReturnCode === 0),
    );
  }

  async probeOffer(offer: TlsProbeOffer, deviceId: string): Promise<Probed<TlsProbeResult>> {
    const device = this.pki.wearables.get(deviceId);
    if (!device) throw new Error(`containers-broker-policy: the broker's PKI has no ${deviceId}`);
    const seen = (await this.#live('broker').observations()).length;
    // MQTT CONNECT after the handshake: Mosquitto then logs the identity it verified.
    const probed = await this.#captured(
      (keyLog) => this.#live('probe').tls({ offer, caPem: this.pki.rootCa.certPem, certChainPem: device.chainPem, keyPem: device.keyPem, timeoutMs: RECORD_TIMEOUT_MS, keyLog, mqttClientId: `probe-${this.#probes}` }),
      (_r, s) => this.#verdict(s, false).catch(() => undefined),
    );
    await this.#recordHandshake(probed, seen);
    return probed;
  }

  /**
   * A handshake the broker completed: it answered with a ServerHello (read from the capture) and
   * took the peer's certificate as the identity of the CONNECT that followed
   * (use_identity_as_username), with no fatal alert from it in between.
   */
  async #recordHandshake(probed: Probed<unknown>, seen: number): Promise<void> {
    const admitted = (await this.#live('broker').observations()).slice(seen).find((o) => o.kind === 'mqtt-connect' && !this.cloudIdentities.includes(String(o.detail.identity)));
    const hello = probed.wire.serverHello;
    if (!hello || !admitted || probed.wire.alerts.some((a) => a.from === 'server' && a.description !== 0)) return;
    this.#handshakes.push({
      at: admitted.at,
      role: 'cloud-broker',
      kind: 'tls-handshake',
      summary: `ServerHello ${VERSION_NAMES[hello.version] ?? hello.version} ${cipherSuiteName(hello.cipherSuite)} (capture ${probed.capture}); Mosquitto admitted ${String(admitted.detail.identity)}`,
      detail: { peer: admitted.detail.identity, protocol: VERSION_NAMES[hello.version], cipher: cipherSuiteName(hello.cipherSuite), source: 'ServerHello on the wire + Mosquitto log' },
    });
  }

  /**
   * The wearable (the same Wearable class, role-runner's wearables role) in its own container on
   * the cloud network, pointed at the broker, captured beside it; it connects and reports one
   * reading, or fails to connect. Its ClientHello is read back from the capture.
   */
  async connectWearable(deviceId: string, profile: TlsClientProfile): Promise<WearableAttempt> {
    const device = this.devices.find((d) => d.deviceId === deviceId);
    if (!device) throw new Error(`containers-broker-policy: ${deviceId} is not provisioned; the broker has ${this.devices.map((d) => d.deviceId).join(', ')}`);
    const images = this.#images as RoleImages;
    const wearable = await new WearableContainer(images.wearable)
      .withRun(this.runId)
      .withInternalNetwork(this.#network, 'wearable.testbed.local')
      .withMounts(this.#mounts as RoleMounts)
      .withDevices([device])
      .withEndpoint({ host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME })
      .withProfile(profile.name)
      .withClock(SimClock.compressed(1).spec)
      .start();
    let seen = 0;
    try {
      let connectError: string | undefined;
      const probed = await this.#captured(
        async () => {
          await wearable.report(deviceId, 1).catch((err: Error) => (connectError = err.message));
          return undefined;
        },
        async (_r, s) => {
          seen = s;
          await this.#verdict(s, false).catch(() => undefined);
        },
        { id: wearable.getId(), file: `${deviceId}-broker.pcap` },
      );
      await this.#recordHandshake(probed, seen);
      const mqttConnected = (await wearable.observations(deviceId)).some((o) => o.kind === 'mqtt-connected');
      const stream = reassembleTcpStreams(readPcap(probed.capture).packets)[0];
      if (!stream) throw new Error(`containers-broker-policy: the capture ${probed.capture} holds no TCP conversation`);
      const parsed = parseClientHello(stream.clientToServer);
      if (!parsed.ok) throw new Error(`containers-broker-policy: no ClientHello in ${probed.capture}: ${parsed.reason}`);
      return { hello: parsed.hello, mqttConnected, capture: probed.capture, ...(connectError ? { connectError } : {}) };
    } finally {
      await wearable.stopRole().catch(() => undefined);
    }
  }

  sslscan(deviceId: string): Promise<{ report: SslscanReport; commandLine: string }> {
    // Container paths of the PKI mount (certs/pki-files.ts layout under PKI_DIR).
    const files = this.paths.wearable(deviceId);
    const inContainer = (hostPath: string) => join(PKI_DIR, hostPath.slice(this.paths.dir.length));
    return this.#live('probe').sslscan({ clientCertChainFile: inContainer(files.chain), clientKeyFile: inContainer(files.key), timeoutMs: 60_000 });
  }

  async brokerObservations(): Promise<readonly Observation[]> {
    return [...(await this.#live('broker').observations()), ...this.#handshakes].sort((a, b) => a.at - b.at);
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#running.service ? this.#running.service.audit() : [];
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    const r = this.#running;
    this.#running = {};
    await r.probe?.stopRole().catch(() => undefined);
    await r.service?.stopRole().catch(() => undefined);
    await r.broker?.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
    await removeRun(this.runId);
    this.#releaseInterrupt?.();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
  }
}

export async function startContainersBrokerPolicyRig(spec: BrokerPolicyRigSpec): Promise<BrokerPolicyRig> {
  const rig = new ContainersBrokerPolicyRig(spec);
  await rig.start();
  return rig;
}

