/**
 * The MITM proxy in its own container (containers/roles/mitm-proxy.ts): long-lived, told per
 * attempt which certificate to present (`arm`), and asked for its verdict (`disarm`).
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { Observation } from '../emulators/observation-log.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { MQTT_TLS_PORT } from './role-config.ts';
import type { ArmRequest } from './roles/mitm-proxy.ts';

export class MitmProxyContainer extends NodeRoleContainer {
  static readonly LISTEN_PORT = MQTT_TLS_PORT;
  #handshakeTimeoutMs = 5_000;

  /** A victim that neither completes nor aborts its handshake is cut off after this long. */
  withHandshakeTimeout(ms: number): this {
    if (!Number.isInteger(ms) || ms < 100 || ms > 120_000) throw new Error(`MitmProxyContainer: the handshake timeout is 100..120000 ms, got ${ms}`);
    this.#handshakeTimeoutMs = ms;
    return this;
  }

  override async start(): Promise<StartedMitmProxyContainer> {
    const { started, control } = await this.startRole({ role: 'mitm-proxy', listenPort: MitmProxyContainer.LISTEN_PORT, handshakeTimeoutMs: this.#handshakeTimeoutMs });
    return new StartedMitmProxyContainer(started, control);
  }
}

export class StartedMitmProxyContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  /** Present this certificate from now on (a fresh proxy, log and key log). */
  async arm(request: ArmRequest): Promise<void> {
    await this.control.call('POST', '/arm', request, 20_000);
  }

  observations(): Promise<Observation[]> {
    return this.control.call('GET', '/observations');
  }

  /** Wait at most `waitMs` for the proxy's verdict, stop it, and return what it recorded. */
  disarm(waitMs: number): Promise<{ observations: Observation[]; plaintextBytes: number }> {
    return this.control.call('POST', '/disarm', { waitMs }, waitMs + 10_000);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
