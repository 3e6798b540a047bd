/**
 * The hard-coded-credentials graph (recipes.ts credentialsGraph) on the containers placement:
 * Mosquitto as the cloud broker, the cloud service as its subscriber, and the firmware fleet with
 * the attacker in a container of their own (containers/roles/firmware-fleet.ts), all on one
 * internal network. The broker's records are its own log (parseMosquittoLog), kept across the
 * restart that reloads credentials at rotation.
 *
 *   cloud network (internal)
 *   firmware fleet + attacker ──▶ cloud.testbed.local:8883 (mTLS, CN as username, ACL, CRL)
 *                             └─▶ cloud.testbed.local:8884 (TLS, password_file: the hard-coded fleet account)
 *                                 Mosquitto ──▶ cloud service (audit)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOUD_NAME, CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { runCrl } from '../certs/forged-catalogue.ts';
import { issueWearable } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { SessionOutcome } from '../firmware/firmware-client.ts';
import type { AttackOutcome } from '../firmware/leaked-image-attack.ts';
import type { FleetFirmware } from '../firmware/fleet-firmware.ts';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { writeCloudServiceIdentity } from '../containers/cloud-service-identity.ts';
import { CloudBrokerContainer, MQTT_PASSWORD_TLS_PORT, type StartedCloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { CloudServiceContainer, type StartedCloudServiceContainer } from '../containers/cloud-service-container.ts';
import { FirmwareFleetContainer, type StartedFirmwareFleetContainer } from '../containers/firmware-fleet-container.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import type { RoleImages } from '../containers/role-images.ts';
import { ContainersTopology, internalNetwork } from './containers-topology.ts';
import type { CredentialsRig } from './credentials-rig.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** How long Mosquitto's log may trail what it did (`docker logs` is read, never a fixed sleep). */
const LOG_SETTLE_TIMEOUT_MS = 10_000;

export class ContainersCredentialsRig implements CredentialsRig {
  readonly runId = `tb-${process.pid}-${randomBytes(4).toString('hex')}`;
  #images: RoleImages | undefined;
  #paths: PkiPaths | undefined;
  #network = '';
  #controlDir: string | undefined;
  #releaseInterrupt: (() => void) | undefined;
  #broker: StartedCloudBrokerContainer | undefined;
  #service: StartedCloudServiceContainer | undefined;
  #fleetRole: StartedFirmwareFleetContainer | undefined;
  #fleetPassword: string | undefined;
  #crlPem: string | undefined;
  readonly #revoked: string[] = [];
  readonly #provisioned = new Map<string, { certPem: string; keyPem: string }>();
  readonly #earlierRecords: Observation[] = [];
  #stopped: Promise<void> | undefined;

  constructor(readonly fleet: FleetFirmware, readonly dir: string) {
    this.#fleetPassword = fleet.shared?.mqttPass;
  }

  async start(): Promise<void> {
    this.#images = await ContainersTopology.prepare();
    this.#paths = await writePki(this.fleet.pki, join(this.dir, 'pki'));
    const identityDir = join(this.dir, 'cloud-service-identity');
    await writeCloudServiceIdentity(this.#paths, identityDir);
    this.#controlDir = mkdtempSync('/tmp/tb-ctl-');
    this.#releaseInterrupt = cleanUpOnInterrupt(this.runId);
    const mounts = { project: PROJECT_DIR, pki: this.#paths.dir, evidence: resolve(this.dir), control: this.#controlDir };
    const cloud = { host: CLOUD_NAME, port: MQTT_TLS_PORT, serverName: CLOUD_NAME };
    try {
      this.#network = (await internalNetwork(this.runId, 'cloud')).name;
      this.#broker = await this.#startBroker();
      const service = new CloudServiceContainer(this.#images['cloud-service']).withRun(this.runId).withInternalNetwork(this.#network, 'cloud-service.testbed.local').withMounts(mounts).withIdentity(identityDir).withDevices(this.fleet.devices).withBroker(cloud).withClock(SimClock.compressed(1).spec);
      const fleetRole = new FirmwareFleetContainer(this.#images.probe).withRun(this.runId).withInternalNetwork(this.#network, 'fleet.testbed.local').withMounts(mounts).withBroker(cloud, MQTT_PASSWORD_TLS_PORT);
      // One after the other: two Node roles transpiling at once on a loaded 2-core host can miss the runner's 30 s ready line.
      this.#service = await service.start();
      this.#fleetRole = await fleetRole.start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new Error(`containers-credentials: the rig did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  async #startBroker(): Promise<StartedCloudBrokerContainer> {
    const images = this.#images as RoleImages;
    const broker = new CloudBrokerContainer(images['cloud-broker'])
      .withRun(this.runId)
      .withInternalNetwork(this.#network, CLOUD_NAME, 'broker.testbed.local')
      .withPki((this.#paths as PkiPaths).dir)
      .withConfigDir(resolve(this.dir, 'broker'))
      .withDevices(this.fleet.devices)
      .withSubscriber(CLOUD_SERVICE_CN);
    if (this.fleet.shared && this.#fleetPassword) broker.withFleetAccount({ username: this.fleet.shared.mqttUser, password: this.#fleetPassword });
    if (this.#crlPem) broker.withCrl(this.#crlPem);
    return broker.start();
  }

  #live<T>(v: T | undefined, what: string): T {
    if (!v) throw new Error(`containers-credentials: no ${what} (not started, or stopped)`);
    return v;
  }

  #image(deviceId: string): string {
    const path = this.fleet.images.get(deviceId);
    if (!path) throw new Error(`containers-credentials: no firmware image for ${deviceId}`);
    return basename(path);
  }

  async #settledLog(): Promise<void> {
    // `docker logs` trails Mosquitto: wait until two reads agree (bounded).
    const deadline = Date.now() + LOG_SETTLE_TIMEOUT_MS;
    let last = -1;
    for (;;) {
      const n = (await this.#live(this.#broker, 'broker').observations()).length;
      if (n === last || Date.now() > deadline) return;
      last = n;
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  async bootFleet(): Promise<readonly SessionOutcome[]> {
    const devices = this.fleet.devices.map((d) => ({ deviceId: d.deviceId, image: this.#image(d.deviceId), ...this.#provisioned.get(d.deviceId) }));
    const out = await this.#live(this.#fleetRole, 'fleet container').boot(this.fleet.pki.rootCa.certPem, devices);
    await this.#settledLog();
    return out;
  }

  reconnectFleet(): Promise<readonly SessionOutcome[]> {
    return this.bootFleet();
  }

  async attack(leakedDevice: string, targets: readonly string[]): Promise<readonly AttackOutcome[]> {
    const list = targets.map((t) => {
      const d = this.fleet.devices.find((x) => x.deviceId === t);
      if (!d) throw new Error(`containers-credentials: ${t} is not in the fleet`);
      return { deviceId: d.deviceId, pseudonymHex: d.pseudonymHex };
    });
    const out = await this.#live(this.#fleetRole, 'fleet container').attack(this.fleet.pki.rootCa.certPem, this.#image(leakedDevice), list);
    await this.#settledLog();
    return out;
  }

  async rotate(deviceId: string): Promise<string> {
    let what: string;
    if (this.fleet.profile === 'hardcoded-credentials') {
      this.#fleetPassword = `rotated-${randomBytes(12).toString('base64url')}`;
      what = `Mosquitto's password file for "${this.fleet.shared?.mqttUser}" was rewritten with a new password; every image still holds the old one`;
    } else {
      const { pki } = this.fleet;
      const old = pki.wearables.get(deviceId);
      if (!old) throw new Error(`containers-credentials: ${deviceId} has no certificate to rotate`);
      pki.wearables.delete(deviceId);
      const issued = await issueWearable(pki, deviceId);
      this.#provisioned.set(deviceId, { certPem: issued.chainPem, keyPem: issued.keyPem });
      this.#revoked.push(old.serialHex);
      const crl = await runCrl({ pki, serverName: CLOUD_NAME }, this.#revoked);
      this.#crlPem = crl.crlPem + crl.rootCrlPem;
      what = `${deviceId}: new certificate serial ${issued.serialHex} issued and delivered; serial ${old.serialHex} revoked (Mosquitto's crlfile)`;
    }
    // Mosquitto reads its password file and CRL at start: the broker restarts with the new ones.
    await this.#live(this.#fleetRole, 'fleet container').close();
    const old = this.#live(this.#broker, 'broker');
    this.#earlierRecords.push(...(await old.observations()));
    this.#broker = undefined;
    await old.stop({ timeout: 5_000, remove: true });
    this.#broker = await this.#startBroker();
    return what;
  }

  async mark(): Promise<number> {
    return (await this.brokerRecords()).length;
  }

  async brokerRecords(): Promise<readonly Observation[]> {
    return [...this.#earlierRecords, ...(this.#broker ? await this.#broker.observations() : [])];
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#service ? this.#service.audit() : [];
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    const fleetRole = this.#fleetRole;
    const service = this.#service;
    const broker = this.#broker;
    this.#fleetRole = undefined;
    this.#service = undefined;
    this.#broker = undefined;
    await fleetRole?.stopRole().catch(() => undefined);
    await service?.stopRole().catch(() => undefined);
    await broker?.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
    await removeRun(this.runId);
    this.#releaseInterrupt?.();
    if (this.#controlDir) rmSync(this.#controlDir, { recursive: true, force: true });
  }
}
