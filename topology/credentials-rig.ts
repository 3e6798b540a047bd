/**
 * The hard-coded-credentials pitfall (source chapter §17.5) as a running fleet: each device boots
 * from its own firmware image and connects to the cloud broker with what the image holds; an
 * attacker who dumped one image connects with the same bytes. The broker and the cloud service
 * are the project's own (Aedes with a password listener for the hard-coded fleet, mutual TLS for
 * per-device identities); everything is judged from the broker's records and the cloud's audit.
 *
 *   wearables (their images) ──┐
 *                              ├──▶ cloud broker ──▶ cloud service (audit)
 *   attacker (one leaked image)┘
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { runCrl } from '../certs/forged-catalogue.ts';
import { issueWearable } from '../certs/pki.ts';
import { KeyLog } from '../capture/keylog.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { CloudService, type AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { FirmwareSession, type BrokerEndpoints, type SessionOutcome } from '../firmware/firmware-client.ts';
import { attackWithLeakedImage, type AttackOutcome } from '../firmware/leaked-image-attack.ts';
import { readFirmwareImage, type FirmwareConfig } from '../firmware/firmware-image.ts';
import type { FleetFirmware } from '../firmware/fleet-firmware.ts';
import { credentialsGraph } from './recipes.ts';
import { currentPlacement, requireRealizable, type Placement } from './placements.ts';

export type { AttackOutcome };

export interface CredentialsRig {
  readonly fleet: FleetFirmware;
  /** Every device connects with its own image's credentials; they stay connected. */
  bootFleet(): Promise<readonly SessionOutcome[]>;
  /** From one leaked image: connect as each target (client id "<target>-clone") and publish a forged packet on its E3 topic. */
  attack(leakedDevice: string, targets: readonly string[]): Promise<readonly AttackOutcome[]>;
  /** New credentials for one device without touching any image; the broker reloads. */
  rotate(deviceId: string): Promise<string>;
  /** Every device connects again, each with what it now holds. */
  reconnectFleet(): Promise<readonly SessionOutcome[]>;
  /** Index into the broker's records: records after a mark are what happened since. */
  mark(): Promise<number>;
  brokerRecords(): Promise<readonly Observation[]>;
  audit(): Promise<readonly AuditEntry[]>;
  stop(): Promise<void>;
}

class LocalCredentialsRig implements CredentialsRig {
  readonly #sessions = new Map<string, FirmwareSession>();
  readonly #attackers: FirmwareSession[] = [];
  /** Credentials a device received after its image was written (rotation, no firmware update). */
  readonly #provisioned = new Map<string, { certPem: string; keyPem: string }>();
  readonly #earlierRecords: Observation[] = [];
  readonly #service: CloudService;
  readonly #keyLog: KeyLog;
  #broker: CloudBroker;
  #fleetPassword: string | undefined;
  #crl: string[] | undefined;
  #revoked: string[] = [];

  constructor(readonly fleet: FleetFirmware, readonly dir: string) {
    const registry = new DeviceRegistry();
    for (const d of fleet.devices) registry.register(d, fleet.pki.wearables.get(d.deviceId)?.certPem as string);
    this.#service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(fleet.pki.cloudE3.privateKeyPem), nowSec: () => Math.floor(Date.now() / 1000), auditFile: join(dir, 'audit.jsonl') });
    this.#keyLog = KeyLog.open(join(dir, 'sslkeys.keylog'));
    this.#fleetPassword = fleet.shared?.mqttPass;
    this.#broker = this.#newBroker();
  }

  #newBroker(): CloudBroker {
    const { pki, devices, shared } = this.fleet;
    return new CloudBroker(
      loopbackBrokerConfig(pki.cloud, {
        clientCaPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
        ownTopicOf: (id) => {
          const d = devices.find((x) => x.deviceId === id);
          return d ? e3Topic(d.pseudonymHex) : undefined;
        },
        evidence: { tlsEndpoint: (_r, e) => this.#keyLog.attach(e) },
        ...(shared && this.#fleetPassword ? { fleetAccount: { username: shared.mqttUser, password: this.#fleetPassword }, passwordTlsPort: 0 } : {}),
        ...(this.#crl ? { tlsServerOptions: { crl: this.#crl } } : {}),
      }),
    );
  }

  async start(): Promise<void> {
    const endpoint = await this.#broker.start();
    this.#endpoint = endpoint;
    this.#broker.subscribeReadings((payload, topic, deliveredBy) => this.#service.ingest(payload, { topic, deliveredBy }));
  }

  #endpoint: { host: string; port: number } | undefined;

  #endpoints(): BrokerEndpoints {
    if (!this.#endpoint) throw new Error('credentials rig: the broker is not started');
    const pw = this.#broker.passwordTlsEndpoint;
    return { mtls: this.#endpoint, ...(pw ? { password: pw } : {}), serverName: CLOUD_NAME, caPem: this.fleet.pki.rootCa.certPem };
  }

  #firmwareOf(deviceId: string): FirmwareConfig {
    const path = this.fleet.images.get(deviceId);
    if (!path) throw new Error(`credentials rig: no firmware image for ${deviceId}; the fleet has ${[...this.fleet.images.keys()].join(', ')}`);
    const image = readFirmwareImage(path);
    const rotated = this.#provisioned.get(deviceId);
    return rotated ? { ...image, ...rotated } : image;
  }

  async bootFleet(): Promise<readonly SessionOutcome[]> {
    return Promise.all(this.fleet.devices.map(async (d) => {
      this.#sessions.get(d.deviceId)?.close();
      const session = new FirmwareSession(this.#firmwareOf(d.deviceId));
      this.#sessions.set(d.deviceId, session);
      return session.connect(this.#endpoints());
    }));
  }

  reconnectFleet(): Promise<readonly SessionOutcome[]> {
    return this.bootFleet();
  }

  async attack(leakedDevice: string, targets: readonly string[]): Promise<readonly AttackOutcome[]> {
    // The attacker has the image only: no later rotation reaches it.
    const path = this.fleet.images.get(leakedDevice);
    if (!path) throw new Error(`credentials rig: no firmware image for ${leakedDevice}`);
    const leaked = readFirmwareImage(path);
    return attackWithLeakedImage(leaked, targets.map((t) => {
      const device = this.fleet.devices.find((d) => d.deviceId === t);
      if (!device) throw new Error(`credentials rig: ${t} is not in the fleet`);
      return device;
    }), this.#endpoints(), this.#attackers);
  }

  async rotate(deviceId: string): Promise<string> {
    if (this.fleet.profile === 'hardcoded-credentials') {
      // The only rotation a shared password allows: change it at the broker. Every image still holds the old one.
      this.#fleetPassword = `rotated-${randomBytes(12).toString('base64url')}`;
      await this.#restartBroker();
      return `the broker's fleet password for "${this.fleet.shared?.mqttUser}" was changed; every image still holds the old one`;
    }
    const { pki } = this.fleet;
    const old = pki.wearables.get(deviceId);
    if (!old) throw new Error(`credentials rig: ${deviceId} has no certificate to rotate`);
    pki.wearables.delete(deviceId);
    const issued = await issueWearable(pki, deviceId);
    this.#provisioned.set(deviceId, { certPem: issued.chainPem, keyPem: issued.keyPem });
    // Revocation reaches node:tls as CRLs for the whole chain (it checks every certificate's issuer list).
    this.#revoked.push(old.serialHex);
    const crl = await runCrl({ pki, serverName: CLOUD_NAME }, this.#revoked);
    this.#crl = [crl.crlPem, crl.rootCrlPem];
    await this.#restartBroker();
    return `${deviceId}: new certificate serial ${issued.serialHex} issued and delivered; serial ${old.serialHex} revoked (CRL reloaded by the broker)`;
  }

  async #restartBroker(): Promise<void> {
    for (const s of [...this.#sessions.values(), ...this.#attackers]) s.close();
    this.#earlierRecords.push(...this.#broker.log.all());
    await this.#broker.stop();
    this.#broker = this.#newBroker();
    await this.start();
  }

  async mark(): Promise<number> {
    return (await this.brokerRecords()).length;
  }

  async brokerRecords(): Promise<readonly Observation[]> {
    return [...this.#earlierRecords, ...this.#broker.log.all()];
  }

  async audit(): Promise<readonly AuditEntry[]> {
    return this.#service.audit();
  }

  async stop(): Promise<void> {
    for (const s of [...this.#sessions.values(), ...this.#attackers]) s.close();
    await this.#broker.stop();
    this.#keyLog.close?.();
  }
}

export async function startCredentialsRig(fleet: FleetFirmware, dir: string, placement: Placement = currentPlacement()): Promise<CredentialsRig> {
  requireRealizable(credentialsGraph({ broker: placement.defaultBroker, profile: fleet.profile, devices: fleet.devices.map((d) => d.deviceId) }), placement);
  if (placement.defaultBroker === 'mosquitto') {
    const { ContainersCredentialsRig } = await import('./containers-credentials.ts');
    const rig = new ContainersCredentialsRig(fleet, dir);
    await rig.start();
    return rig;
  }
  const rig = new LocalCredentialsRig(fleet, dir);
  await rig.start();
  return rig;
}
