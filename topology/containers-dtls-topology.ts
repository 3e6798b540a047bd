/**
 * The `containers` placement of the DTLS paths (docs/architecture.md §8 The graph and its placements): the roles of
 * topology/local-dtls-topology.ts, one container each, on internal Docker networks, every DTLS
 * end a pion bridge run from the project mount. Mosquitto carries E3 between the node that
 * strips DTLS and the cloud service, and carries the cloud's acknowledgements back.
 *
 *   dtls-stripping-gateway:
 *     device network                                       cloud network
 *     wearables ─UDP 5684─▶ gateway.testbed.local ══ gateway ─MQTT/TLS─▶ Mosquitto ◀── cloud service
 *     captures: device-gateway (udp, in the gateway's namespace), gateway-cloud (tcp, same)
 *   dtls-psk-attacker:
 *     wearables ─UDP─▶ attacker.testbed.local ══ attacker ─UDP─▶ cloud-dtls ─MQTT/TLS─▶ Mosquitto ◀── cloud service
 *     captures: device-attacker, attacker-cloud (udp, in the attacker's namespace)
 *
 * A device link with impairments runs links/udp-link.ts as a role of its own between the
 * wearables and the gateway (no tc netem in this kernel); its capture is then taken beside the
 * relay, on the wearables' side, and its observations answer `link:<name>`.
 *
 * In the PSK path the cloud's DTLS endpoint is a DTLS-stripping forwarder into Mosquitto with
 * its own client identity (CN cloud-dtls), where the local placement hands each datagram to the
 * in-process cloud service: the cloud service stays one Mosquitto subscriber in both paths.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_NAME, CLOUD_SERVICE_CN, GATEWAY_DEFAULT_CN, GATEWAY_DNS_NAMES, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { fleetHandshakeTimeoutMs } from '../emulators/dtls/dtls-fleet.ts';
import { ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { CloudBrokerContainer, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { CloudServiceContainer, type StartedCloudServiceContainer } from '../containers/cloud-service-container.ts';
import { DTLS_PORT, UDP_LINK_PORT, DtlsGatewayContainer, DtlsPskAttackerContainer, DtlsWearableContainer, UdpLinkContainer, type StartedDtlsRole, type StartedDtlsWearableContainer } from '../containers/dtls-containers.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { DtlsFleetShardContainer, type StartedDtlsFleetShardContainer } from '../containers/dtls-fleet-shard-container.ts';
import type { DtlsFleetShardHandle } from '../emulators/dtls/dtls-fleet-shard.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import type { RoleImages } from '../containers/role-images.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import { ContainersTopology, internalNetwork, mergeKeyLogs, reportThrough } from './containers-topology.ts';
import { checkDtlsSpec, provisionDtlsRun } from './local-dtls-topology.ts';
import { type CaptureFile, type Evidence, type RoleName, type SentReading, type Topology, type TopologySpec } from './topology.ts';

const ATTACKER_NAME = 'attacker.testbed.local';
const CLOUD_DTLS_NAME = 'cloud-dtls.testbed.local';
const LINK_NAME = 'device-link.testbed.local';
/** The cloud DTLS endpoint's client identity towards Mosquitto (the ACL user that may publish readings). */
const CLOUD_DTLS_CN = 'cloud-dtls';
const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Running {
  broker: StartedCloudBrokerContainer;
  service: StartedCloudServiceContainer;
  /** The node the wearables' DTLS ends at: the gateway, or the attacker. */
  middle: StartedDtlsRole;
  cloudDtls: StartedDtlsRole;
  link: StartedDtlsRole;
  wearables: StartedDtlsWearableContainer;
  /** spec.dtlsFleet: every wearable on one fleet bridge in one shard container, instead of `wearables`. */
  fleetShard: StartedDtlsFleetShardContainer;
}

interface Network {
  readonly name: string;
  readonly subnet: string;
}

export class ContainersDtlsTopology implements Topology {
  readonly placement = 'containers' as const;
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #devices: DeviceProvisioning[] = [];
  #pki: PkiPaths | undefined;
  #running: Partial<Running> = {};
  #captures: { link: string; tcpdump: Tcpdump; path: string }[] = [];
  #linkName: string | undefined;
  #psk = false;
  #controlDir: string | undefined;
  #releaseInterrupt: (() => void) | undefined;
  #snapshot: Map<string, readonly Observation[]> | undefined;
  #audit: readonly AuditEntry[] | undefined;
  #stopped: Evidence | undefined;

  constructor(readonly dir: string) {}

  get pki(): PkiPaths {
    if (!this.#pki) throw new Error('topology: not started');
    return this.#pki;
  }

  /** Every DTLS bridge's session keys (NSS key log format), merged at stop(). */
  get dtlsKeyLog(): string {
    return join(this.dir, 'dtls.keylog');
  }

  async start(spec: TopologySpec): Promise<void> {
    checkDtlsSpec(spec, 'ContainersDtlsTopology', 'ContainersTopology');
    const images = await ContainersTopology.prepare();
    // Built here, on the host: the role containers only run it from the read-only project mount.
    await ensureDtlsBridge();
    const { pki, devices } = await provisionDtlsRun(this.dir, spec.wearables, spec.dtlsFleet !== undefined);
    this.#pki = pki;
    this.#devices = devices;
    const serviceIdentity = join(this.dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(pki, serviceIdentity);
    this.#controlDir = mkdtempSync('/tmp/tb-ctl-');
    const clock = SimClock.compressed(spec.speedup).spec;
    const psk = spec.path === 'dtls-psk-attacker';
    this.#psk = psk;
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    try {
      const deviceNet = await this.#network('device');
      const cloudNet = await this.#network('cloud');
      const cloud = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
      this.#running.broker = await new CloudBrokerContainer(images['cloud-broker'])
        .withRun(this.runId)
        .withInternalNetwork(cloudNet.name, CLOUD_NAME, 'broker.testbed.local')
        .withPki(pki.dir)
        .withConfigDir(resolve(this.dir, 'broker'))
        .withDevices(this.#devices)
        // Whoever strips the devices' DTLS publishes their E3 packets and reads the acks.
        .withGateway(psk ? CLOUD_DTLS_CN : GATEWAY_DEFAULT_CN)
        .withSubscriber(CLOUD_SERVICE_CN)
        .withDtlsAcks()
        .start();
      const cloudSide = (async () => {
        this.#running.service = await new CloudServiceContainer(images['cloud-service'])
          .withRun(this.runId)
          .withInternalNetwork(cloudNet.name, 'cloud-service.testbed.local')
          .withMounts(this.#mounts(pki, 'cloud-service'))
          .withIdentity(serviceIdentity)
          .withDevices(this.#devices)
          .withBroker(cloud)
          .withClock(clock)
          .withDtlsAcks()
          .start();
      })();
      const pskHex = randomBytes(16).toString('hex');
      const middleSide = psk ? this.#pskAttacker(images, pki, spec, pskHex, deviceNet, cloudNet, cloud) : this.#strippingGateway(images, pki, spec, deviceNet, cloudNet, cloud, spec.dtlsFleet ? pskHex : undefined);
      const deviceLink = psk ? 'device-attacker' : 'device-gateway';
      const impaired = spec.deviceLinkImpairments !== undefined;
      // With impairments the wearables send to the relay; each bridge resolves the name when its wearable connects.
      const endpoint = impaired ? { host: LINK_NAME, port: UDP_LINK_PORT } : { host: psk ? ATTACKER_NAME : GATEWAY_NAME, port: DTLS_PORT };
      const deviceSide = (async () => {
        if (spec.dtlsFleet) {
          // Every wearable on ONE fleet bridge process, in one shard container (issue 11 "DTLS fleet").
          this.#running.fleetShard = await new DtlsFleetShardContainer(images.wearable)
            .withRun(this.runId)
            .withInternalNetwork(deviceNet.name)
            .withMounts(this.#mounts(pki, 'fleet-shard'))
            .withDevices(this.#devices)
            .withEndpoint(endpoint.host, endpoint.port)
            .withPsk(pskHex)
            .withClock(clock)
            .withHandshakeTimeoutMs(fleetHandshakeTimeoutMs(impaired))
            .withReporting(spec.dtlsFleet)
            .start();
          return;
        }
        this.#running.wearables = await new DtlsWearableContainer(images.wearable)
          .withRun(this.runId)
          .withInternalNetwork(deviceNet.name)
          .withMounts(this.#mounts(pki, 'wearables'))
          .withDevices(this.#devices)
          // The name the DTLS server's certificate must carry; the wearable cannot tell a relay from the gateway.
          .withEndpoint({ ...endpoint, serverName: GATEWAY_DNS_NAMES[0] as string })
          .withAuth(psk ? { kind: 'psk', pskHex } : { kind: 'certificate' })
          .withClock(clock)
          .withHandshakeTimeoutMs(fleetHandshakeTimeoutMs(impaired))
          .withReconnectAfterSends(spec.dtlsReconnectAfterSends)
          .start();
      })();
      const linkSide = (async () => {
        await middleSide;
        const middle = this.#running.middle as StartedDtlsRole;
        if (!spec.deviceLinkImpairments) return this.#capture(images, deviceLink, middle, `udp and net ${deviceNet.subnet}`);
        // The lossy link is a relay in its own container; its capture is on the wearables' side of it.
        const link = await new UdpLinkContainer(images.gateway)
          .withRun(this.runId)
          .withInternalNetwork(deviceNet.name, LINK_NAME)
          .withMounts(this.#mounts(pki, 'link'))
          .withLinkName(deviceLink)
          .withTarget(await middle.addressOn(deviceNet.name), DTLS_PORT)
          .withImpairments(spec.deviceLinkImpairments)
          .start();
        this.#running.link = link;
        this.#linkName = deviceLink;
        return this.#capture(images, deviceLink, link, `udp and net ${deviceNet.subnet} and port ${UDP_LINK_PORT}`);
      })();
      const results = await Promise.allSettled([cloudSide, middleSide, deviceSide, linkSide]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      await this.#teardown();
      throw new Error(`topology: the containers DTLS topology did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  async #strippingGateway(images: RoleImages, pki: PkiPaths, spec: TopologySpec, deviceNet: Network, cloudNet: Network, cloud: { host: string; port: number; serverName: string }, devicePskHex?: string): Promise<void> {
    const home = new DtlsGatewayContainer(images.gateway).asHomeGateway();
    const gateway = await (devicePskHex ? home.withDevicePsk(devicePskHex) : home)
      .withRun(this.runId)
      // On the cloud network first: the gateway connects to Mosquitto before it listens for devices.
      .withInternalNetwork(cloudNet.name, 'gateway.cloud.testbed.local')
      .withDeviceNetwork(deviceNet.name, GATEWAY_NAME)
      .withMounts(this.#mounts(pki, 'gateway'))
      .withUpstream(cloud)
      .withMalice(spec.gatewayMalice)
      .start();
    this.#running.middle = gateway;
    await this.#capture(images, 'gateway-cloud', gateway, `tcp and net ${cloudNet.subnet}`);
  }

  async #pskAttacker(images: RoleImages, pki: PkiPaths, spec: TopologySpec, pskHex: string, deviceNet: Network, cloudNet: Network, cloud: { host: string; port: number; serverName: string }): Promise<void> {
    const identity = join(this.dir, 'cloud-dtls-identity');
    await writeCloudServiceIdentity(pki, identity, new Date(), CLOUD_DTLS_CN);
    const cloudDtls = new DtlsGatewayContainer(images.gateway)
      .withRun(this.runId)
      .withInternalNetwork(cloudNet.name, CLOUD_DTLS_NAME)
      .withMounts(this.#mounts(pki, 'cloud-dtls'))
      .asCloudEndpoint(pskHex, identity)
      .withUpstream(cloud)
      .start()
      .then((started) => (this.#running.cloudDtls = started));
    const attacker = new DtlsPskAttackerContainer(images.gateway)
      .withRun(this.runId)
      .withInternalNetwork(deviceNet.name, ATTACKER_NAME)
      .withMounts(this.#mounts(pki, 'attacker'))
      .withPsk(pskHex)
      .withUpstream(CLOUD_DTLS_NAME, DTLS_PORT, cloudNet.name)
      .withMalice(spec.gatewayMalice)
      .start()
      .then((started) => (this.#running.middle = started));
    // Both settle before either failure is reported, so teardown finds every container it started.
    const [endpointUp, attackerUp] = await Promise.allSettled([cloudDtls, attacker]);
    if (endpointUp.status === 'rejected') throw endpointUp.reason;
    if (attackerUp.status === 'rejected') throw attackerUp.reason;
    await this.#capture(images, 'attacker-cloud', attackerUp.value, `udp and net ${cloudNet.subnet}`);
  }
  /** Each role its own control directory: two roles of one kind (links) would share a socket name. */
  #mounts(pki: PkiPaths, role: string): RoleMounts {
    const control = join(this.#controlDir as string, role);
    mkdirSync(control, { recursive: true, mode: 0o700 });
    return { project: PROJECT_DIR, pki: pki.dir, evidence: resolve(this.dir), control };
  }

  async #capture(images: RoleImages, link: string, beside: StartedDtlsRole, filter: string): Promise<void> {
    const capturesDir = resolve(this.dir, 'captures');
    mkdirSync(capturesDir, { recursive: true, mode: 0o700 });
    const tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId: this.runId, target: beside.getId(), hostDir: capturesDir, file: `${link}.pcap`, filter });
    this.#captures.push({ link, tcpdump, path: join(capturesDir, `${link}.pcap`) });
  }

  #network(purpose: string): Promise<Network> {
    return internalNetwork(this.runId, purpose);
  }

  devices(): readonly DeviceProvisioning[] {
    return this.#devices;
  }

  /** The wearables' one fleet bridge (spec.dtlsFleet), in its shard container. */
  dtlsFleetShard(): DtlsFleetShardHandle {
    return this.#live('fleetShard');
  }

  #live<K extends keyof Running>(key: K): Running[K] {
    const value = this.#running[key];
    if (!value) throw new Error(this.#stopped ? `topology: stopped; ${key} is no longer running` : 'topology: not started; call start(spec) first');
    return value as Running[K];
  }

  async report(deviceId: string, count: number): Promise<SentReading[]> {
    return reportThrough(this.#devices, () => this.#live('wearables'), deviceId, count);
  }

  async settle(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A DTLS fleet has reported to the end already (its report waits until nothing is pending).
    if (!this.#running.fleetShard) await this.#live('wearables').settled(Math.max(1, deadline - Date.now()));
    // As local: injected copies and late resends arrive after the last ack; wait for a quiet audit.
    let last = -1;
    for (;;) {
      const audited = (await this.#live('service').audit()).length;
      if (audited === last) return;
      last = audited;
      if (Date.now() > deadline) throw new Error(`topology: not settled after ${timeoutMs} ms: the cloud is still auditing (${audited} entries)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The role names the steps use, and where each one's log lives in this placement. */
  #sources(): Map<string, () => Promise<readonly Observation[]>> {
    const r = this.#running;
    const sources = new Map<string, () => Promise<readonly Observation[]>>();
    if (r.middle) sources.set('gateway', () => (r.middle as StartedDtlsRole).observations());
    if (r.cloudDtls) sources.set('cloud-dtls', () => (r.cloudDtls as StartedDtlsRole).observations());
    if (r.broker) sources.set('cloud-broker', () => (r.broker as StartedCloudBrokerContainer).observations());
    if (r.service) sources.set('cloud-service', () => (r.service as StartedCloudServiceContainer).observations());
    if (r.link && this.#linkName) sources.set(`link:${this.#linkName}`, () => (r.link as StartedDtlsRole).observations());
    if (r.wearables) for (const d of this.#devices) sources.set(`wearable:${d.deviceId}`, () => (r.wearables as StartedDtlsWearableContainer).observations(d.deviceId));
    return sources;
  }

  async observations(role: RoleName): Promise<readonly Observation[]> {
    const cached = this.#snapshot?.get(role);
    if (cached) return cached;
    const source = this.#sources().get(role);
    if (source) return source();
    if (role.startsWith('wearable:')) throw new Error(`topology: no wearable "${role.slice('wearable:'.length)}"`);
    if (role.startsWith('link:')) {
      throw new Error(`topology: in containers an unimpaired link is a real network captured by tcpdump, with no relay to log it; only a link with impairments runs a relay (this run: ${this.#linkName ?? 'none'}), asked for "${role}"`);
    }
    if (this.#stopped) throw new Error(`topology: stopped; "${role}" was not running when it stopped`);
    throw new Error(`topology: unknown role "${role}"; this topology has ${[...this.#sources().keys()].join(', ')}`);
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#audit ?? (this.#running.service ? this.#running.service.audit() : []);
  }

  async sequenceGaps(deviceId: string): Promise<bigint[]> {
    // Gaps follow from the audit; the service answers while it runs, the snapshot keeps the audit.
    if (this.#running.service) return this.#running.service.sequenceGaps(deviceId);
    throw new Error('topology: stopped; ask for sequence gaps before the evidence is closed');
  }

  /** Keep what the roles observed, so Then steps can still ask after the containers are gone. */
  async #takeSnapshot(): Promise<void> {
    const snapshot = new Map<string, readonly Observation[]>();
    for (const [role, read] of this.#sources()) snapshot.set(role, await read());
    this.#audit = this.#running.service ? await this.#running.service.audit() : [];
    this.#snapshot = snapshot;
  }

  async stop(): Promise<Evidence> {
    if (this.#stopped) return this.#stopped;
    await this.#takeSnapshot().catch(() => undefined);
    const captures = await this.#teardown();
    const tlsKeyLog = join(this.dir, 'sslkeylog.txt');
    mergeKeyLogs(join(this.dir, 'keylogs'), tlsKeyLog);
    mergeKeyLogs(join(this.dir, 'dtls-keylogs'), this.dtlsKeyLog);
    // As local: the TLS key log where there is TLS (gateway-cloud), else the DTLS one.
    this.#stopped = { captures, keyLog: this.#psk ? this.dtlsKeyLog : tlsKeyLog, auditLog: join(this.dir, 'audit.jsonl') };
    return this.#stopped;
  }

  /** Stop in order (devices first, captures before the namespaces they watch), then remove by label. */
  async #teardown(): Promise<CaptureFile[]> {
    const r = this.#running;
    this.#running = {};
    await r.wearables?.stopRole().catch(() => undefined);
    await r.fleetShard?.stopRole().catch(() => undefined);
    const captures: CaptureFile[] = [];
    for (const c of this.#captures) {
      await c.tcpdump.stop().catch(() => undefined);
      try {
        handBackCapture(c.path);
        captures.push({ link: c.link, path: c.path });
      } catch {
        // no pcap was written (the sidecar failed to start): nothing to hand back
      }
    }
    this.#captures = [];
    await Promise.allSettled([r.link?.stopRole(), r.middle?.stopRole()]);
    await Promise.allSettled([r.cloudDtls?.stopRole(), r.service?.stopRole()]);
    await r.broker?.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
    await removeRun(this.runId);
    this.#releaseInterrupt?.();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
    return captures;
  }
}
