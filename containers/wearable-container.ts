/** The wearable fleet in one container (one Node process hosts many wearables: docs/architecture.md §3 Roles). */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { clientProfile } from '../emulators/tls-client-profile.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import type { Endpoint } from './role-config.ts';
import { assertHandlerName, type CommandHandlerName } from '../emulators/commands/command-handlers.ts';
import type { DeviceCommandRecords } from '../topology/command-topology.ts';

export class WearableContainer extends NodeRoleContainer {
  #devices: readonly DeviceProvisioning[] = [];
  #endpoint: Endpoint | undefined;
  #profile = 'secure';
  #clock: SimClockSpec | undefined;
  #routes: { subnet: string; via: string }[] = [];
  #commandHandler: CommandHandlerName | undefined;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    if (devices.length < 1 || devices.length > 5000) throw new Error(`WearableContainer: a fleet has 1..5000 wearables, got ${devices.length}`);
    this.#devices = devices;
    return this;
  }

  /** Where every wearable connects; it does not know what listens there. */
  withEndpoint(endpoint: Endpoint): this {
    if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) throw new Error(`WearableContainer: port must be 1..65535, got ${endpoint.port}`);
    this.#endpoint = endpoint;
    return this;
  }

  withProfile(name: string): this {
    clientProfile(name); // throws with the list of known profiles
    this.#profile = name;
    return this;
  }

  /** Take sealed cloud commands with this handler (issue 13); undefined: none. */
  withCommandHandler(handler: CommandHandlerName | undefined): this {
    if (handler !== undefined) assertHandlerName(handler);
    this.#commandHandler = handler;
    return this;
  }

  withClock(spec: SimClockSpec): this {
    this.#clock = spec;
    return this;
  }

  /**
   * Send traffic for `subnet` through `via` (the home router): how a gateway becomes the path to
   * the cloud without the wearable being pointed at it. Needs NET_ADMIN in the fleet's namespace.
   */
  withRouteVia(subnet: string, via: string): this {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(subnet) || !/^\d+\.\d+\.\d+\.\d+$/.test(via)) throw new Error(`WearableContainer: route "${subnet} via ${via}" must be IPv4 CIDR via an IPv4 address`);
    this.#routes.push({ subnet, via });
    return this.withAddedCapabilities('NET_ADMIN');
  }

  override async start(): Promise<StartedWearableContainer> {
    if (this.#devices.length === 0) throw new Error('WearableContainer: no wearables; call withDevices(...)');
    if (!this.#endpoint) throw new Error('WearableContainer: no endpoint; call withEndpoint({ host, port, serverName })');
    if (!this.#clock) throw new Error('WearableContainer: no clock; call withClock(spec) with the cloud service\'s clock');
    const { started, control } = await this.startRole({ role: 'wearables', devices: this.#devices, endpoint: this.#endpoint, profile: this.#profile, clock: this.#clock, ...(this.#commandHandler ? { commandHandler: this.#commandHandler } : {}) });
    for (const r of this.#routes) {
      const result = await started.exec(['ip', 'route', 'add', r.subnet, 'via', r.via], { user: 'root' });
      if (result.exitCode !== 0) throw new Error(`WearableContainer: ip route add ${r.subnet} via ${r.via} failed: ${result.output.trim()}`);
    }
    return new StartedWearableContainer(started, control);
  }
}

export class StartedWearableContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  report(deviceId: string, count: number): Promise<Observation[]> {
    return this.control.call('POST', '/report', { deviceId, count }, 120_000);
  }

  settled(timeoutMs: number): Promise<void> {
    return this.control.call('POST', '/settled', { timeoutMs }, timeoutMs + 5_000);
  }

  /** Connect the device (and subscribe it to its command topic) if it is not yet. */
  commandsReady(deviceId: string): Promise<void> {
    return this.control.call('POST', '/commands-ready', { deviceId }, 30_000);
  }

  deviceCommandRecords(deviceId: string): Promise<DeviceCommandRecords> {
    return this.control.call('GET', `/device-commands?device=${encodeURIComponent(deviceId)}`);
  }

  observations(deviceId: string): Promise<Observation[]> {
    return this.control.call('GET', `/observations?device=${encodeURIComponent(deviceId)}`);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
