/**
 * The on-path first-flight recorder (containers/roles/first-flight-recorder.ts) in a container of
 * the scenario: it listens on LISTEN_PORT and relays each connection to its target.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { Observation } from '../emulators/observation-log.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';

export class FirstFlightRecorderContainer extends NodeRoleContainer {
  static readonly LISTEN_PORT = 4433;
  #target: { host: string; port: number } | undefined;

  /** Where each relayed connection goes (the wolfSSL front). */
  withTarget(host: string, port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`FirstFlightRecorderContainer: port must be 1..65535, got ${port}`);
    this.#target = { host, port };
    return this;
  }

  override async start(): Promise<StartedFirstFlightRecorderContainer> {
    if (!this.#target) throw new Error('FirstFlightRecorderContainer: no target; call withTarget(host, port)');
    const { started, control } = await this.startRole({ role: 'first-flight-recorder', listenPort: FirstFlightRecorderContainer.LISTEN_PORT, target: this.#target });
    return new StartedFirstFlightRecorderContainer(started, control);
  }
}

export class StartedFirstFlightRecorderContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  async flights(): Promise<Buffer[]> {
    return (await this.control.call<string[]>('GET', '/flights')).map((hex) => Buffer.from(hex, 'hex'));
  }

  replay(index: number, holdMs: number): Promise<{ answeredBytes: number }> {
    return this.control.call('POST', '/replay', { index, holdMs }, holdMs + 30_000);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }

  observations(): Promise<Observation[]> {
    return this.control.call('GET', '/observations');
  }
}
