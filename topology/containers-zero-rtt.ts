/**
 * The TLS 1.3 0-RTT scenarios (features/zero-rtt-mqtt.feature) on the containers placement: the
 * shape of topology/zero-rtt-rig.ts, one container per role on two internal networks.
 *
 *   device network (internal)                          cloud network (internal)
 *   device (wolfssl-bridge tls-client) ──▶ link.testbed.local (TcpLink relay, RTT/2 each way) ║
 *     ──▶ recorder.testbed.local (on-path attacker: FirstFlightRecorder) ──▶ front.testbed.local
 *     (wolfssl-bridge tls-server: mTLS, tickets, early data) ──plain MQTT──▶ cloud.testbed.local:1883
 *     (Mosquitto, password listener, log_type all) ──TLS──▶ cloud service (audit)
 *   └─ tcpdump sidecar in the device's namespace: captures/device-cloud.pcap
 *
 * The two bridges run the static-enough wolfssl-bridge binary (libc only) from the read-only
 * /testbed mount in `docker run -i` containers: their stdin and stdout are the bridge's control
 * lines and events, so the same driver (WolfsslTlsProcess) and the same steps judge them. The
 * broker's PUBLISH count is Mosquitto's own log, not our code's.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { CloudServiceContainer, type StartedCloudServiceContainer } from '../containers/cloud-service-container.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { FirstFlightRecorderContainer, type StartedFirstFlightRecorderContainer } from '../containers/first-flight-recorder-container.ts';
import { TcpLinkRelayContainer, type StartedTcpLinkRelayContainer } from '../containers/resumption-containers.ts';
import { EVIDENCE_DIR, MQTT_PLAIN_PORT, MQTT_TLS_PORT, PROJECT_DIR as PROJECT_MOUNT } from '../containers/role-config.ts';
import { cleanUpOnInterrupt, labelArgs, removeRun } from '../containers/run-labels.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { ObservationLog } from '../emulators/observation-log.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { e3Topic } from '../emulators/wearable.ts';
import type { RecorderObservation } from '../emulators/tls13-early-data/first-flight-recorder.ts';
import { WolfsslTlsProcess, type SendWhen } from '../emulators/tls13-early-data/wolfssl-tls-process.ts';
import { WOLFSSL_BRIDGE_BINARY } from '../emulators/dtls/wolfssl-bridge.ts';
import { buildLinkDelay } from './containers-resumption.ts';
import { ContainersTopology, internalNetwork } from './containers-topology.ts';
import type { ReportOutcome, ZeroRttRig, ZeroRttRigSpec } from './zero-rtt-report.ts';
import { ZeroRttDevice } from './zero-rtt-device.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FRONT_NAME = 'front.testbed.local';
const RECORDER_NAME = 'recorder.testbed.local';
const LINK_NAME = 'link.testbed.local';
const FRONT_PORT = 8883;
/** `docker run` of a bridge container on a loaded 2-core host can take a while before the bridge's first line. */
const BRIDGE_START_TIMEOUT_MS = 60_000;

interface Running {
  runId: string;
  releaseInterrupt: () => void;
  control: string;
  broker?: StartedCloudBrokerContainer;
  service?: StartedCloudServiceContainer;
  front?: WolfsslTlsProcess;
  recorder?: StartedFirstFlightRecorderContainer;
  link?: StartedTcpLinkRelayContainer;
  client?: WolfsslTlsProcess;
  capture?: Tcpdump;
}

/**
 * The attacker's record as the steps read it: the recorder container's first flights, fetched
 * after each connection the device makes, and its replay, run in its container.
 */
class RecorderView {
  readonly log = new ObservationLog<RecorderObservation>('attacker/first-flight-recorder');
  flights: readonly Buffer[] = [];
  #seen = 0;

  constructor(readonly container: StartedFirstFlightRecorderContainer) {}

  async refresh(): Promise<void> {
    this.flights = await this.container.flights();
    const all = await this.container.observations();
    for (const o of all.slice(this.#seen)) this.log.record(o.kind as RecorderObservation, o.summary, o.detail);
    this.#seen = all.length;
  }

  async replay(index: number, holdMs: number): Promise<{ answeredBytes: number }> {
    const answer = await this.container.replay(index, holdMs);
    await this.refresh();
    return answer;
  }
}

export class ContainersZeroRttRig implements ZeroRttRig {
  readonly spec: ZeroRttRigSpec;
  readonly #device: ZeroRttDevice;
  #running: Running | undefined;
  #recorder: RecorderView | undefined;
  #stopped: Promise<void> | undefined;

  constructor(spec: ZeroRttRigSpec) {
    if (!(spec.rttMs > 0 && spec.rttMs <= 10_000)) throw new Error(`containers-zero-rtt: RTT must be 1..10000 ms (the link relay stands between device and front), got ${spec.rttMs}`);
    this.spec = { ...spec, dir: resolve(spec.dir) };
    this.#device = new ZeroRttDevice(this.spec);
  }

  get capturePath(): string {
    return this.#device.capturePath;
  }

  get keyLogPath(): string {
    return this.#device.keyLogPath;
  }

  /** A file under the scenario directory as the bridge containers see it (mounted at EVIDENCE_DIR). */
  #inside(hostPath: string): string {
    const rel = relative(this.spec.dir, hostPath);
    if (rel.startsWith('..')) throw new Error(`containers-zero-rtt: ${hostPath} is outside the scenario directory ${this.spec.dir}`);
    return `${EVIDENCE_DIR}/${rel}`;
  }

  /** `docker run -i` of the bridge on `network` under `alias`, labelled with the run. */
  #bridgeCommand(r: Running, image: string, network: string, alias: string): string[] {
    return ['docker', 'run', '-i', '--rm', '--name', `${r.runId}-${alias.split('.')[0] ?? 'bridge'}`, ...labelArgs(r.runId), '--network', network, '--network-alias', alias, '-v', `${PROJECT_DIR}:${PROJECT_MOUNT}:ro`, '-v', `${this.spec.dir}:${EVIDENCE_DIR}`, '--entrypoint', `${PROJECT_MOUNT}/${relative(PROJECT_DIR, WOLFSSL_BRIDGE_BINARY)}`, image];
  }

  async start(): Promise<void> {
    const { dir, deviceId } = this.spec;
    const images = await ContainersTopology.prepare();
    await buildLinkDelay();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pki = await generatePki({ wearableIds: [deviceId] });
    const paths = await writePki(pki, join(dir, 'pki'));
    const identityDir = join(dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(paths, identityDir);
    const runId = `tb-0rtt-${process.pid}-${randomBytes(4).toString('hex')}`;
    const r: Running = { runId, releaseInterrupt: cleanUpOnInterrupt(runId), control: mkdtempSync('/tmp/tb-ctl-') };
    this.#running = r;
    const device = this.#device.provisioning;
    try {
      const cloudNet = await internalNetwork(runId, 'cloud');
      const deviceNet = await internalNetwork(runId, 'device');
      const mounts = { project: PROJECT_DIR, pki: paths.dir, evidence: dir, control: r.control };
      // Behind the front the broker knows the device by its password (emulators/tls13-early-data/mqtt-reading-flight.ts).
      r.broker = await new CloudBrokerContainer(images['cloud-broker'])
        .withRun(runId)
        .withInternalNetwork(cloudNet.name, CLOUD_NAME, 'broker.testbed.local')
        .withPki(paths.dir)
        .withConfigDir(join(dir, 'broker'))
        .withDevices([device])
        .withSubscriber(CLOUD_SERVICE_CN)
        .withPlainListener(new Map([[device.deviceId, device.mqttPassword]]))
        .start();
      r.service = await new CloudServiceContainer(images['cloud-service'])
        .withRun(runId)
        .withInternalNetwork(cloudNet.name, 'cloud-service.testbed.local')
        .withMounts(mounts)
        .withIdentity(identityDir)
        .withDevices([device])
        .withBroker({ host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME })
        .withClock(SimClock.compressed(1).spec)
        .start();
      r.front = await WolfsslTlsProcess.start(
        { mode: 'tls-server', listen: { host: '0.0.0.0', port: FRONT_PORT }, upstream: { host: CLOUD_NAME, port: MQTT_PLAIN_PORT }, certFile: this.#inside(paths.cloud.chain), keyFile: this.#inside(paths.cloud.key), caFile: this.#inside(paths.caBundle), earlyData: true, singleUseTickets: this.spec.singleUseTickets, keyLogFile: `${EVIDENCE_DIR}/front.keylog`, handshakeTimeoutMs: 4_000 },
        'cloud/wolfssl-front',
        this.#bridgeCommand(r, images.gateway, cloudNet.name, FRONT_NAME),
        BRIDGE_START_TIMEOUT_MS,
      );
      const recorder = await new FirstFlightRecorderContainer(images.gateway).withRun(runId).withInternalNetwork(cloudNet.name, RECORDER_NAME).withMounts(mounts).withTarget(FRONT_NAME, FRONT_PORT).start();
      r.recorder = recorder;
      this.#recorder = new RecorderView(recorder);
      r.link = await new TcpLinkRelayContainer(images.gateway)
        .withRun(runId)
        .withInternalNetwork(deviceNet.name, LINK_NAME)
        .withMounts(mounts)
        .withLinkName('device-cloud')
        .withRoundTripMs(this.spec.rttMs)
        .withTarget(RECORDER_NAME, FirstFlightRecorderContainer.LISTEN_PORT, cloudNet.name)
        .start();
      const chain = paths.wearable(deviceId);
      r.client = await WolfsslTlsProcess.start(
        { mode: 'tls-client', connect: { host: LINK_NAME, port: TcpLinkRelayContainer.LISTEN_PORT }, serverName: CLOUD_NAME, certFile: this.#inside(chain.chain), keyFile: this.#inside(chain.key), caFile: this.#inside(paths.caBundle), earlyData: true, keyLogFile: this.#inside(this.keyLogPath), handshakeTimeoutMs: 5_000 },
        `${deviceId}/wolfssl-tls`,
        this.#bridgeCommand(r, images.wearable, deviceNet.name, 'device.testbed.local'),
        BRIDGE_START_TIMEOUT_MS,
      );
      // Beside the device, as the local link's tap: the directory first, 0700 (Docker would make it 0755).
      mkdirSync(dirname(this.capturePath), { recursive: true, mode: 0o700 });
      r.capture = await startTcpdumpSidecar({ image: images.tcpdump, runId, target: `${runId}-device`, hostDir: dirname(this.capturePath), file: 'device-cloud.pcap', filter: `tcp and net ${deviceNet.subnet}` });
      this.#device.provision(pki);
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new Error(`containers-zero-rtt: the rig did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  async report(when: SendWhen): Promise<ReportOutcome> {
    const outcome = await this.#device.report(this.#running?.client, when);
    // The attacker's record of this connection, for the replay step (which reads it synchronously).
    await this.recorder.refresh();
    return outcome;
  }

  get front(): WolfsslTlsProcess {
    return need(this.#running?.front);
  }

  get recorder(): RecorderView {
    return need(this.#recorder);
  }

  /** Mosquitto's own log (log_type all): every PUBLISH it received on the device's topic. */
  async publishesReceived(): Promise<number> {
    const topic = e3Topic(this.#device.provisioning.pseudonymHex);
    return (await need(this.#running?.broker).observations()).filter((o) => o.kind === 'publish' && o.detail.topic === topic).length;
  }

  audit(): Promise<readonly AuditEntry[]> {
    return need(this.#running?.service).audit();
  }

  get brokerRecordName(): string {
    return "Mosquitto's log";
  }

  /** Clients first, the capture before the namespace it watches, then everything by label. Once. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const r = this.#running;
    if (!r) return;
    try {
      await r.client?.stop().catch(() => undefined);
      await r.capture?.stop().catch(() => undefined);
      if (existsSync(this.capturePath)) handBackCapture(this.capturePath);
      await r.link?.stopRole().catch(() => undefined);
      await r.recorder?.stopRole().catch(() => undefined);
      await r.front?.stop().catch(() => undefined);
      if (r.broker) {
        const log = await r.broker.log().catch((err: Error) => `(the broker log could not be read: ${err.message})\n`);
        writeFileSync(join(this.spec.dir, 'mosquitto.log'), log, { mode: 0o600 });
      }
    } finally {
      await removeRun(r.runId).catch(() => undefined);
      r.releaseInterrupt();
      rmSync(r.control, { recursive: true, force: true });
    }
  }
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('containers-zero-rtt: not started, or stopped');
  return value;
}
