/**
 * The fleet graph on the swarm placement (docs/architecture.md §8 The graph and its placements;
 * issue 11 item 6; docs/scale-out.md "The fleet on swarm"): the same roles as
 * topology/containers-fleet.ts, as Docker Swarm services on one internal attachable overlay
 * network (containers/swarm-fleet-services.ts), so the same fleet steps judge it.
 *
 *   <run>-fleet (replicated: one task per shard) ──mTLS──▶ cloud.testbed.local:8883 (<run>-cloud-broker, Mosquitto)
 *   └─ tcpdump sidecar beside each shard task: fleet-<slot>.pcap      ◀── <run>-cloud-service (delivery ledger)
 *
 * The broker restart is a task restart: `docker service update --force` stops Mosquitto's task
 * (SIGTERM: it writes its persistent sessions and queued messages to its store) and starts a new
 * task, in a new container with a new address under the same service name. The store lives in a
 * per-run host directory bind-mounted into every broker task, so the new task reads it back.
 * The captures sit beside the shards, whose tasks never restart: the broker's namespace is gone
 * with its old task.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import type { LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import type { FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { ProbeResult } from '../emulators/device-credentials.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { serverHelloFilter } from '../analysis/server-hellos.ts';
import { CloudBrokerContainer, parseMosquittoLog } from '../containers/cloud-broker-container.ts';
import { fleetRoleStartupMs } from '../containers/fleet-containers.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt } from '../containers/run-labels.ts';
import { RoleControl } from '../containers/role-control.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_TLS_PORT, type FleetCloudRole, type FleetShardRole } from '../containers/role-config.ts';
import type { RoleImages } from '../containers/role-images.ts';
import { TASK_SLOT, overlayNetworkArgs, serviceCreateArgs, serviceName, splitIntoShards, type SwarmServiceSpec } from '../containers/swarm-service-spec.ts';
import { BROKER_STORE_DIR, fleetServices, type SwarmFleetDirs } from '../containers/swarm-fleet-services.ts';
import { removeServicesOnInterrupt, removeSwarmRun, serviceLogTail, serviceTaskLogs, taskContainers, waitUntilServicesAnswer } from '../containers/swarm-engine.ts';
import { mergeStats, serverHellosInCaptures } from './containers-fleet.ts';
import { fleetDeviceIds, type BrokerHandshakes, type FleetRig, type FleetSpec } from './fleet-rig.ts';
import { fleetCrl, presenterAlerts, serialOf, untilBrokerClosesPresenter, type FleetRevocation, type PresentedCredential, type RevocationRecord } from './fleet-revocation.ts';
import { fleet as fleetGraph } from './recipes.ts';
import { SwarmTopology, answers, swarmRunDirs } from './swarm-topology.ts';

/**
 * Wearables per shard task. Smaller than the containers placement's 1,250 so that the scenarios'
 * 200-300 wearables run as a replicated service of more than one task (each slot with its own
 * config, control socket and capture); a Node task costs ~65 MiB (docs/scale-out.md).
 */
export const SWARM_FLEET_SHARD_SIZE = 150;
/**
 * At most this many shard tasks: a large fleet grows its shards instead. Each shard opens 16
 * connections at once (emulators/fleet/fleet.ts), and Mosquitto on this 2-core host served 4
 * shards × 16 in flight (5,000 connected in containers) but collapsed into handshake timeouts at
 * 4 × 64; 5,000 in shards of 150 would be 34 tasks × 16 = 544 in flight, and 34 Node processes.
 */
export const SWARM_FLEET_MAX_SHARD_TASKS = 4;
/** Services up: a task on an overlay network takes 6-9 s to schedule here, a Node role seconds more to start. */
const SERVICES_UP_TIMEOUT_MS = 120_000;

/** Wearables per shard task for a fleet of `wearables`: `shardSize`, grown so there are at most SWARM_FLEET_MAX_SHARD_TASKS tasks. */
export function swarmDevicesPerShard(wearables: number, shardSize = SWARM_FLEET_SHARD_SIZE): number {
  return Math.min(wearables, Math.max(shardSize, Math.ceil(wearables / SWARM_FLEET_MAX_SHARD_TASKS)));
}
/** The broker's new task: scheduling (6-9 s) and Mosquitto reading its store back. */
const RESTART_TIMEOUT_MS = 60_000;
const BROKER_READY = /Opening ipv4 listen socket on port 8883/g;
/** HTTP calls over a control socket wait at most this much longer than the role's own deadline. */
const CALL_MARGIN_MS = 10_000;
/** Fleets up to this size keep Mosquitto's packet log (the restart and revocation scenarios run 200-300). */
const PACKET_LOG_MAX_WEARABLES = 600;

interface Shard {
  readonly slot: number;
  readonly devices: readonly DeviceProvisioning[];
  readonly control: RoleControl;
  /** Host directory mounted as this task's evidence directory. */
  readonly evidence: string;
}

export class SwarmFleet implements FleetRig, FleetRevocation {
  readonly placement = 'swarm' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #devices: DeviceProvisioning[] = [];
  #shards: Shard[] = [];
  #cloud: RoleControl | undefined;
  #images: RoleImages | undefined;
  #captures: { tcpdump: Tcpdump; path: string }[] = [];
  #controlDir: string | undefined;
  #release: (() => void)[] = [];
  #restartedAtMs: number | undefined;
  #speedup = 1;
  #pki: Pki | undefined;
  readonly #revoked: string[] = [];
  #presented = 0;
  /** Wall time from the first `service create` to every task answering (bench/swarm.ts). */
  servicesUpMs = 0;

  constructor(readonly dir: string, readonly shardSize = SWARM_FLEET_SHARD_SIZE) {}

  get #broker(): string {
    return serviceName(this.runId, 'cloud-broker');
  }

  async start(spec: FleetSpec): Promise<void> {
    const images = await SwarmTopology.prepare();
    this.#images = images;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = fleetDeviceIds(spec.wearables);
    const generated = await generatePki({ wearableIds: [] });
    issueFleetCertificates(generated, ids);
    const pki = await writePki(generated, join(this.dir, 'pki'));
    this.#pki = generated;
    this.#speedup = spec.speedup;
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    writeProvisioning(this.dir, this.#devices);
    this.#controlDir = mkdtempSync('/tmp/tb-swf-');
    const dirs: SwarmFleetDirs = { ...swarmRunDirs(this.dir, pki.dir, this.#controlDir), brokerStore: resolve(this.dir, 'swarm', 'broker-store') };
    await writeCloudServiceIdentity(pki, dirs.identity);
    const devicesPerShard = swarmDevicesPerShard(spec.wearables, this.shardSize);
    const parts = splitIntoShards(this.#devices, Math.ceil(this.#devices.length / devicesPerShard));
    this.#shards = parts.map((devices, i) => {
      const slot = i + 1;
      return { slot, devices, control: new RoleControl(`fleet shard ${slot}`, join(dirs.shardControl.replace(TASK_SLOT, String(slot)), 'fleet-shard.sock')), evidence: dirs.shardEvidence.replace(TASK_SLOT, String(slot)) };
    });
    this.#cloud = new RoleControl('fleet cloud service', join(dirs.control, 'fleet-cloud.sock'));
    const clock: SimClockSpec = { startSec: spec.startSec ?? Math.floor(Date.now() / 1000), speedup: spec.speedup, wallStartMs: Date.now() };
    const crl = spec.revocable ? (await fleetCrl(generated, [])).join('') : undefined;
    this.#release = [cleanUpOnInterrupt(this.runId), removeServicesOnInterrupt(this.runId)];
    try {
      const args = overlayNetworkArgs(this.runId, 'fleet-net');
      const network = args[args.length - 1] as string;
      await docker(args, { timeoutMs: 30_000 });
      this.#writeConfigs(dirs, clock, spec.queueCapacity ?? 256, crl);
      const graph = fleetGraph({ broker: 'mosquitto', wearables: spec.wearables });
      const services = fleetServices(graph, { runId: this.runId, images, dirs, network, devicesPerShard });
      const began = Date.now();
      await Promise.all(services.map((s) => docker(serviceCreateArgs(s, this.runId), { timeoutMs: 60_000 })));
      await this.#waitUntilUp(services, spec.wearables);
      this.servicesUpMs = Date.now() - began;
      if (spec.capture !== false) await this.#startCaptures(services.find((s) => s.role === 'fleet')?.name ?? '', images.tcpdump);
    } catch (err) {
      await this.#teardown();
      throw new Error(`swarm fleet: the services did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  /** Each shard's and the cloud's role config, and Mosquitto's configuration from the containers placement's builder. */
  #writeConfigs(dirs: SwarmFleetDirs, clock: SimClockSpec, queueCapacity: number, crl: string | undefined): void {
    const endpoint = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
    const write = (role: string, file: string, config: FleetShardRole | FleetCloudRole) => {
      mkdirSync(join(dirs.configs, role), { recursive: true, mode: 0o700 });
      writeFileSync(join(dirs.configs, role, file), JSON.stringify(config), { mode: 0o600 });
    };
    for (const s of this.#shards) write('fleet', `shard-${s.slot}.json`, { role: 'fleet-shard', devices: s.devices, endpoint, clock, queueCapacity });
    write('cloud-service', 'role.json', { role: 'fleet-cloud', devices: this.#devices, broker: endpoint, clock });
    const broker = new CloudBrokerContainer('unused').withDevices(this.#devices).withSubscriber(CLOUD_SERVICE_CN).withPersistentSessions(undefined, BROKER_STORE_DIR).withCrlIf(crl);
    // Mosquitto's packet lines (PUBLISH received, PUBACK sent, per client and packet id) are what
    // tells a reading the broker acknowledged and lost across a restart from one it never got;
    // kept for the scenario-sized fleets, left out for the thousands (log volume).
    if (this.#devices.length > PACKET_LOG_MAX_WEARABLES) broker.withoutPacketLog();
    // Swarm does not create a bind mount's source: every directory a task mounts exists first.
    for (const d of [dirs.broker, dirs.brokerStore, dirs.control, dirs.tsxCache, ...this.#shards.flatMap((s) => [s.evidence, dirname(s.control.socketPath)])]) mkdirSync(d, { recursive: true, mode: 0o700 });
    writeFileSync(join(dirs.broker, 'mosquitto.conf'), broker.configuration(), { mode: 0o644 });
    writeFileSync(join(dirs.broker, 'acl'), broker.acl(), { mode: 0o644 });
    if (crl) writeFileSync(join(dirs.broker, 'crl.pem'), crl, { mode: 0o644 });
  }

  /** Every task running and answering: the Node roles on their control sockets, Mosquitto by its listening line. */
  async #waitUntilUp(services: readonly SwarmServiceSpec[], wearables: number): Promise<void> {
    const sockets = new Map<string, string[]>([
      [serviceName(this.runId, 'fleet'), this.#shards.map((s) => s.control.socketPath)],
      [serviceName(this.runId, 'cloud-service'), [this.#cloud?.socketPath ?? '']],
    ]);
    await waitUntilServicesAnswer(
      services.map((s) => s.name),
      async (name, viaDocker) => (name === this.#broker ? viaDocker && ((await serviceTaskLogs(name).catch(() => '')).match(BROKER_READY) ?? []).length > 0 : (await Promise.all((sockets.get(name) ?? []).map(answers))).every(Boolean)),
      // The cloud service registers every device's certificate, a shard loads each of its devices:
      // sized to the fleet as on the containers placement (fleetRoleStartupMs).
      Math.max(SERVICES_UP_TIMEOUT_MS, fleetRoleStartupMs(wearables)),
    );
  }

  /** A tcpdump sidecar beside each shard task: the broker's ServerHellos as the shard received them. */
  async #startCaptures(fleetService: string, image: string): Promise<void> {
    const containers = await taskContainers(fleetService);
    const capturesDir = resolve(this.dir, 'captures');
    mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
    this.#captures = await Promise.all(
      this.#shards.map(async (s) => {
        const target = containers.get(s.slot);
        if (!target) throw new Error(`no container of ${fleetService} slot ${s.slot} on this node to capture beside (a one-node swarm runs every task here)`);
        const file = `fleet-${s.slot}.pcap`;
        const tcpdump = await startTcpdumpSidecar({ image, runId: this.runId, target, hostDir: capturesDir, file, filter: serverHelloFilter(MQTT_TLS_PORT) });
        return { tcpdump, path: join(capturesDir, file) };
      }),
    );
  }

  #started(): { shards: Shard[]; cloud: RoleControl } {
    if (!this.#cloud || this.#shards.length === 0) throw new Error('swarm fleet: not started; a Given step starts it');
    return { shards: this.#shards, cloud: this.#cloud };
  }

  #onShards<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.#started().shards.map((s) => s.control.call<T>(method, path, body, timeoutMs)));
  }

  async connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    const started = performance.now();
    await this.#onShards('POST', '/connect', { deadlineMs }, deadlineMs + CALL_MARGIN_MS);
    return { seconds: (performance.now() - started) / 1000 };
  }

  async report(count: number, deadlineMs: number): Promise<void> {
    await this.#onShards('POST', '/report', { count, deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  async setClock(startSec: number): Promise<void> {
    const clock: SimClockSpec = { startSec, speedup: this.#speedup, wallStartMs: Date.now() };
    await Promise.all([this.#started().cloud.call('POST', '/clock', { clock }), this.#onShards('POST', '/clock', { clock })]);
  }

  /**
   * A task restart. The running task's container is stopped first (SIGTERM: Mosquitto saves its
   * store to the mounted directory and is gone at once), then `docker service update --force`
   * gives the service a new task, which reads the store back. The update alone stops the old task
   * only when the node's agent gets to it, seconds later on a loaded host (measured: a revoked
   * device delivered two more readings to the old broker in that time).
   */
  async restartBroker(): Promise<void> {
    await this.#stopBrokerTask();
    await this.#startBrokerTask();
  }

  async #stopBrokerTask(): Promise<void> {
    this.#restartedAtMs = Date.now();
    const running = (await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${this.#broker}`], { timeoutMs: 20_000 })).stdout.split('\n').filter(Boolean);
    if (running.length > 0) await docker(['stop', '--time', '10', ...running], { timeoutMs: 30_000 });
  }

  /** A new task; done when a new listening line follows those of the tasks before (their logs are complete: they are stopped). */
  async #startBrokerTask(): Promise<void> {
    const readyBefore = ((await serviceTaskLogs(this.#broker)).match(BROKER_READY) ?? []).length;
    await docker(['service', 'update', '--detach', '--quiet', '--force', this.#broker], { timeoutMs: 60_000 });
    const until = Date.now() + RESTART_TIMEOUT_MS;
    while (((await serviceTaskLogs(this.#broker)).match(BROKER_READY) ?? []).length <= readyBefore) {
      if (Date.now() > until) throw new Error(`swarm fleet: Mosquitto's new task did not listen within ${RESTART_TIMEOUT_MS / 1000} s of \`docker service update --force ${this.#broker}\`; it said: ${(await serviceLogTail(this.#broker)) || 'nothing'}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async settle(deadlineMs: number): Promise<void> {
    const { cloud } = this.#started();
    const started = performance.now();
    await this.#onShards('POST', '/settle', { deadlineMs }, deadlineMs + CALL_MARGIN_MS);
    const sealed = Object.values(await this.#sealed()).reduce((a, b) => a + b, 0);
    const overflows = (await this.fleetStats()).overflows;
    const accepted = async () => (await cloud.call<{ accepted: number }>('GET', '/accepted')).accepted;
    while ((await accepted()) < sealed - overflows) {
      if (performance.now() - started > deadlineMs) throw new Error(`swarm fleet: the cloud opened ${await accepted()} of ${sealed - overflows} readings within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #sealed(): Promise<Record<string, number>> {
    return Object.assign({}, ...(await this.#onShards<Record<string, number>>('GET', '/sealed')));
  }

  async fleetStats(): Promise<FleetStats> {
    return mergeStats(await this.#onShards<FleetStats>('GET', '/stats'));
  }

  async ledger(): Promise<LedgerReport> {
    return this.#started().cloud.call('POST', '/ledger', { sealed: await this.#sealed() }, 30_000);
  }

  /** As in containers: Mosquitto logs no handshakes, so its ServerHellos are read from the captures beside the shards (RFC 8446 §4.2.11: pre_shared_key selected = resumed). */
  async brokerHandshakes(): Promise<BrokerHandshakes> {
    if (this.#captures.length === 0) throw new Error('swarm fleet: started without captures; the handshakes are read from them');
    const { full, resumed } = await serverHellosInCaptures(this.#captures, this.#restartedAtMs);
    return { source: `Mosquitto's ServerHellos in the captures beside the fleet shard tasks (${this.#captures.map((c) => c.path).join(', ')})`, full, resumed, unreadable: 0 };
  }

  /**
   * The CA's new CRL replaces crl.pem in the broker's (read-only mounted) config directory and the
   * broker task is restarted to read it: Mosquitto 2.0.11's SIGHUP reload keeps the revoked
   * device's open session (measured in containers, topology/containers-fleet.ts REVOCATION_RELOAD).
   */
  async revokeCertificate(deviceId: string): Promise<RevocationRecord> {
    const pki = this.#pki;
    if (!pki) throw new Error('swarm fleet: not started; a Given step starts it');
    const serialHex = serialOf(pki, deviceId);
    this.#revoked.push(serialHex);
    // The old broker goes first. With the CRL made and the broker's log read before it, the old
    // broker stopped 7 s after the revocation was due (load 10) and meanwhile took readings 3 and
    // 4 from the device being revoked (the last 1 s before "terminating"): nothing was left to
    // refuse. Its log, complete once it is stopped, is all "before".
    await this.#stopBrokerTask();
    const crl = await fleetCrl(pki, this.#revoked);
    const brokerRecordsBefore = (await this.brokerRecords()).length;
    writeFileSync(join(this.dir, 'swarm', 'broker', 'crl.pem'), crl.join(''), { mode: 0o644 });
    await this.#startBrokerTask();
    const how = 'Mosquitto\'s task was restarted to read the new CRL (its container stopped, then docker service update --force; persistent sessions kept in its mounted store, its ticket keys lost with the process)';
    return { deviceId, serialHex, atMs: Date.now(), how, deviceAtRevocation: await this.deviceRecord(deviceId), brokerRecordsBefore };
  }

  #shardOf(deviceId: string): Shard {
    const shard = this.#started().shards.find((s) => s.devices.some((d) => d.deviceId === deviceId));
    if (!shard) throw new Error(`swarm fleet: no shard hosts ${deviceId}`);
    return shard;
  }

  async deviceRecord(deviceId: string): Promise<FleetDeviceRecord> {
    const record = await this.#shardOf(deviceId).control.call<FleetDeviceRecord | null>('POST', '/device', { deviceId });
    if (!record) throw new Error(`swarm fleet: the shard of ${deviceId} has no record of it`);
    return record;
  }

  /** The device's certificate presented once more from its own shard task, captured beside it; the key log lands in that task's evidence directory. */
  async presentCertificate(deviceId: string): Promise<PresentedCredential> {
    const shard = this.#shardOf(deviceId);
    const n = ++this.#presented;
    const capturesDir = resolve(this.dir, 'captures');
    for (const d of [capturesDir, join(shard.evidence, 'keylogs')]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const file = `${deviceId}-presented-${n}.pcap`;
    const keyLog = `${deviceId}-presented-${n}.keylog`;
    const target = (await taskContainers(serviceName(this.runId, 'fleet'))).get(shard.slot);
    if (!target || !this.#images) throw new Error(`swarm fleet: no task container of shard ${shard.slot} to capture beside`);
    const tcpdump = await startTcpdumpSidecar({ image: this.#images.tcpdump, runId: this.runId, target, hostDir: capturesDir, file, filter: `tcp port ${MQTT_TLS_PORT}` });
    const capture = join(capturesDir, file);
    const keyLogPath = join(shard.evidence, 'keylogs', keyLog);
    let result: ProbeResult;
    let unseen;
    try {
      result = await shard.control.call<ProbeResult>('POST', '/present', { deviceId, keyLog }, 20_000 + CALL_MARGIN_MS);
      unseen = await untilBrokerClosesPresenter(capture, keyLogPath);
    } finally {
      await tcpdump.stop().catch(() => undefined);
    }
    handBackCapture(capture);
    return { result, wire: presenterAlerts(capture, keyLogPath, unseen), capture };
  }

  async brokerRecords(): Promise<readonly Observation[]> {
    return parseMosquittoLog(await serviceTaskLogs(this.#broker));
  }

  async stop(): Promise<void> {
    await this.#teardown();
  }

  /** Captures stopped, the broker's log kept as evidence (across its restarts), roles stopped, then everything removed by label. */
  async #teardown(): Promise<void> {
    await Promise.allSettled(this.#captures.map((c) => c.tcpdump.stop()));
    const log = await serviceTaskLogs(this.#broker).catch((e: Error) => `could not read the log: ${e.message}`);
    if (log) writeFileSync(join(this.dir, 'mosquitto.log'), log, { mode: 0o600 });
    const stopRole = (c: RoleControl | undefined) => c?.call('POST', '/stop', {}, 10_000).catch(() => undefined);
    await Promise.all([...this.#shards.map((s) => stopRole(s.control)), stopRole(this.#cloud)]);
    await removeSwarmRun(this.runId).catch((err: Error) => process.stderr.write(`swarm fleet: could not remove run ${this.runId} (${err.message}); the next start removes it, or run: docker service rm $(docker service ls -q --filter label=org.testbed.run=${this.runId})\n`));
    for (const release of this.#release) release();
    this.#release = [];
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
    this.#captures = [];
    this.#shards = [];
    this.#cloud = undefined;
  }
}
