/**
 * The handshake scenarios on the containers placement (docs/architecture.md §8 The graph and its placements): the rig of
 * topology/resumption-rig.ts with Mosquitto on OpenSSL as the broker, one container per role on
 * internal Docker networks, and the capture taken by a tcpdump sidecar in the device's own
 * network namespace — the real packets the device sent and received.
 *
 *   device network (internal)                           cloud network (internal)
 *   device ──▶ link.testbed.local:8883 (TcpLink relay, latency each way) ║ ──▶ cloud.testbed.local:8883 (Mosquitto)
 *   └─ tcpdump sidecar: captures/device-cloud.pcap
 *
 * A 0 ms link (the Nagle scenario) is the cloud network itself: the device joins it, no relay.
 *
 * With `viaGateway`, a TLS-terminating gateway (the project's Gateway, keeping its upstream TLS
 * sessions) stands between the device and the link, as in topology/resumption-rig.ts; the
 * capture is then of the gateway's own upstream TLS, taken in the gateway's namespace:
 *
 *   device ──TLS──▶ gateway.testbed.local ──▶ link (latency) ║ ──▶ Mosquitto
 *                   └─ tcpdump sidecar on the uplink network: captures/device-cloud.pcap
 *
 * The kernel has no tc netem, so the emulated round trip is the relay's (links/tcp-link.ts),
 * as on the local placement. What mosquitto.conf cannot say (key-share groups, tickets off) is
 * given to OpenSSL itself (CloudBrokerContainer.withOpenSslSettings).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt, labelArgs, removeRun } from '../containers/run-labels.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { GatewayContainer, type StartedGatewayContainer } from '../containers/gateway-container.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { ResumptionDeviceContainer, TcpLinkRelayContainer, type StartedResumptionDeviceContainer, type StartedTcpLinkRelayContainer } from '../containers/resumption-containers.ts';
import { startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import { ContainersTopology, mergeKeyLogs } from './containers-topology.ts';
import type { DeviceConnection, HandshakeRig } from './handshake-rig.ts';
import type { ResumptionRigSpec } from './resumption-rig.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN, GATEWAY_NAME } from '../certs/genuine-profiles.ts';

const LINK_NAME = 'link.testbed.local';
const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** link-delay (the relay's TCP handshake delay) is a static Go binary run from the /testbed mount. */
export async function buildLinkDelay(): Promise<void> {
  await promisify(execFile)(join(PROJECT_DIR, 'link-delay', 'build.sh'), [], { timeout: 120_000 }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`containers-resumption: link-delay/build.sh failed: ${(err.stderr ?? err.message).trim().split('\n').at(-1) ?? ''}`);
  });
}

/** The broker's Node TLS options the local rig takes, as what Mosquitto/OpenSSL can be told. */
function mosquittoTls(spec: ResumptionRigSpec): { noDelay: boolean; openSsl: Record<string, string> } {
  const { noDelay, ecdhCurve, ...rest } = (spec.brokerTls ?? {}) as { noDelay?: boolean; ecdhCurve?: string } & Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`containers-resumption: broker TLS option(s) ${unknown.join(', ')} have no Mosquitto/OpenSSL equivalent here; only noDelay and ecdhCurve are translated`);
  const openSsl: Record<string, string> = {};
  // OpenSSL's name for the key-share groups the server accepts (SSL_CONF_cmd(3) "Groups").
  if (ecdhCurve !== undefined) openSsl.Groups = ecdhCurve;
  // RFC 5077 tickets off (SSL_OP_NO_TICKET): a TLS 1.2 client can only resume by session ID.
  if (spec.resumption === 'session-ids') openSsl.Options = '-SessionTicket';
  return { noDelay: noDelay ?? true, openSsl };
}

interface Running {
  broker?: StartedCloudBrokerContainer;
  link?: StartedTcpLinkRelayContainer;
  device?: StartedResumptionDeviceContainer;
  gateway?: StartedGatewayContainer;
  capture?: Tcpdump;
}

export class ContainersResumptionRig implements HandshakeRig {
  readonly brokerKind = 'mosquitto' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #spec: ResumptionRigSpec;
  #pki: Pki | undefined;
  #devices: DeviceProvisioning[] = [];
  #running: Running = {};
  #controlDir: string | undefined;
  #releaseInterrupt: (() => void) | undefined;
  #stopped: Promise<string> | undefined;
  /** The broker's observations, read before its container is removed (the Then steps come after). */
  #brokerRecord: Observation[] | undefined;

  constructor(spec: ResumptionRigSpec) {
    if (!Number.isFinite(spec.rttMs) || spec.rttMs < 0 || spec.rttMs > 10_000) throw new Error(`containers-resumption: RTT must be 0..10000 ms, got ${spec.rttMs}`);
    if (spec.viaGateway && spec.rttMs === 0) throw new Error('containers-resumption: a gateway needs a link to stand in front of; give the link a delay');
    if (spec.deviceIds?.length === 0) throw new Error('containers-resumption: deviceIds is empty; name at least one device, e.g. ["wearable-0001"]');
    mosquittoTls(spec); // refuse untranslatable broker options before anything starts
    this.#spec = spec;
  }

  get capturePath(): string {
    return join(this.#spec.dir, 'captures', 'device-cloud.pcap');
  }

  get keyLogPath(): string {
    return join(this.#spec.dir, 'sslkeys.keylog');
  }

  async start(): Promise<void> {
    const spec = this.#spec;
    const images = await ContainersTopology.prepare();
    if (spec.rttMs > 0) await buildLinkDelay();
    mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
    const ids = spec.deviceIds ?? ['wearable-0001'];
    const pki = await generatePki({ wearableIds: [...ids], ...(spec.viaGateway ? { gatewayName: GATEWAY_NAME } : {}) });
    this.#pki = pki;
    const pkiDir = (await writePki(pki, join(spec.dir, 'pki'))).dir;
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    this.#controlDir = mkdtempSync('/tmp/tb-ctl-');
    const mounts = { project: PROJECT_DIR, pki: pkiDir, evidence: resolve(spec.dir), control: this.#controlDir };
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    const tls = mosquittoTls(spec);
    try {
      // A link with no delay needs no relay: the device then sits on the broker's network and its
      // own kernel acknowledges the broker's data, so a Nagle hold (RFC 896) is released by the
      // device's delayed ACK (RFC 1122 §4.2.3.2) and the capture beside it shows that ACK.
      const direct = spec.rttMs === 0;
      const cloudNet = await this.#network('cloud');
      const deviceNet = direct ? cloudNet : await this.#network('device');
      // Behind a gateway the link starts at the gateway: its own network, between gateway and relay.
      const linkNet = spec.viaGateway ? await this.#network('uplink') : deviceNet;
      const broker = new CloudBrokerContainer(images['cloud-broker'])
        .withRun(this.runId)
        .withInternalNetwork(cloudNet.name, CLOUD_NAME, 'broker.testbed.local')
        .withPki(pkiDir)
        .withConfigDir(resolve(spec.dir, 'broker'))
        .withDevices(this.#devices)
        .withSubscriber(CLOUD_SERVICE_CN)
        // Mosquitto's tls_version is the lowest version it accepts; the device pins its own.
        .withTlsVersion(spec.tlsVersion === 'TLS 1.2' ? 'tlsv1.2' : 'tlsv1.3')
        .withTcpNoDelay(tls.noDelay);
      if (Object.keys(tls.openSsl).length > 0) broker.withOpenSslSettings(tls.openSsl);
      // Behind a gateway the broker's client is the gateway, by its certificate's CN.
      if (spec.viaGateway) broker.withGateway(GATEWAY_NAME);
      this.#running.broker = await broker.start();
      if (!direct) {
        this.#running.link = await new TcpLinkRelayContainer(images.gateway)
          .withRun(this.runId)
          .withInternalNetwork(linkNet.name, LINK_NAME)
          .withMounts(mounts)
          .withLinkName('device-cloud')
          .withRoundTripMs(spec.rttMs)
          .withTarget(CLOUD_NAME, MQTT_TLS_PORT, cloudNet.name)
          .start();
      }
      const linkEndpoint = { host: direct ? CLOUD_NAME : LINK_NAME, port: direct ? MQTT_TLS_PORT : TcpLinkRelayContainer.LISTEN_PORT };
      if (spec.viaGateway) {
        this.#running.gateway = await new GatewayContainer(images.gateway)
          .withRun(this.runId)
          .withInternalNetwork(deviceNet.name, GATEWAY_NAME)
          .withMounts(mounts)
          .withMode('terminate')
          .withUpstream({ ...linkEndpoint, serverName: CLOUD_NAME }, linkNet.name)
          .withUpstreamSessions(spec.keepSessions !== false)
          .start();
      }
      const device = await new ResumptionDeviceContainer(images.wearable)
        .withRun(this.runId)
        .withInternalNetwork(deviceNet.name, 'device.testbed.local')
        .withMounts(mounts)
        .withDevice(this.#devices[0] as DeviceProvisioning)
        .withEndpoint(...(spec.viaGateway ? [GATEWAY_NAME, GatewayContainer.LISTEN_PORT] as const : [linkEndpoint.host, linkEndpoint.port] as const))
        .withTlsVersion(spec.tlsVersion)
        // Behind a gateway the sessions on the captured link are the gateway's, as in the local rig.
        .withSessionCache(spec.keepSessions !== false && !spec.viaGateway)
        .start();
      this.#running.device = device;
      const capturesDir = dirname(this.capturePath);
      mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
      // The capture sits where the TLS on the link begins: beside the device, or beside the gateway.
      const tapped = this.#running.gateway ?? device;
      this.#running.capture = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: tapped.getId(), hostDir: capturesDir, file: 'device-cloud.pcap', filter: `tcp and net ${linkNet.subnet}` });
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new Error(`containers-resumption: the rig did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  async #network(purpose: string): Promise<{ name: string; subnet: string }> {
    const name = `${this.runId}-${purpose}`;
    // --internal: no route out, only the roles wired onto it (docs/architecture.md §8 The graph and its placements).
    await docker(['network', 'create', '--internal', ...labelArgs(this.runId), name]);
    const { stdout } = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', name]);
    return { name, subnet: stdout.trim() };
  }

  #live<K extends keyof Running>(key: K): NonNullable<Running[K]> {
    const value = this.#running[key];
    if (!value) throw new Error(this.#stopped ? `containers-resumption: stopped; the ${key} is no longer running` : 'containers-resumption: not started; call start() first');
    return value;
  }

  async connect(deviceId: string, serverName: string, options: { reconnectPeriodMs?: number } = {}): Promise<DeviceConnection> {
    const provisioned = this.#devices[0]?.deviceId;
    if (deviceId !== provisioned) throw new Error(`containers-resumption: the device container runs ${String(provisioned)}, not ${deviceId}; construct the rig with deviceIds: ['${deviceId}']`);
    const device = this.#live('device');
    // Behind a gateway the device talks TLS to the gateway, by its name (as in the local rig).
    const { id, ms } = await device.connect(this.#spec.viaGateway ? GATEWAY_NAME : serverName, options.reconnectPeriodMs);
    return { ms, waitForConnacks: (count, timeoutMs) => device.waitForConnacks(id, count, timeoutMs), stop: () => device.disconnect(id) };
  }

  async lastVerifiedPeer(): Promise<{ verifier: 'broker' | 'gateway'; peer: string | undefined }> {
    if (this.#spec.viaGateway) {
      const seen = (await this.#live('gateway').observations()).filter((o) => o.kind === 'device-tls');
      return { verifier: 'gateway', peer: seen.map((o) => String(o.detail.device)).at(-1) };
    }
    // Mosquitto logs the CONNECT it accepted with the username it took from the verified
    // certificate's CN (use_identity_as_username); `docker logs` may trail CONNACK briefly.
    const broker = this.#live('broker');
    const deadline = Date.now() + 5_000;
    let peers: string[] = [];
    do {
      peers = (await broker.observations()).filter((o) => o.kind === 'mqtt-connect').map((o) => String(o.detail.identity));
      if (peers.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    return { verifier: 'broker', peer: peers.at(-1) };
  }

  resetConnections(why: string): Promise<number> {
    if (this.#spec.rttMs === 0) throw new Error('containers-resumption: a 0 ms link is the network itself, with no relay to reset connections; give the link a delay');
    return this.#live('link').resetConnections(why);
  }

  async brokerAdmittedIdentities(): Promise<string[]> {
    // Mosquitto logs no TLS handshake, but it logs each CONNECT it accepted with the username it
    // took from the verified client certificate's CN (use_identity_as_username).
    const record = this.#brokerRecord ?? (await this.#live('broker').observations());
    return record.filter((o) => o.kind === 'mqtt-connect').map((o) => String(o.detail.identity));
  }

  cloudCertificatePem(): string {
    if (!this.#pki) throw new Error('containers-resumption: not started');
    return this.#pki.cloud.certPem;
  }

  /** Clients first, the capture before the namespace it watches, then everything by label. Once. */
  stop(): Promise<string> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async #teardown(): Promise<string> {
    const r = this.#running;
    this.#running = {};
    await r.device?.stopRole().catch(() => undefined);
    await r.gateway?.stopRole().catch(() => undefined);
    await r.capture?.stop().catch(() => undefined);
    if (existsSync(this.capturePath)) {
      // tcpdump drops to its own uid in the sidecar; hand the file back, private (it holds the
      // handshakes of a device whose key log sits beside it).
      chownSync(this.capturePath, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
      chmodSync(this.capturePath, 0o600);
    }
    await r.link?.stopRole().catch(() => undefined);
    if (r.broker) {
      const log = await r.broker.log().catch((err: Error) => `(the broker log could not be read: ${err.message})\n`);
      writeFileSync(join(this.#spec.dir, 'mosquitto.log'), log, { mode: 0o600 });
      this.#brokerRecord = await r.broker.observations().catch(() => undefined);
      await r.broker.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
    }
    await removeRun(this.runId);
    this.#releaseInterrupt?.();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
    mergeKeyLogs(join(this.#spec.dir, 'keylogs'), this.keyLogPath);
    return this.capturePath;
  }
}
