/**
 * The certificate-DTLS roles' containers (containers/roles/dtls-interception.ts): the DTLS MITM,
 * wearable-0001's DTLS clients (pion bridge or openssl s_client, both in the wearable image) and
 * the cloud's certificate DTLS endpoint. Pion bridges run from the read-only project mount
 * (dtls-bridge/bin/dtls-bridge is static), so the host builds them first.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { DTLS_BRIDGE_PREBUILT_ENV } from '../emulators/dtls/dtls-bridge-process.ts';
import { dtlsVersionEnvironment } from '../emulators/dtls/dtls-version.ts';
import type { DtlsMatrixClient, DtlsVictimRun, OpensslPeerRun } from '../topology/dtls-mitm-rig.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import type { DtlsArmRequest } from './roles/dtls-interception.ts';
import type { RoleConfig } from './role-config.ts';
import { DTLS_PORT } from './dtls-containers.ts';

type Address = { host: string; port: number };

function checkTimeout(who: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 100 || ms > 120_000) throw new Error(`${who}: the handshake timeout is 100..120000 ms, got ${ms}`);
}

/** A started role of this file: its control socket and an orderly stop. */
export class StartedRole extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}

export abstract class DtlsRoleContainer extends NodeRoleContainer {
  constructor(image: string) {
    super(image);
    // The scenario's DTLS version (emulators/dtls/dtls-version.ts); both bridges are built on the host.
    this.withEnvironment({ [DTLS_BRIDGE_PREBUILT_ENV]: '1', ...dtlsVersionEnvironment() });
  }

  protected async startAs<T extends StartedRole>(config: RoleConfig, Started: new (s: StartedTestContainer, c: RoleControl) => T): Promise<T> {
    const { started, control } = await this.startRole(config);
    return new Started(started, control);
  }
}

export class DtlsMitmContainer extends DtlsRoleContainer {
  static readonly LISTEN_PORT = DTLS_PORT;
  #handshakeTimeoutMs = 5_000;

  /** A victim that neither completes nor aborts its handshake is cut off after this long. */
  withHandshakeTimeout(ms: number): this {
    checkTimeout('DtlsMitmContainer', ms);
    this.#handshakeTimeoutMs = ms;
    return this;
  }

  override start(): Promise<StartedDtlsMitmContainer> {
    return this.startAs({ role: 'dtls-mitm', listenPort: DtlsMitmContainer.LISTEN_PORT, handshakeTimeoutMs: this.#handshakeTimeoutMs }, StartedDtlsMitmContainer);
  }
}

export class StartedDtlsMitmContainer extends StartedRole {
  /** Present this forged credential from now on (a fresh MITM bridge and log). */
  async arm(request: DtlsArmRequest): Promise<void> {
    await this.control.call('POST', '/arm', request, 20_000);
  }

  /** Give the MITM `waitMs` to hand over what it decrypted, stop it, and return what it recorded. */
  disarm(waitMs: number): Promise<{ observations: Observation[]; plaintextBytes: number }> {
    return this.control.call('POST', '/disarm', { waitMs }, waitMs + 15_000);
  }
}

export class DtlsClientContainer extends DtlsRoleContainer {
  #victim: DeviceProvisioning | undefined;

  withVictim(victim: DeviceProvisioning): this {
    this.#victim = victim;
    return this;
  }

  override start(): Promise<StartedDtlsClientContainer> {
    if (!this.#victim) throw new Error('DtlsClientContainer: no device; call withVictim(provisioning)');
    return this.startAs({ role: 'dtls-client', victim: this.#victim }, StartedDtlsClientContainer);
  }
}

export class StartedDtlsClientContainer extends StartedRole {
  /** One matrix attempt by `client` against `target` (the MITM, which it takes for the cloud). */
  attempt(o: { client: DtlsMatrixClient; target: Address; readings: number; timeoutMs: number }): Promise<DtlsVictimRun> {
    return this.control.call('POST', '/attempt', o, o.timeoutMs * 3 + 10_000);
  }

  /** openssl s_client -dtls1_2 sends one sealed reading to `target`. */
  sClient(o: { target: Address; timeoutMs: number }): Promise<OpensslPeerRun> {
    return this.control.call('POST', '/s_client', o, o.timeoutMs + 10_000);
  }
}

export class DtlsCloudEndpointContainer extends DtlsRoleContainer {
  static readonly LISTEN_PORT = DTLS_PORT;
  #devices: readonly DeviceProvisioning[] = [];
  #handshakeTimeoutMs = 8_000;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    this.#devices = devices;
    return this;
  }

  withHandshakeTimeout(ms: number): this {
    checkTimeout('DtlsCloudEndpointContainer', ms);
    this.#handshakeTimeoutMs = ms;
    return this;
  }

  override start(): Promise<StartedDtlsCloudEndpointContainer> {
    if (this.#devices.length === 0) throw new Error('DtlsCloudEndpointContainer: no devices registered; call withDevices([...])');
    return this.startAs({ role: 'dtls-cloud-endpoint', listenPort: DtlsCloudEndpointContainer.LISTEN_PORT, devices: this.#devices, handshakeTimeoutMs: this.#handshakeTimeoutMs }, StartedDtlsCloudEndpointContainer);
  }
}

export class StartedDtlsCloudEndpointContainer extends StartedRole {
  observations(): Promise<Observation[]> {
    return this.control.call('GET', '/observations');
  }

  audit(): Promise<AuditEntry[]> {
    return this.control.call('GET', '/audit');
  }
}
