/**
 * The firmware fleet and the attacker with a leaked image in their own container on the cloud
 * network (containers/roles/firmware-fleet.ts), driven over the role's control socket.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { SessionOutcome } from '../firmware/firmware-client.ts';
import type { AttackOutcome, AttackTarget } from '../firmware/leaked-image-attack.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import type { Endpoint } from './role-config.ts';

const CALL_TIMEOUT_MS = 30_000;

export class FirmwareFleetContainer extends NodeRoleContainer {
  #broker: Endpoint | undefined;
  #passwordPort: number | undefined;

  /** The broker's mTLS listener and its password listener's port, by its name on the cloud network. */
  withBroker(endpoint: Endpoint, passwordPort: number): this {
    this.#broker = endpoint;
    this.#passwordPort = passwordPort;
    return this;
  }

  override async start(): Promise<StartedFirmwareFleetContainer> {
    if (!this.#broker || this.#passwordPort === undefined) throw new Error('FirmwareFleetContainer: no broker; call withBroker({ host, port, serverName }, passwordPort)');
    const { started, control } = await this.startRole({ role: 'firmware-fleet', broker: this.#broker, passwordPort: this.#passwordPort });
    return new StartedFirmwareFleetContainer(started, control);
  }
}

export interface DeviceBoot {
  readonly deviceId: string;
  /** File name under the scenario's firmware/ directory. */
  readonly image: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

export class StartedFirmwareFleetContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  boot(caPem: string, devices: readonly DeviceBoot[]): Promise<SessionOutcome[]> {
    return this.control.call('POST', '/boot', { caPem, devices }, CALL_TIMEOUT_MS);
  }

  attack(caPem: string, leaked: string, targets: readonly AttackTarget[]): Promise<AttackOutcome[]> {
    return this.control.call('POST', '/attack', { caPem, leaked, targets }, CALL_TIMEOUT_MS);
  }

  close(): Promise<unknown> {
    return this.control.call('POST', '/close', {}, CALL_TIMEOUT_MS);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
