/**
 * The `swarm` placement (docs/architecture.md §8 The graph and its placements, issue 11 item 6): the reporting graph as Docker Swarm
 * services from the same locally built images as the containers placement, on the run's two
 * `--internal --attachable` overlay networks.
 *
 *   <run>-device (overlay, internal)                        <run>-cloud (overlay, internal)
 *   wearables (replicated: one task per shard) ──▶ gateway.testbed.local:8883 ║ gateway ──▶ cloud.testbed.local:8883 (Mosquitto) ◀── cloud service
 *                                                  └─ tcpdump sidecar (docker run) in the gateway task's namespace
 *
 * Each wearable task picks its shard's config by the slot Swarm templates into its env; its
 * control socket and key log live in a host directory templated by the same slot. The steps see
 * the same Topology as on the other placements, so the same Then steps judge it.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN, GATEWAY_DEFAULT_CN, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile } from '../emulators/tls-client-profile.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt } from '../containers/run-labels.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { CloudBrokerContainer, mosquittoPasswordFile, parseMosquittoLog } from '../containers/cloud-broker-container.ts';
import { RoleControl } from '../containers/role-control.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_PLAIN_PORT, MQTT_TLS_PORT, type CloudServiceRole, type GatewayRole, type WearablesRole } from '../containers/role-config.ts';
import type { RoleImages } from '../containers/role-images.ts';
import { DEVICES_PER_SHARD, TASK_SLOT, overlayNetworkArgs, reportingServices, serviceCreateArgs, serviceName, splitIntoShards, type SwarmDirs, type SwarmServiceSpec } from '../containers/swarm-service-spec.ts';
import { ensureSwarm, removeServicesOnInterrupt, removeSwarmRun, taskContainers, waitUntilServicesAnswer } from '../containers/swarm-engine.ts';
import { ContainersTopology, mergeKeyLogs, reportThrough } from './containers-topology.ts';
import { withMosquittoPolicy } from './broker-policy-tls.ts';
import { wearableId } from './local-topology.ts';
import { reporting } from './recipes.ts';
import type { Graph } from './graph.ts';
import type { CaptureFile, Evidence, RoleName, SentReading, Topology, TopologySpec } from './topology.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Three Node roles transpile at once on a 2-core host; a task that is not up by then is reported. */
const SERVICES_UP_TIMEOUT_MS = 90_000;

interface Snapshot {
  readonly observations: Map<string, readonly Observation[]>;
  readonly audit: readonly AuditEntry[];
  readonly gaps: Map<string, bigint[]>;
}

interface Running {
  gateway: RoleControl;
  service: RoleControl;
  /** One control per shard, in slot order (slot = index + 1). */
  shards: RoleControl[];
  /** The broker service's name (its log is its observation log). */
  broker: string;
  captures: { link: string; tcpdump: Tcpdump; path: string }[];
}

export interface SwarmTopologyOptions {
  /** Wearables per shard (task of the wearables service); DEVICES_PER_SHARD by default. */
  readonly devicesPerShard?: number;
}

export class SwarmTopology implements Topology {
  readonly placement = 'swarm' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #devices: DeviceProvisioning[] = [];
  #shards: DeviceProvisioning[][] = [];
  #pki: PkiPaths | undefined;
  #running: Partial<Running> = {};
  #controlDir: string | undefined;
  #release: (() => void)[] = [];
  #snapshot: Snapshot | undefined;
  #stopped: Evidence | undefined;
  /** Wall time of the last start, from the first service create to every task answering (bench/swarm.ts). */
  servicesUpMs = 0;

  constructor(readonly dir: string, readonly options: SwarmTopologyOptions = {}) {}

  /**
   * Docker up, leftovers of killed runs removed (their services too: run-labels.ts), images
   * present (as for the containers placement), and this node a swarm manager.
   */
  static async prepare(say: (line: string) => void = () => undefined): Promise<RoleImages> {
    const images = await ContainersTopology.prepare(say);
    await ensureSwarm(say);
    return images;
  }

  /** The graph this topology realizes (the world judged the same one against SWARM_UNPLACED). */
  static graphOf(spec: TopologySpec): Graph {
    const plaintext = clientProfile(spec.wearableProfile).plaintext === true;
    if (spec.path !== 'terminating-gateway' && spec.path !== 'relay-gateway') {
      throw new Error(`topology: the swarm placement does not run the "${spec.path}" path yet (only terminating-gateway, relay-gateway); use --topology containers for it`);
    }
    if (spec.gatewayCloudMitm) throw new Error('topology: the swarm placement has no MITM service yet; use --topology containers for a MITM between the gateway and the cloud');
    if (plaintext && spec.path === 'terminating-gateway') throw new Error('topology: a gateway that terminates TLS cannot carry the plaintext profile; use a gateway that only relays TCP');
    return reporting({ broker: 'mosquitto', wearables: spec.wearables, path: spec.path, profile: spec.wearableProfile, malice: spec.gatewayMalice.map((m) => ({ name: m.name, ...(m.options ? { options: m.options } : {}) })), plaintext, ...(spec.gatewayUpstreamProfile ? { gatewayUpstreamProfile: spec.gatewayUpstreamProfile } : {}) });
  }

  async start(spec: TopologySpec): Promise<void> {
    if (!Number.isInteger(spec.wearables) || spec.wearables < 1 || spec.wearables > 5000) {
      throw new Error(`topology: the number of wearables must be 1..5000, got ${spec.wearables}`);
    }
    const graph = SwarmTopology.graphOf(spec);
    const plaintext = clientProfile(spec.wearableProfile).plaintext === true;
    const images = await SwarmTopology.prepare();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = Array.from({ length: spec.wearables }, (_, i) => wearableId(i + 1));
    const pki = await writePki(await generatePki({ wearableIds: ids }), join(this.dir, 'pki'));
    this.#pki = pki;
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    writeProvisioning(this.dir, this.#devices);
    const perShard = this.options.devicesPerShard ?? DEVICES_PER_SHARD;
    this.#shards = splitIntoShards(this.#devices, Math.ceil(this.#devices.length / perShard));
    this.#controlDir = mkdtempSync('/tmp/tb-sw-');
    const dirs = swarmRunDirs(this.dir, pki.dir, this.#controlDir);
    const identity = dirs.identity;
    await writeCloudServiceIdentity(pki, identity);
    this.#release = [cleanUpOnInterrupt(this.runId), removeServicesOnInterrupt(this.runId)];
    try {
      const [device, cloud] = await Promise.all(['device', 'cloud'].map((purpose) => this.#network(purpose)));
      const services = reportingServices(graph, { runId: this.runId, images, dirs, networks: { device: device!.name, cloud: cloud!.name }, devicesPerShard: perShard });
      this.#writeConfigs(spec, dirs, plaintext);
      // Swarm does not create a bind mount's source: every templated directory exists before.
      for (let slot = 1; slot <= this.#shards.length; slot += 1) {
        for (const d of [dirs.shardEvidence, dirs.shardControl]) mkdirSync(d.replace(TASK_SLOT, String(slot)), { recursive: true, mode: 0o700 });
      }
      for (const d of [dirs.control, dirs.tsxCache]) mkdirSync(d, { recursive: true, mode: 0o700 });
      const began = Date.now();
      await Promise.all(services.map((s) => docker(serviceCreateArgs(s, this.runId), { timeoutMs: 60_000 })));
      await this.#waitUntilUp(services, dirs);
      this.servicesUpMs = Date.now() - began;
      await this.#startCaptures(serviceName(this.runId, 'gateway'), [['device-gateway', device!.subnet], ['gateway-cloud', cloud!.subnet]], images.tcpdump);
    } catch (err) {
      await this.#teardown();
      throw new Error(`topology: the swarm topology did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  async #network(purpose: string): Promise<{ name: string; subnet: string }> {
    const args = overlayNetworkArgs(this.runId, purpose);
    const name = args[args.length - 1] as string;
    await docker(args, { timeoutMs: 30_000 });
    const { stdout } = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', name]);
    return { name, subnet: stdout.trim() };
  }

  /** Each role's JSON config, Mosquitto's configuration and ACL: what the containers placement writes, as files to mount. */
  #writeConfigs(spec: TopologySpec, dirs: { configs: string; broker: string }, plaintext: boolean): void {
    const clock = SimClock.compressed(spec.speedup).spec;
    const cloud = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
    const write = (role: string, file: string, config: WearablesRole | GatewayRole | CloudServiceRole) => {
      mkdirSync(join(dirs.configs, role), { recursive: true, mode: 0o700 });
      writeFileSync(join(dirs.configs, role, file), JSON.stringify(config), { mode: 0o600 });
    };
    const endpoint = { host: GATEWAY_NAME, port: MQTT_TLS_PORT, serverName: spec.path === 'terminating-gateway' ? GATEWAY_NAME : CLOUD_NAME };
    this.#shards.forEach((devices, i) => write('wearables', `shard-${i + 1}.json`, { role: 'wearables', devices, endpoint, profile: spec.wearableProfile, clock }));
    const malice = spec.gatewayMalice.map((m) => {
      if (!m.options) throw new Error(`swarm: malice "${m.name}" carries no options; build it with the factories in emulators/gateway-malice.ts`);
      return { name: m.name, options: m.options };
    });
    // The plaintext pitfall: the relay carries the wearable's MQTT to the plain listener.
    const upstream = plaintext ? { ...cloud, port: MQTT_PLAIN_PORT } : cloud;
    write('gateway', 'role.json', { role: 'gateway', mode: spec.path === 'terminating-gateway' ? 'terminate' : 'relay', listenPort: MQTT_TLS_PORT, upstream, malice, upstreamProfile: spec.gatewayUpstreamProfile ?? 'secure' });
    write('cloud-service', 'role.json', { role: 'cloud-service', devices: this.#devices, broker: cloud, clock });
    // The same Mosquitto configuration and ACL as the containers placement, from its builder.
    const passwords = new Map(this.#devices.map((d) => [d.deviceId, d.mqttPassword]));
    // The policy `up --policy` names (default included), as the containers placement sets it: what up prints as offered.
    const broker = withMosquittoPolicy(new CloudBrokerContainer('unused'), spec.brokerPolicy).withDevices(this.#devices).withGateway(GATEWAY_DEFAULT_CN).withSubscriber(CLOUD_SERVICE_CN).withPlainListenerIf(plaintext, passwords);
    mkdirSync(dirs.broker, { recursive: true, mode: 0o700 });
    writeFileSync(join(dirs.broker, 'mosquitto.conf'), broker.configuration(), { mode: 0o644 });
    writeFileSync(join(dirs.broker, 'acl'), broker.acl(), { mode: 0o644 });
    if (plaintext) writeFileSync(join(dirs.broker, 'passwords'), mosquittoPasswordFile(passwords), { mode: 0o600 });
  }

  /** Every task running and answering: Node roles on their control socket, Mosquitto by its listening line. */
  async #waitUntilUp(services: readonly SwarmServiceSpec[], dirs: { control: string; shardControl: string }): Promise<void> {
    const controls = {
      gateway: new RoleControl('gateway', join(dirs.control, 'gateway.sock')),
      service: new RoleControl('cloud-service', join(dirs.control, 'cloud-service.sock')),
      shards: this.#shards.map((_, i) => new RoleControl(`wearables shard ${i + 1}`, join(dirs.shardControl.replace(TASK_SLOT, String(i + 1)), 'wearables.sock'))),
    };
    const broker = serviceName(this.runId, 'cloud-broker');
    const sockets = new Map<string, string[]>([
      [serviceName(this.runId, 'gateway'), [controls.gateway.socketPath]],
      [serviceName(this.runId, 'cloud-service'), [controls.service.socketPath]],
      [serviceName(this.runId, 'wearables'), controls.shards.map((c) => c.socketPath)],
    ]);
    await waitUntilServicesAnswer(
      services.map((s) => s.name),
      async (name, viaDocker) => (name === broker ? viaDocker && /Opening ipv4 listen socket on port 8883/.test(await this.#brokerLog().catch(() => '')) : (await Promise.all((sockets.get(name) ?? []).map(answers))).every(Boolean)),
      SERVICES_UP_TIMEOUT_MS,
    );
    this.#running = { ...this.#running, ...controls, broker };
  }

  /** tcpdump sidecars in the gateway task's network namespace, one per link (docs/architecture.md §7 Evidence). */
  async #startCaptures(gatewayService: string, links: readonly (readonly [string, string])[], image: string): Promise<void> {
    const target = (await taskContainers(gatewayService)).get(1);
    if (!target) throw new Error(`no container of ${gatewayService} on this node to capture beside (a one-node swarm runs every task here)`);
    const hostDir = resolve(this.dir, 'captures');
    mkdirSync(hostDir, { recursive: true, mode: 0o700 });
    this.#running.captures = [];
    const started = await Promise.allSettled(links.map(([link, subnet]) => startTcpdumpSidecar({ image, runId: this.runId, target, hostDir, file: `${link}.pcap`, filter: `tcp and net ${subnet}` })));
    started.forEach((r, i) => {
      const link = (links[i] as readonly [string, string])[0];
      if (r.status === 'fulfilled') this.#running.captures?.push({ link, tcpdump: r.value, path: join(hostDir, `${link}.pcap`) });
    });
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Mosquitto's log (log_dest stderr) from its task's container on this node. */
  async #brokerLog(): Promise<string> {
    const broker = this.#running.broker ?? serviceName(this.runId, 'cloud-broker');
    const id = (await taskContainers(broker)).get(1);
    if (!id) return '';
    const { stdout, stderr } = await docker(['logs', id], { timeoutMs: 20_000 });
    return stdout + stderr;
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

  /** The control of the shard that hosts a device. */
  #shardOf(deviceId: string): RoleControl {
    const index = this.#shards.findIndex((s) => s.some((d) => d.deviceId === deviceId));
    const control = this.#live('shards')[index];
    if (!control) throw new Error(`topology: no shard hosts "${deviceId}"`);
    return control;
  }

  async report(deviceId: string, count: number): Promise<SentReading[]> {
    return reportThrough(this.#devices, () => ({ report: (id: string, n: number) => this.#shardOf(id).call<Observation[]>('POST', '/report', { deviceId: id, count: n }, 120_000) }), deviceId, count);
  }

  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.#live('shards').map((s) => s.call('POST', '/settled', { timeoutMs: Math.max(1, deadline - Date.now()) }, timeoutMs + 5_000)));
    // As on the other placements: every PUBLISH Mosquitto let through has its audit entry, and it stays put.
    let last = -1;
    for (;;) {
      const authorised = parseMosquittoLog(await this.#brokerLog()).filter((o) => o.kind === 'publish').length;
      const audited = (await this.audit()).length;
      if (authorised === audited && audited === last) return;
      last = audited;
      if (Date.now() > deadline) throw new Error(`topology: not settled after ${timeoutMs} ms: Mosquitto let through ${authorised} publishes, the cloud audited ${audited}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async observations(role: RoleName): Promise<readonly Observation[]> {
    const cached = this.#snapshot?.observations.get(role);
    if (cached) return cached;
    if (role === 'gateway') return this.#live('gateway').call<Observation[]>('GET', '/observations');
    if (role === 'cloud-broker') return parseMosquittoLog(await this.#brokerLog());
    if (role === 'cloud-service') return this.#live('service').call<Observation[]>('GET', '/observations');
    if (role.startsWith('wearable:')) {
      const id = role.slice('wearable:'.length);
      if (!this.#devices.some((d) => d.deviceId === id)) throw new Error(`topology: no wearable "${id}"`);
      return this.#shardOf(id).call<Observation[]>('GET', `/observations?device=${encodeURIComponent(id)}`);
    }
    if (role === 'mitm-proxy') throw new Error('topology: the swarm placement runs no MITM; this scenario should have been skipped');
    if (role.startsWith('link:')) throw new Error(`topology: on swarm the links are overlay networks captured by tcpdump (captures device-gateway, gateway-cloud); there is no relay log for "${role}"`);
    throw new Error(`topology: unknown role "${role}"`);
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#snapshot?.audit ?? (this.#running.service ? this.#running.service.call<AuditEntry[]>('GET', '/audit') : []);
  }

  async sequenceGaps(deviceId: string): Promise<bigint[]> {
    return this.#snapshot?.gaps.get(deviceId) ?? (this.#running.service ? this.#running.service.call<bigint[]>('GET', `/gaps?device=${encodeURIComponent(deviceId)}`) : []);
  }

  /** Keep what the roles observed, so Then steps can still ask after the services are gone. */
  async #takeSnapshot(): Promise<Snapshot | undefined> {
    if (!this.#running.gateway || !this.#running.service || !this.#running.shards) return undefined;
    const observations = new Map<string, readonly Observation[]>();
    for (const role of ['gateway', 'cloud-broker', 'cloud-service'] as const) observations.set(role, await this.observations(role));
    for (const d of this.#devices) observations.set(`wearable:${d.deviceId}`, await this.observations(`wearable:${d.deviceId}`));
    const gaps = new Map<string, bigint[]>();
    for (const d of this.#devices) gaps.set(d.deviceId, await this.sequenceGaps(d.deviceId));
    return { observations, audit: await this.audit(), gaps };
  }

  async stop(): Promise<Evidence> {
    if (this.#stopped) return this.#stopped;
    this.#snapshot = await this.#takeSnapshot().catch(() => undefined);
    const captures = await this.#teardown();
    // The shards' key logs join the one-task roles' under keylogs/, then one SSLKEYLOGFILE.
    const keyLogs = join(this.dir, 'keylogs');
    this.#shards.forEach((_, i) => {
      const shardLog = join(this.dir, 'swarm', 'shards', String(i + 1), 'keylogs', 'wearables.txt');
      if (!existsSync(shardLog)) return;
      mkdirSync(keyLogs, { recursive: true, mode: 0o700 });
      copyFileSync(shardLog, join(keyLogs, `wearables-shard-${i + 1}.txt`));
    });
    const keyLog = join(this.dir, 'sslkeylog.txt');
    mergeKeyLogs(keyLogs, keyLog);
    this.#stopped = { captures, keyLog, auditLog: join(this.dir, 'audit.jsonl') };
    return this.#stopped;
  }

  /** Stop in order (clients first, captures before the namespace they watch), then remove by label. */
  async #teardown(): Promise<CaptureFile[]> {
    const r = this.#running;
    this.#running = {};
    const stopRole = (c: RoleControl | undefined) => c?.call('POST', '/stop', {}, 10_000).catch(() => undefined);
    await Promise.all((r.shards ?? []).map(stopRole));
    const captures: CaptureFile[] = [];
    for (const c of r.captures ?? []) {
      await c.tcpdump.stop().catch(() => undefined);
      if (!existsSync(c.path)) continue;
      handBackCapture(c.path);
      captures.push({ link: c.link, path: c.path });
    }
    await stopRole(r.gateway);
    await stopRole(r.service);
    await removeSwarmRun(this.runId).catch((err: Error) => process.stderr.write(`swarm: could not remove run ${this.runId} (${err.message}); the next start removes it, or run: docker service rm $(docker service ls -q --filter label=org.testbed.run=${this.runId})\n`));
    for (const release of this.#release) release();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
    return captures;
  }
}

/**
 * The host directories a swarm run's services mount: configs, PKI, evidence and the cloud
 * service's identity under the scenario's directory; control sockets under a short /tmp path
 * (Unix socket paths are limited to 107 bytes); per-shard ones templated by the task slot.
 */
export function swarmRunDirs(dir: string, pkiDir: string, controlDir: string): SwarmDirs {
  const swarmDir = resolve(dir, 'swarm');
  return {
    project: PROJECT_DIR,
    pki: pkiDir,
    evidence: resolve(dir),
    shardEvidence: join(swarmDir, 'shards', TASK_SLOT),
    configs: join(swarmDir, 'configs'),
    control: join(controlDir, 'roles'),
    shardControl: join(controlDir, TASK_SLOT),
    broker: join(swarmDir, 'broker'),
    identity: join(swarmDir, 'cloud-service-identity'),
    tsxCache: join(PROJECT_DIR, 'runs', '.swarm-tsx-cache'),
  };
}

/** Whether something listens on a Unix socket (a role runner that is up). */
export function answers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
