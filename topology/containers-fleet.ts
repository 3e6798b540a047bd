/**
 * The fleet graph on the containers placement (docs/architecture.md §8 The graph and its placements): the wearables sharded over fleet
 * containers (containers/roles/fleet-shard.ts), Mosquitto as the broker with persistent sessions,
 * and the cloud service with its delivery ledger (containers/roles/fleet-cloud.ts), all on one
 * internal network; a tcpdump sidecar beside each shard captures its handshakes (beside the
 * shards, not the broker: `docker restart` gives the broker a new network namespace, and a sidecar
 * in the old one would see nothing after the restart).
 *
 *   fleet-1 … fleet-k ──mTLS──▶ cloud.testbed.local:8883 (Mosquitto) ◀── fleet cloud service
 *   └─ tcpdump sidecar each: fleet-<k>.pcap
 *
 * The restart is `docker restart`: Mosquitto stops on SIGTERM (saving its persistent sessions and
 * queued messages) and starts again under the same name.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { provisionDevice, writeProvisioning, type DeviceProvisioning } from '../emulators/provisioning.ts';
import type { FleetSample, FleetStats } from '../emulators/fleet/fleet-counters.ts';
import type { LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { countServerHellos, serverHelloFilter } from '../analysis/server-hellos.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { FleetCloudContainer, FleetShardContainer, type StartedFleetCloudContainer, type StartedFleetShardContainer } from '../containers/fleet-containers.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import { ContainersTopology, internalNetwork } from './containers-topology.ts';
import { fleetDeviceIds, type BrokerHandshakes, type FleetRig, type FleetSpec } from './fleet-rig.ts';
import { writeFileSync } from 'node:fs';
import type { Pki } from '../certs/pki.ts';
import type { FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { parseMosquittoLog } from '../containers/cloud-broker-container.ts';
import { fleetCrl, presenterAlerts, serialOf, untilBrokerClosesPresenter, type FleetRevocation, type PresentedCredential, type RevocationRecord } from './fleet-revocation.ts';
import { checkQueueQuota, type FleetCloudAbsence } from './fleet-cloud-absence.ts';
import { FLEET_CLOUD_CLIENT_ID } from '../emulators/cloud/persistent-subscriber.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Wearables per fleet container: 4 shards carry the worked example's 5,000 on 2 cores. */
export const SHARD_SIZE = 1_250;
const BROKER_READY = /Opening ipv4 listen socket on port 8883/g;
/**
 * How Mosquitto takes in a new CRL mid-run (features/fleet-revocation.feature). Measured on
 * bookworm's 2.0.11: SIGHUP ("Reloading config.") does load the new crlfile for new handshakes
 * (the revoked certificate presented afresh got an encrypted certificate_revoked alert and "OpenSSL
 * Error[0]: ... certificate verify failed" in the log), as 2.0.0's changelog says of server
 * certificates, but it leaves live sessions alone: the revoked wearable kept its connection and
 * the cloud opened every reading it sealed after the reload. (Once that device dropped its
 * connection after the SIGHUP and reconnected offering the TLS session it held, it was refused
 * too, "certificate verify failed": the reload does not leave a resumption path open.) So the
 * broker is restarted, as the restart scenario does (persistent sessions kept; OpenSSL's ticket
 * keys die with the process, so no device can resume a session from before the revocation, RFC
 * 8446 §2.2).
 */
const REVOCATION_RELOAD: 'sighup' | 'restart' = 'restart';

export class ContainersFleet implements FleetRig, FleetRevocation, FleetCloudAbsence {
  readonly placement = 'containers' as const;
  readonly cloudClientId = FLEET_CLOUD_CLIENT_ID;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #devices: DeviceProvisioning[] = [];
  #broker: StartedCloudBrokerContainer | undefined;
  #cloud: StartedFleetCloudContainer | undefined;
  #shards: StartedFleetShardContainer[] = [];
  #captures: { tcpdump: Tcpdump; path: string }[] = [];
  #restartedAtMs: number | undefined;
  #controlDirs: string[] = [];
  #releaseInterrupt: (() => void) | undefined;
  #speedup = 1;
  #pki: Pki | undefined;
  readonly #revoked: string[] = [];
  #presented = 0;

  constructor(readonly dir: string) {}

  async start(spec: FleetSpec): Promise<void> {
    const images = await ContainersTopology.prepare();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = fleetDeviceIds(spec.wearables);
    const generated = await generatePki({ wearableIds: [] });
    issueFleetCertificates(generated, ids);
    const pki = await writePki(generated, join(this.dir, 'pki'));
    this.#devices = ids.map((id, i) => provisionDevice(id, i + 1));
    writeProvisioning(this.dir, this.#devices);
    const identityDir = join(this.dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(pki, identityDir);
    this.#speedup = spec.speedup;
    this.#pki = generated;
    const crl = spec.revocable ? (await fleetCrl(generated, [])).join('') : undefined;
    const clock = { startSec: spec.startSec ?? Math.floor(Date.now() / 1000), speedup: spec.speedup, wallStartMs: Date.now() };
    const mounts = (control: string) => ({ project: PROJECT_DIR, pki: pki.dir, evidence: resolve(this.dir), control });
    const controlDir = () => {
      const d = mkdtempSync('/tmp/tb-fleet-');
      this.#controlDirs.push(d);
      return d;
    };
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    const net = await internalNetwork(this.runId, 'fleet');
    const broker = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
    const quota = spec.cloudMayGoAway ? brokerQueueQuotaOf(spec.cloudMayGoAway) : undefined;
    const brokerContainer = new CloudBrokerContainer(images['cloud-broker'])
      .withRun(this.runId)
      .withInternalNetwork(net.name, CLOUD_NAME)
      .withPki(pki.dir)
      .withConfigDir(resolve(this.dir, 'broker'))
      .withDevices(this.#devices)
      .withSubscriber(CLOUD_SERVICE_CN)
      .withPersistentSessions(quota)
      .withCrlIf(crl);
    // A cloud that goes away is judged from the broker's packet log (emulators/fleet/broker-backlog.ts).
    this.#broker = await (spec.cloudMayGoAway ? brokerContainer : brokerContainer.withoutPacketLog()).start();
    this.#cloud = await new FleetCloudContainer(images['cloud-service'])
      .withRun(this.runId)
      .withInternalNetwork(net.name, 'cloud-service.testbed.local')
      .withMounts(mounts(controlDir()))
      .withIdentity(identityDir)
      .withDevices(this.#devices)
      .withBroker(broker)
      .withClock(clock)
      .start();
    const shards: DeviceProvisioning[][] = [];
    for (let i = 0; i < this.#devices.length; i += SHARD_SIZE) shards.push(this.#devices.slice(i, i + SHARD_SIZE));
    this.#shards = await Promise.all(
      shards.map((devices, i) =>
        new FleetShardContainer(images.wearable)
          .withRun(this.runId)
          .withInternalNetwork(net.name, `fleet-${i + 1}.testbed.local`)
          .withMounts(mounts(controlDir()))
          .withDevices(devices)
          .withBroker(broker)
          .withClock(clock)
          .withQueueCapacity(spec.queueCapacity ?? 256)
          .start(),
      ),
    );
    if (spec.capture !== false) {
      const capturesDir = resolve(this.dir, 'captures');
      mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
      this.#captures = await Promise.all(
        this.#shards.map(async (shard, i) => {
          const file = `fleet-${i + 1}.pcap`;
          const tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: shard.getId(), hostDir: capturesDir, file, filter: serverHelloFilter(MQTT_TLS_PORT) });
          return { tcpdump, path: join(capturesDir, file) };
        }),
      );
    }
  }

  #started(): { shards: StartedFleetShardContainer[]; broker: StartedCloudBrokerContainer; cloud: StartedFleetCloudContainer } {
    if (!this.#broker || !this.#cloud || this.#shards.length === 0) throw new Error('containers fleet: not started; a Given step starts it');
    return { shards: this.#shards, broker: this.#broker, cloud: this.#cloud };
  }

  async connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    const started = performance.now();
    await Promise.all(this.#started().shards.map((s) => s.connectAll(deadlineMs)));
    return { seconds: (performance.now() - started) / 1000 };
  }

  async report(count: number, deadlineMs: number): Promise<void> {
    await Promise.all(this.#started().shards.map((s) => s.report(count, deadlineMs)));
  }

  async setClock(startSec: number): Promise<void> {
    const { shards, cloud } = this.#started();
    const spec = { startSec, speedup: this.#speedup, wallStartMs: Date.now() };
    await Promise.all([cloud.setClock(spec), ...shards.map((s) => s.setClock(spec))]);
  }

  async restartBroker(): Promise<void> {
    const { broker } = this.#started();
    const readyBefore = ((await broker.log()).match(BROKER_READY) ?? []).length;
    this.#restartedAtMs = Date.now();
    await docker(['restart', '--time', '10', broker.getId()], { timeoutMs: 30_000 });
    const until = Date.now() + 30_000;
    while (((await broker.log()).match(BROKER_READY) ?? []).length <= readyBefore) {
      if (Date.now() > until) throw new Error('containers fleet: Mosquitto did not listen again within 30 s of its restart; see its log in the run directory');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async settle(deadlineMs: number): Promise<void> {
    const { shards, cloud } = this.#started();
    const started = performance.now();
    await Promise.all(shards.map((s) => s.settle(deadlineMs)));
    const sealed = Object.values(await this.#sealed()).reduce((a, b) => a + b, 0);
    const overflows = (await this.fleetStats()).overflows;
    while ((await cloud.accepted()) < sealed - overflows) {
      if (performance.now() - started > deadlineMs) throw new Error(`containers fleet: the cloud opened ${await cloud.accepted()} of ${sealed - overflows} readings within ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #sealed(): Promise<Record<string, number>> {
    return Object.assign({}, ...(await Promise.all(this.#started().shards.map((s) => s.sealed()))));
  }

  async fleetStats(): Promise<FleetStats> {
    return mergeStats(await Promise.all(this.#started().shards.map((s) => s.stats())));
  }

  async ledger(): Promise<LedgerReport> {
    return this.#started().cloud.ledger(await this.#sealed());
  }

  /**
   * Mosquitto logs no handshakes: they are read from the captures beside the shards, each judged
   * by the broker's ServerHello (a pre_shared_key selected: resumed; RFC 8446 §4.2.11). The
   * captures keep only SYNs and segments starting with a handshake record: at a restart storm on a
   * loaded host a full capture lost a third of its packets.
   */
  async brokerHandshakes(): Promise<BrokerHandshakes> {
    if (this.#captures.length === 0) throw new Error('containers fleet: started without captures; the handshakes are read from them');
    const { full, resumed } = await serverHellosInCaptures(this.#captures, this.#restartedAtMs);
    return { source: `Mosquitto's ServerHellos in the captures beside the fleet shards (${this.#captures.map((c) => c.path).join(', ')})`, full, resumed, unreadable: 0 };
  }

  /**
   * The CA's new CRL replaces crl.pem in the broker's (read-only mounted) config directory and
   * Mosquitto is told to take it in; see REVOCATION_RELOAD for how, and why.
   */
  async revokeCertificate(deviceId: string): Promise<RevocationRecord> {
    const pki = this.#pki;
    if (!pki) throw new Error('containers fleet: not started; a Given step starts it');
    const serialHex = serialOf(pki, deviceId);
    this.#revoked.push(serialHex);
    const crl = await fleetCrl(pki, this.#revoked);
    const brokerRecordsBefore = (await this.brokerRecords()).length;
    writeFileSync(join(this.dir, 'broker', 'crl.pem'), crl.join(''), { mode: 0o644 });
    let how: string;
    if (REVOCATION_RELOAD === 'sighup') {
      await docker(['kill', '--signal', 'HUP', this.#started().broker.getId()], { timeoutMs: 20_000 });
      how = 'Mosquitto was sent SIGHUP to reload its configuration and CRL';
    } else {
      await this.restartBroker();
      how = "Mosquitto was restarted to read the new CRL (docker restart; persistent sessions kept, its ticket keys lost with the process)";
    }
    return { deviceId, serialHex, atMs: Date.now(), how, deviceAtRevocation: await this.deviceRecord(deviceId), brokerRecordsBefore };
  }

  async deviceRecord(deviceId: string): Promise<FleetDeviceRecord> {
    for (const shard of this.#started().shards) {
      const record = await shard.device(deviceId);
      if (record) return record;
    }
    throw new Error(`containers fleet: no shard hosts ${deviceId}`);
  }

  /** The device's certificate presented once more from its own shard, captured beside that shard, its key log under keylogs/. */
  async presentCertificate(deviceId: string): Promise<PresentedCredential> {
    const { shards } = this.#started();
    let shard: StartedFleetShardContainer | undefined;
    for (const s of shards) if (await s.device(deviceId)) shard = s;
    if (!shard) throw new Error(`containers fleet: no shard hosts ${deviceId}`);
    const n = ++this.#presented;
    const capturesDir = resolve(this.dir, 'captures');
    for (const d of [capturesDir, resolve(this.dir, 'keylogs')]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const file = `${deviceId}-presented-${n}.pcap`;
    const keyLog = `${deviceId}-presented-${n}.keylog`;
    const images = await ContainersTopology.prepare();
    const tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: shard.getId(), hostDir: capturesDir, file, filter: `tcp port ${MQTT_TLS_PORT}` });
    const capture = join(capturesDir, file);
    const keyLogPath = join(this.dir, 'keylogs', keyLog);
    let result;
    let unseen;
    try {
      result = await shard.present(deviceId, keyLog);
      unseen = await untilBrokerClosesPresenter(capture, keyLogPath);
    } finally {
      await tcpdump.stop().catch(() => undefined);
    }
    handBackCapture(capture);
    return { result, wire: presenterAlerts(capture, keyLogPath, unseen), capture };
  }

  async cloudAway(): Promise<void> {
    await this.#started().cloud.away();
  }

  cloudBack(): Promise<{ sessionPresent: boolean }> {
    return this.#started().cloud.back();
  }

  async brokerRecords(): Promise<readonly Observation[]> {
    return parseMosquittoLog(await this.#started().broker.log());
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#captures.map((c) => c.tcpdump.stop()));
    if (this.#broker) {
      // The broker's log is evidence (connections, refusals, the restart); keep it with the run.
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(this.dir, 'mosquitto.log'), await this.#broker.log().catch((e: Error) => `could not read the log: ${e.message}`), { mode: 0o600 });
    }
    await Promise.allSettled([...this.#shards.map((s) => s.stopRole()), this.#cloud?.stopRole()]);
    await removeRun(this.runId).catch(() => undefined);
    this.#releaseInterrupt?.();
    for (const d of this.#controlDirs) rmSync(d, { recursive: true, force: true });
    this.#shards = [];
    this.#broker = undefined;
    this.#cloud = undefined;
  }
}

/** Mosquitto always bounds an offline client's queue (max_queued_messages, mosquitto.conf(5)): the scenario says how far. */
function brokerQueueQuotaOf(away: NonNullable<FleetSpec['cloudMayGoAway']>): number {
  if (away.brokerQueueQuota === undefined) throw new Error('containers fleet: Mosquitto bounds the queue of an away subscriber (max_queued_messages); say "holds at most N queued messages for an offline subscriber"');
  return checkQueueQuota(away.brokerQueueQuota);
}

/** Several shards' counters as one fleet's: sums, the worst percentile, samples added up by index. */
export function mergeStats(parts: readonly FleetStats[]): FleetStats {
  const sum = (f: (s: FleetStats) => number) => parts.reduce((a, s) => a + f(s), 0);
  const reasons: Record<string, number> = {};
  for (const p of parts) for (const [r, n] of Object.entries(p.refusalReasons)) reasons[r] = (reasons[r] ?? 0) + n;
  const length = Math.min(...parts.map((p) => p.samples.length));
  const samples: FleetSample[] = Array.from({ length }, (_, i) => ({
    tMs: Math.max(...parts.map((p) => (p.samples[i] as FleetSample).tMs)),
    connected: sum((p) => (p.samples[i] as FleetSample).connected),
    acknowledged: sum((p) => (p.samples[i] as FleetSample).acknowledged),
    refusals: sum((p) => (p.samples[i] as FleetSample).refusals),
    reconnects: sum((p) => (p.samples[i] as FleetSample).reconnects),
  }));
  const worst = (f: (s: FleetStats) => number) => Math.max(...parts.map(f));
  return {
    devices: sum((p) => p.devices),
    connected: sum((p) => p.connected),
    fullHandshakes: sum((p) => p.fullHandshakes),
    resumedHandshakes: sum((p) => p.resumedHandshakes),
    reconnects: sum((p) => p.reconnects),
    disconnects: sum((p) => p.disconnects),
    refusals: sum((p) => p.refusals),
    refusalReasons: reasons,
    refusedDevices: parts.flatMap((p) => p.refusedDevices),
    sealed: sum((p) => p.sealed),
    acknowledged: sum((p) => p.acknowledged),
    pending: sum((p) => p.pending),
    overflows: sum((p) => p.overflows),
    // Percentiles do not add up; each shard's is reported as the fleet's worst case.
    latencyMs: { p50: worst((p) => p.latencyMs.p50), p90: worst((p) => p.latencyMs.p90), p99: worst((p) => p.latencyMs.p99), max: worst((p) => p.latencyMs.max) },
    samples,
  };
}

/**
 * Mosquitto's ServerHellos since a broker restart, counted in the captures beside the fleet shards
 * (each capture stopped and handed back first): a pre_shared_key selected is a resumption
 * (RFC 8446 §4.2.11). Shared by the containers and swarm fleets.
 */
export async function serverHellosInCaptures(captures: readonly { tcpdump: Tcpdump; path: string }[], sinceMs: number | undefined): Promise<{ full: number; resumed: number }> {
  const since = BigInt(sinceMs ?? 0) * 1000n;
  let full = 0;
  let resumed = 0;
  for (const c of captures) {
    await c.tcpdump.stop().catch(() => undefined);
    handBackCapture(c.path);
    const counted = countServerHellos(readPcap(c.path).packets, MQTT_TLS_PORT, since);
    full += counted.full;
    resumed += counted.resumed;
  }
  return { full, resumed };
}
