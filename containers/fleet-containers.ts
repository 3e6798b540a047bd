/**
 * The fleet's Node roles as containers (docs/architecture.md §8 The graph and its placements): FleetShardContainer hosts a shard of the
 * wearables, FleetCloudContainer the cloud service with its delivery ledger. Both run the role
 * code of emulators/fleet/ through role-runner.ts; topology/containers-fleet.ts wires them to
 * Mosquitto (CloudBrokerContainer). A placement on another engine (swarm) runs the same roles
 * from the same role configs.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import type { LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import { MAX_FLEET_PER_PROCESS } from '../emulators/fleet/fleet.ts';
import type { FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { ProbeResult } from '../emulators/device-credentials.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { IDENTITY_DIR, type Endpoint } from './role-config.ts';
import { imageFleetAllocator } from '../topology/fleet-host-allocator.ts';

/** HTTP calls over the control socket wait at most this much longer than the role's own deadline. */
const CALL_MARGIN_MS = 10_000;

/**
 * How long a fleet role may take to be ready, sized to the devices it loads (a shard reads every
 * device's key and chain and builds its sealer, the cloud service registers every device's
 * certificate), four shards and the cloud starting at once on 2 cores: the fixed 30 s of the
 * other roles was what four shards of 1,250 missed at load 23. Capped below the Given step's
 * 300 s, which also starts the broker.
 */
export function fleetRoleStartupMs(devices: number): number {
  return Math.min(240_000, 30_000 + devices * 40);
}

abstract class FleetRoleContainer extends NodeRoleContainer {
  protected devices: readonly DeviceProvisioning[] = [];
  protected endpoint: Endpoint | undefined;
  protected clock: SimClockSpec | undefined;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    if (devices.length < 1 || devices.length > MAX_FLEET_PER_PROCESS) throw new Error(`${this.constructor.name}: 1..${MAX_FLEET_PER_PROCESS} devices per container, got ${devices.length}`);
    this.devices = devices;
    return this;
  }

  /** The broker every device (or the subscriber) connects to. */
  withBroker(endpoint: Endpoint): this {
    if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) throw new Error(`${this.constructor.name}: port must be 1..65535, got ${endpoint.port}`);
    this.endpoint = endpoint;
    return this;
  }

  withClock(spec: SimClockSpec): this {
    this.clock = spec;
    return this;
  }

  protected required(): { endpoint: Endpoint; clock: SimClockSpec } {
    if (this.devices.length === 0) throw new Error(`${this.constructor.name}: no devices; call withDevices(...)`);
    if (!this.endpoint) throw new Error(`${this.constructor.name}: no broker; call withBroker({ host, port, serverName })`);
    if (!this.clock) throw new Error(`${this.constructor.name}: no clock; call withClock(spec), the same for the fleet and the cloud`);
    return { endpoint: this.endpoint, clock: this.clock };
  }
}

export class FleetShardContainer extends FleetRoleContainer {
  #queueCapacity = 256;

  withQueueCapacity(readings: number): this {
    if (!Number.isInteger(readings) || readings < 1 || readings > 60_000) throw new Error(`FleetShardContainer: queue capacity must be 1..60000 readings, got ${readings}`);
    this.#queueCapacity = readings;
    return this;
  }

  override async start(): Promise<StartedFleetShardContainer> {
    const { endpoint, clock } = this.required();
    this.withEnvironment({ ...imageFleetAllocator().env });
    const { started, control } = await this.startRole({ role: 'fleet-shard', devices: this.devices, endpoint, clock, queueCapacity: this.#queueCapacity }, fleetRoleStartupMs(this.devices.length));
    return new StartedFleetShardContainer(started, control);
  }
}

export class StartedFleetShardContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    return this.control.call('POST', '/connect', { deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  report(count: number, deadlineMs: number): Promise<{ sealed: number }> {
    return this.control.call('POST', '/report', { count, deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  settle(deadlineMs: number): Promise<void> {
    return this.control.call('POST', '/settle', { deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  stats(): Promise<FleetStats> {
    return this.control.call('GET', '/stats');
  }

  setClock(spec: SimClockSpec): Promise<void> {
    return this.control.call('POST', '/clock', { clock: spec });
  }

  sealed(): Promise<Record<string, number>> {
    return this.control.call('GET', '/sealed');
  }

  /** One device's own record, or null when the device is in another shard. */
  device(deviceId: string): Promise<FleetDeviceRecord | null> {
    return this.control.call('POST', '/device', { deviceId });
  }

  /** Present a device's certificate once more; its TLS secrets go to keylogs/<keyLog> under the evidence directory. */
  present(deviceId: string, keyLog: string): Promise<ProbeResult> {
    return this.control.call('POST', '/present', { deviceId, keyLog }, 20_000 + CALL_MARGIN_MS);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}

export class FleetCloudContainer extends FleetRoleContainer {
  #identity = false;

  /** The directory written by writeCloudServiceIdentity (client.key, client-chain.crt). */
  withIdentity(dir: string): this {
    this.#identity = true;
    return this.mount(...([{ source: dir, target: IDENTITY_DIR, mode: 'ro' }] as const));
  }

  override async start(): Promise<StartedFleetCloudContainer> {
    const { endpoint, clock } = this.required();
    if (!this.#identity) throw new Error('FleetCloudContainer: no client identity; call withIdentity(dir) (see cloud-service-identity.ts)');
    const { started, control } = await this.startRole({ role: 'fleet-cloud', devices: this.devices, broker: endpoint, clock }, fleetRoleStartupMs(this.devices.length));
    return new StartedFleetCloudContainer(started, control);
  }
}

export class StartedFleetCloudContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  ledger(sealed: Readonly<Record<string, number>>): Promise<LedgerReport> {
    return this.control.call('POST', '/ledger', { sealed }, 30_000);
  }

  setClock(spec: SimClockSpec): Promise<void> {
    return this.control.call('POST', '/clock', { clock: spec });
  }

  async accepted(): Promise<number> {
    return (await this.control.call<{ accepted: number }>('GET', '/accepted')).accepted;
  }

  /** The cloud disconnects, its persistent session left with the broker (emulators/cloud/persistent-subscriber.ts). */
  async away(): Promise<void> {
    await this.control.call('POST', '/away');
  }

  /** The cloud connects again; the broker's CONNACK says whether it kept the session. */
  back(): Promise<{ sessionPresent: boolean }> {
    return this.control.call('POST', '/back');
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
