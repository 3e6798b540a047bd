/**
 * The `containers` placement (docs/architecture.md §8 The graph and its placements): the same role code as the local topology, one
 * container per role, on internal Docker networks (no route out), captured by tcpdump sidecars
 * on the gateway's real interfaces, with Mosquitto as the real cloud broker.
 *
 *   device network (internal)                    cloud network (internal)
 *   wearables ──▶ gateway.testbed.local:8883 ║ gateway ──▶ cloud.testbed.local:8883 (Mosquitto) ◀── cloud service
 *                 └─ tcpdump sidecar in the gateway's namespace: device-gateway.pcap, gateway-cloud.pcap
 *
 * Testcontainers' reaper (Ryuk) cannot be pulled here, so it is disabled and everything is
 * labelled with the run and removed by label: after every scenario, on a failed start, on
 * Ctrl-C, and at the next start for whatever a killed run left.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki, type Pki } from '../certs/pki.ts';
import { readPem, writePki, type PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN, GATEWAY_DEFAULT_CN, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile } from '../emulators/tls-client-profile.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { ensureDockerDaemon } from '../containers/docker-daemon.ts';
import { ensureRoleImages, type RoleImages } from '../containers/role-images.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt, labelArgs, removeLeftovers, removeRun } from '../containers/run-labels.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { CloudServiceContainer, type StartedCloudServiceContainer } from '../containers/cloud-service-container.ts';
import { GatewayContainer, type StartedGatewayContainer } from '../containers/gateway-container.ts';
import { WearableContainer, type StartedWearableContainer } from '../containers/wearable-container.ts';
import { MitmProxyContainer, type StartedMitmProxyContainer } from '../containers/mitm-proxy-container.ts';
import { startGatewayCloudMitm } from './containers-gateway-mitm.ts';
import { DEVICE_GATEWAY_MITM_NAME, startDeviceGatewayMitm } from './containers-device-mitm.ts';
import { DEVICE_LINK_NAME, DEVICE_LINK_PORT, oneWayDelayOf, startDeviceLinkRelay } from './containers-device-link.ts';
import type { StartedTcpLinkRelayContainer } from '../containers/resumption-containers.ts';
import { withMosquittoPolicy } from './broker-policy-tls.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import { wearableId } from './local-topology.ts';
import { commandHandlerOf, type CommandTopology, type DeviceCommandRecords } from './command-topology.ts';
import type { ResponseAuditEntry, SentCommand } from '../emulators/cloud/command-center.ts';
import { sentReadingOf, type CaptureFile, type DeviceGatewayMitm, type Evidence, type RoleName, type SentReading, type Topology, type TopologySpec } from './topology.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Snapshot {
  readonly observations: Map<string, readonly Observation[]>;
  readonly audit: readonly AuditEntry[];
  readonly gaps: Map<string, bigint[]>;
}

interface Running {
  broker: StartedCloudBrokerContainer;
  service: StartedCloudServiceContainer;
  gateway: StartedGatewayContainer;
  wearables: StartedWearableContainer;
  mitm: StartedMitmProxyContainer | undefined;
  /** The relay delaying the device link (`--impair latency:ms=N`), when the spec impairs it. */
  deviceLink: StartedTcpLinkRelayContainer | undefined;
  captures: { link: string; tcpdump: Tcpdump; path: string }[];
}

export class ContainersTopology implements Topology, CommandTopology {
  readonly placement = 'containers' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #devices: DeviceProvisioning[] = [];
  #pki: PkiPaths | undefined;
  #running: Partial<Running> = {};
  #controlDir: string | undefined;
  #releaseInterrupt: (() => void) | undefined;
  #snapshot: Snapshot | undefined;
  #stopped: Evidence | undefined;

  /**
   * `interception: 'transparent'`: the wearables connect to the cloud's own name and address;
   * their route to the cloud network goes through the gateway, whose iptables REDIRECT takes
   * the connection (as certmitm does). Default: the wearables are pointed at the gateway.
   */
  constructor(readonly dir: string, readonly options: { interception?: 'pointed' | 'transparent' } = {}) {}

  /** Docker up, leftovers of killed runs removed, images present (built only if inputs changed). */
  static async prepare(say: (line: string) => void = () => undefined): Promise<RoleImages> {
    // No registry is reachable: the reaper image cannot be pulled, we clean up by label instead.
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    await ensureDockerDaemon(say);
    const removed = await removeLeftovers();
    if (removed > 0) say(`containers: removed ${removed} containers/networks left by a killed run`);
    // The images' tags hash their inputs (the Node binary among them: about a second to read);
    // they cannot change while this process runs, so one check per process is enough.
    ContainersTopology.#images ??= ensureRoleImages(say).then((r) => r.images);
    return ContainersTopology.#images.catch((err: Error) => {
      ContainersTopology.#images = undefined;
      throw err;
    });
  }

  static #images: Promise<RoleImages> | undefined;

  async start(spec: TopologySpec): Promise<void> {
    if (!Number.isInteger(spec.wearables) || spec.wearables < 1 || spec.wearables > 5000) {
      throw new Error(`topology: the number of wearables must be 1..5000, got ${spec.wearables}`);
    }
    if (spec.path !== 'terminating-gateway' && spec.path !== 'relay-gateway') {
      throw new Error(`topology: the containers placement does not run the "${spec.path}" path yet (only terminating-gateway, relay-gateway); use --topology local for it`);
    }
    const plaintext = clientProfile(spec.wearableProfile).plaintext === true;
    const commandHandler = commandHandlerOf(spec);
    if (plaintext && spec.path === 'terminating-gateway') {
      throw new Error('topology: a gateway that terminates TLS cannot carry the plaintext profile (there is no TLS to terminate); use a gateway that only relays TCP');
    }
    // Refused before anything starts: what the relay cannot realize, and a relay on a transparent route.
    const deviceLinkDelayMs = spec.deviceLinkImpairments ? oneWayDelayOf(spec.deviceLinkImpairments) : undefined;
    if (deviceLinkDelayMs !== undefined && this.options.interception === 'transparent') throw new Error('topology: a delayed device link needs the wearables pointed at the relay, which transparent interception does not do; drop the impairments or the transparent interception');
    const images = await ContainersTopology.prepare();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = Array.from({ length: spec.wearables }, (_, i) => wearableId(i + 1));
    const generated = await generatePki({ wearableIds: ids });
    const pki = await writePki(generated, join(this.dir, 'pki'));
    this.#pki = pki;
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    writeProvisioning(this.dir, this.#devices);
    const identityDir = join(this.dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(pki, identityDir);
    this.#controlDir = mkdtempSync('/tmp/tb-ctl-');
    const mounts: RoleMounts = { project: PROJECT_DIR, pki: pki.dir, evidence: resolve(this.dir), control: this.#controlDir };
    const clock = SimClock.compressed(spec.speedup).spec;
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    try {
      const deviceNet = await this.#network('device');
      const cloudNet = await this.#network('cloud');
      // A delayed device link: the wearables on a network of their own, the relay between it and the gateway's.
      const deviceLinkNet = deviceLinkDelayMs === undefined ? undefined : await this.#network('device-link');
      const cloud = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
      const cloudSide = (async () => {
        this.#running.broker = await withMosquittoPolicy(new CloudBrokerContainer(images['cloud-broker']), spec.brokerPolicy)
          .withRun(this.runId)
          .withInternalNetwork(cloudNet.name, CLOUD_NAME, 'broker.testbed.local')
          .withPki(pki.dir)
          .withConfigDir(resolve(this.dir, 'broker'))
          .withDevices(this.#devices)
          .withGateway(GATEWAY_DEFAULT_CN)
          .withSubscriber(CLOUD_SERVICE_CN)
          .withPlainListenerIf(plaintext, new Map(this.#devices.map((d) => [d.deviceId, d.mqttPassword])))
          .withDeviceCommandsIf(commandHandler !== undefined)
          .start();
        this.#running.service = await new CloudServiceContainer(images['cloud-service'])
          .withRun(this.runId)
          .withInternalNetwork(cloudNet.name, 'cloud-service.testbed.local')
          .withMounts(mounts)
          .withIdentity(identityDir)
          .withDevices(this.#devices)
          .withBroker(cloud)
          .withClock(clock)
          .withCommandsIf(commandHandler !== undefined)
          .start();
      })();
      const gatewaySide = (async () => {
        // A MITM on the gateway→cloud link takes the cloud's place in the gateway's upstream.
        const mitm = spec.gatewayCloudMitm
          ? await startGatewayCloudMitm({ image: images['mitm-proxy'], runId: this.runId, cloudNetwork: cloudNet.name, mounts, pki: generated, caBundlePem: readPem(pki.caBundle, 'the testbed CA bundle'), cloud, spec: spec.gatewayCloudMitm })
          : undefined;
        // A MITM on the device link takes the gateway's place for the wearables (deviceSide points them at it).
        const deviceMitm = spec.deviceGatewayMitm ? await this.#startDeviceMitm(images, mounts, deviceNet.name, generated, readPem(pki.caBundle, 'the testbed CA bundle'), spec.deviceGatewayMitm) : undefined;
        this.#running.mitm = mitm?.mitm ?? deviceMitm;
        const gateway = await new GatewayContainer(images.gateway)
          .withRun(this.runId)
          .withInternalNetwork(deviceNet.name, GATEWAY_NAME)
          .withMounts(mounts)
          .withMode(spec.path === 'terminating-gateway' ? 'terminate' : 'relay')
          // The plaintext pitfall: the relay carries the wearable's MQTT to the plain listener.
          .withUpstream(plaintext ? { ...cloud, port: CloudBrokerContainer.MQTT_PLAIN_PORT } : (mitm?.endpoint ?? cloud), cloudNet.name, 'gateway.cloud.testbed.local')
          .withUpstreamProfile(spec.gatewayUpstreamProfile ?? 'secure')
          .withMalice(spec.gatewayMalice)
          .withTransparentInterceptionIf(this.options.interception === 'transparent', MQTT_TLS_PORT)
          .start();
        this.#running.gateway = gateway;
        const capturesDir = resolve(this.dir, 'captures');
        mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
        this.#running.captures ??= [];
        // Both sidecars at once: each is a container start, and the topology's start waits for both.
        // With a relay on the device link, its capture is taken beside the relay's wearable side (deviceSide).
        const links = deviceLinkNet ? ([['gateway-cloud', cloudNet]] as const) : ([['device-gateway', deviceNet], ['gateway-cloud', cloudNet]] as const);
        // Behind a MITM on the device link its capture is taken beside the MITM: both of its legs.
        const beside = (link: string): string => (link === 'device-gateway' && deviceMitm ? deviceMitm.getId() : gateway.getId());
        const started = await Promise.allSettled(links.map(([link, net]) => startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: beside(link), hostDir: capturesDir, file: `${link}.pcap`, filter: `tcp and net ${net.subnet}` })));
        started.forEach((r, i) => {
          const link = (links[i] as (typeof links)[number])[0];
          if (r.status === 'fulfilled') this.#running.captures?.push({ link, tcpdump: r.value, path: join(capturesDir, `${link}.pcap`) });
        });
        const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      const transparent = this.options.interception === 'transparent';
      const deviceSide = (async () => {
        if (deviceLinkNet && deviceLinkDelayMs !== undefined) await this.#startDeviceLink(images, mounts, deviceLinkNet, deviceNet.name, deviceLinkDelayMs);
        const wearables = new WearableContainer(images.wearable)
          .withRun(this.runId)
          .withInternalNetwork((deviceLinkNet ?? deviceNet).name)
          .withMounts(mounts)
          .withDevices(this.#devices)
          .withProfile(spec.wearableProfile)
          .withClock(clock)
          .withCommandHandler(commandHandler);
        if (transparent) {
          // Pointed at the cloud's name; only the route says the gateway is on the way. The
          // cloud's address as the wearables see it lies in their own subnet: Docker drops
          // bridged packets for other subnets on an internal network, even towards a router.
          await Promise.all([cloudSide, gatewaySide]);
          const cloudAddress = lastHostAddress(deviceNet.subnet);
          wearables
            .withExtraHosts([{ host: CLOUD_NAME, ipAddress: cloudAddress }])
            .withRouteVia(`${cloudAddress}/32`, (this.#running.gateway as StartedGatewayContainer).addressOn(deviceNet.name))
            .withEndpoint({ host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME });
        } else if (deviceLinkNet) {
          wearables.withEndpoint({ host: DEVICE_LINK_NAME, port: DEVICE_LINK_PORT, serverName: spec.path === 'terminating-gateway' ? GATEWAY_NAME : CLOUD_NAME });
        } else if (spec.deviceGatewayMitm) {
          wearables.withEndpoint({ host: DEVICE_GATEWAY_MITM_NAME, port: MitmProxyContainer.LISTEN_PORT, serverName: GATEWAY_NAME });
        } else {
          wearables.withEndpoint({ host: GATEWAY_NAME, port: GatewayContainer.LISTEN_PORT, serverName: spec.path === 'terminating-gateway' ? GATEWAY_NAME : CLOUD_NAME });
        }
        this.#running.wearables = await wearables.start();
      })();
      const results = await Promise.allSettled([cloudSide, gatewaySide, deviceSide]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      await this.#teardown();
      throw new Error(`topology: the containers topology did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  /** The MITM on the device link, relaying to the gateway with the stolen device identity the spec names. */
  async #startDeviceMitm(images: RoleImages, mounts: RoleMounts, deviceNetwork: string, generated: Pki, caBundlePem: string, spec: DeviceGatewayMitm): Promise<StartedMitmProxyContainer> {
    const device = generated.wearables.get(spec.stolenDeviceIdentity);
    if (!device) throw new Error(`topology: the MITM's stolen identity ${spec.stolenDeviceIdentity} is not a provisioned device`);
    const gateway = { host: GATEWAY_NAME, port: GatewayContainer.LISTEN_PORT, serverName: GATEWAY_NAME };
    const started = await startDeviceGatewayMitm({ image: images['mitm-proxy'], runId: this.runId, deviceNetwork, mounts, pki: generated, caBundlePem, gateway, forgedCase: spec.forgedCase, device: { certChainPem: device.chainPem, keyPem: device.keyPem } });
    return started.mitm;
  }

  /** The relay delaying the device link, and the device-link capture beside its wearable side. */
  async #startDeviceLink(images: RoleImages, mounts: RoleMounts, deviceLinkNet: { name: string; subnet: string }, gatewayNetwork: string, oneWayDelayMs: number): Promise<void> {
    const relay = await startDeviceLinkRelay({ image: images.gateway, runId: this.runId, deviceLinkNetwork: deviceLinkNet.name, gatewayNetwork, mounts, oneWayDelayMs });
    this.#running.deviceLink = relay;
    const capturesDir = resolve(this.dir, 'captures');
    mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
    const tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: relay.getId(), hostDir: capturesDir, file: 'device-gateway.pcap', filter: `tcp and net ${deviceLinkNet.subnet}` });
    (this.#running.captures ??= []).push({ link: 'device-gateway', tcpdump, path: join(capturesDir, 'device-gateway.pcap') });
  }

  #network(purpose: string): Promise<{ name: string; subnet: string }> {
    return internalNetwork(this.runId, purpose);
  }

  get pki(): PkiPaths {
    if (!this.#pki) throw new Error('topology: not started');
    return this.#pki;
  }

  devices(): readonly DeviceProvisioning[] {
    return this.#devices;
  }

  #live<K extends keyof Running>(key: K): Running[K] {
    const value = this.#running[key];
    if (!value) throw new Error(this.#stopped ? `topology: stopped; ${key} is no longer running` : 'topology: not started; call start(spec) first');
    return value as Running[K];
  }

  async report(deviceId: string, count: number): Promise<SentReading[]> {
    return reportThrough(this.#devices, () => this.#live('wearables'), deviceId, count);
  }

  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.#live('wearables').settled(Math.max(1, deadline - Date.now()));
    // As local: every PUBLISH Mosquitto let through must have its audit entry, and stay put.
    let last = -1;
    for (;;) {
      const { authorised } = await this.#live('broker').publishCounts();
      const audited = (await this.#live('service').audit()).length;
      if (authorised === audited && audited === last) return;
      last = audited;
      if (Date.now() > deadline) throw new Error(`topology: not settled after ${timeoutMs} ms: Mosquitto let through ${authorised} publishes, the cloud audited ${audited}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async observations(role: RoleName): Promise<readonly Observation[]> {
    const cached = this.#snapshot?.observations.get(role);
    if (cached) return cached;
    if (role === 'gateway') return this.#live('gateway').observations();
    if (role === 'cloud-broker') return this.#live('broker').observations();
    if (role === 'cloud-service') return this.#live('service').observations();
    if (role === 'mitm-proxy') {
      const mitm = this.#running.mitm;
      if (!mitm) throw new Error(this.#stopped ? 'topology: stopped; the MITM is no longer running' : 'topology: this scenario has no MITM; add "And a MITM between the gateway and the cloud presents the …"');
      return mitm.observations();
    }
    if (role.startsWith('wearable:')) {
      const id = role.slice('wearable:'.length);
      if (!this.#devices.some((d) => d.deviceId === id)) throw new Error(`topology: no wearable "${id}"`);
      return this.#live('wearables').observations(id);
    }
    if (role.startsWith('link:')) {
      throw new Error(`topology: in containers the links are real networks captured by tcpdump (captures device-gateway, gateway-cloud); there is no relay log for "${role}"`);
    }
    throw new Error(`topology: unknown role "${role}"`);
  }

  async sendCommand(deviceId: string, body: string): Promise<SentCommand> {
    if (!this.#devices.some((d) => d.deviceId === deviceId)) throw new Error(`topology: no wearable "${deviceId}"`);
    await this.#live('wearables').commandsReady(deviceId);
    return this.#live('service').sendCommand(deviceId, body);
  }

  async deviceCommandRecords(deviceId: string): Promise<DeviceCommandRecords> {
    return this.#live('wearables').deviceCommandRecords(deviceId);
  }

  async commandResponses(): Promise<readonly ResponseAuditEntry[]> {
    return this.#live('service').commandResponses();
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#snapshot?.audit ?? (this.#running.service ? this.#running.service.audit() : []);
  }

  async sequenceGaps(deviceId: string): Promise<bigint[]> {
    return this.#snapshot?.gaps.get(deviceId) ?? (this.#running.service ? this.#running.service.sequenceGaps(deviceId) : []);
  }

  /** Keep what the roles observed, so Then steps can still ask after the containers are gone. */
  async #takeSnapshot(): Promise<Snapshot | undefined> {
    const r = this.#running;
    if (!r.broker || !r.service || !r.gateway || !r.wearables) return undefined;
    const observations = new Map<string, readonly Observation[]>();
    observations.set('gateway', await r.gateway.observations());
    observations.set('cloud-broker', await r.broker.observations());
    observations.set('cloud-service', await r.service.observations());
    if (r.mitm) observations.set('mitm-proxy', await r.mitm.observations());
    for (const d of this.#devices) observations.set(`wearable:${d.deviceId}`, await r.wearables.observations(d.deviceId));
    const gaps = new Map<string, bigint[]>();
    for (const d of this.#devices) gaps.set(d.deviceId, await r.service.sequenceGaps(d.deviceId));
    return { observations, audit: await r.service.audit(), gaps };
  }

  async stop(): Promise<Evidence> {
    if (this.#stopped) return this.#stopped;
    this.#snapshot = await this.#takeSnapshot().catch(() => undefined);
    const captures = await this.#teardown();
    const keyLog = join(this.dir, 'sslkeylog.txt');
    mergeKeyLogs(join(this.dir, 'keylogs'), keyLog);
    this.#stopped = { captures, keyLog, auditLog: join(this.dir, 'audit.jsonl') };
    return this.#stopped;
  }

  /** Stop in order (clients first, captures before the namespace they watch), then remove by label. */
  async #teardown(): Promise<CaptureFile[]> {
    const r = this.#running;
    this.#running = {};
    await r.wearables?.stopRole().catch(() => undefined);
    const captures: CaptureFile[] = [];
    for (const c of r.captures ?? []) {
      await c.tcpdump.stop().catch(() => undefined);
      if (!existsSync(c.path)) continue;
      handBackCapture(c.path);
      captures.push({ link: c.link, path: c.path });
    }
    await r.gateway?.stopRole().catch(() => undefined);
    await r.deviceLink?.stopRole().catch(() => undefined);
    await r.mitm?.stopRole().catch(() => undefined);
    await r.service?.stopRole().catch(() => undefined);
    await r.broker?.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
    await removeRun(this.runId);
    this.#releaseInterrupt?.();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
    return captures;
  }
}

/** An internal network of the run (labelled for cleanup) and its subnet. */
export async function internalNetwork(runId: string, purpose: string): Promise<{ name: string; subnet: string }> {
  const name = `${runId}-${purpose}`;
  // --internal: no route out of the network, only the roles wired onto it (docs/architecture.md §8 The graph and its placements).
  await docker(['network', 'create', '--internal', ...labelArgs(runId), name]);
  const { stdout } = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', name]);
  return { name, subnet: stdout.trim() };
}

/** Have one wearable of a fleet container report, as the steps see it (Topology.report). */
export async function reportThrough(devices: readonly DeviceProvisioning[], fleet: () => { report(deviceId: string, count: number): Promise<Observation[]> }, deviceId: string, count: number): Promise<SentReading[]> {
  if (!devices.some((d) => d.deviceId === deviceId)) {
    throw new Error(`topology: no wearable "${deviceId}"; this topology has ${devices.map((d) => d.deviceId).join(', ') || 'none'}`);
  }
  const sent = await fleet().report(deviceId, count);
  return sent.map((o) => sentReadingOf(deviceId, o));
}

/** The highest host address of an IPv4 subnet (Docker allocates from the bottom). */
export function lastHostAddress(cidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m || Number(m[5]) > 30) throw new Error(`topology: "${cidr}" is not an IPv4 subnet with room for hosts`);
  const base = m.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(m[5]));
  const last = base - (base % size) + size - 2;
  return [24, 16, 8, 0].map((shift) => Math.floor(last / 2 ** shift) % 256).join('.');
}

/** One SSLKEYLOGFILE for the run from each role's key log (0600: it decrypts every record). */
export function mergeKeyLogs(dir: string, into: string): void {
  // A topology whose start failed before it made its directory is still stopped (and merged) by
  // the After hook: without this, its ENOENT replaced the failed step's error in JUnit.
  mkdirSync(dirname(into), { recursive: true, mode: 0o700 });
  const parts = existsSync(dir) ? readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'latin1')) : [];
  writeFileSync(into, parts.join(''), { mode: 0o600, encoding: 'latin1' });
  chmodSync(into, 0o600);
}
