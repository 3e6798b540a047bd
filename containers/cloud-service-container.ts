/** The cloud service in its own container: an MQTT subscriber of the Mosquitto broker. */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { ResponseAuditEntry, SentCommand } from '../emulators/cloud/command-center.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { IDENTITY_DIR, type Endpoint } from './role-config.ts';

export class CloudServiceContainer extends NodeRoleContainer {
  #devices: readonly DeviceProvisioning[] = [];
  #broker: Endpoint | undefined;
  #clock: SimClockSpec | undefined;
  #identity = false;
  #dtlsAcks = false;
  #commands = false;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    if (devices.length < 1) throw new Error('CloudServiceContainer: the registry needs at least one device');
    this.#devices = devices;
    return this;
  }

  withBroker(endpoint: Endpoint): this {
    this.#broker = endpoint;
    return this;
  }

  withClock(spec: SimClockSpec): this {
    this.#clock = spec;
    return this;
  }

  /** DTLS paths: acknowledge each reading on cloud/acks/<pseudonym> (emulators/dtls/cloud-acks.ts). */
  withDtlsAcks(): this {
    this.#dtlsAcks = true;
    return this;
  }

  /** Send sealed device commands and audit their responses (issue 13; containers/roles/command-routes.ts). */
  withCommandsIf(on: boolean): this {
    this.#commands = on;
    return this;
  }

  /** The directory written by writeCloudServiceIdentity (client.key, client-chain.crt). */
  withIdentity(dir: string): this {
    this.#identity = true;
    return this.mount(...([{ source: dir, target: IDENTITY_DIR, mode: 'ro' }] as const));
  }

  override async start(): Promise<StartedCloudServiceContainer> {
    if (this.#devices.length === 0) throw new Error('CloudServiceContainer: no devices; call withDevices(...)');
    if (!this.#broker) throw new Error('CloudServiceContainer: no broker; call withBroker({ host, port, serverName })');
    if (!this.#clock) throw new Error('CloudServiceContainer: no clock; call withClock(spec) with the wearables\' clock');
    if (!this.#identity) throw new Error('CloudServiceContainer: no client identity; call withIdentity(dir) (see cloud-service-identity.ts)');
    const { started, control } = await this.startRole({ role: 'cloud-service', devices: this.#devices, broker: this.#broker, clock: this.#clock, ...(this.#dtlsAcks ? { dtlsAcks: true } : {}), ...(this.#commands ? { commands: true } : {}) });
    return new StartedCloudServiceContainer(started, control);
  }
}

export class StartedCloudServiceContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  audit(): Promise<AuditEntry[]> {
    return this.control.call('GET', '/audit');
  }

  sequenceGaps(deviceId: string): Promise<bigint[]> {
    return this.control.call('GET', `/gaps?device=${encodeURIComponent(deviceId)}`);
  }

  sendCommand(deviceId: string, body: string): Promise<SentCommand> {
    return this.control.call('POST', '/commands', { deviceId, body });
  }

  commandResponses(): Promise<ResponseAuditEntry[]> {
    return this.control.call('GET', '/command-responses');
  }

  observations(): Promise<Observation[]> {
    return this.control.call('GET', '/observations');
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
