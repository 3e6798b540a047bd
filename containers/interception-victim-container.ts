/**
 * The forged-certificate matrix's victim in its own container (containers/roles/interception-victim.ts):
 * long-lived, one fresh client attempt per `attempt()`. Runs in the wearable image: Node for the
 * wearable profiles, and the base image's mosquitto_pub and openssl for the independent clients.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { VictimRun } from '../topology/interception-victim.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';

export class InterceptionVictimContainer extends NodeRoleContainer {
  #victim: DeviceProvisioning | undefined;
  #crlPems: readonly string[] = [];
  #cloudPin = '';
  #mitm: { host: string; port: number } | undefined;

  withVictim(victim: DeviceProvisioning): this {
    this.#victim = victim;
    return this;
  }

  /** What the secure-crl and pinned profiles check against: the CAs' CRLs and the cloud key's SPKI pin. */
  withRevocationAndPin(crlPems: readonly string[], cloudPin: string): this {
    if (crlPems.length === 0 || !crlPems.every((c) => c.includes('BEGIN X509 CRL'))) throw new Error('InterceptionVictimContainer: give the CAs\' CRLs as PEM text ("-----BEGIN X509 CRL-----")');
    if (!cloudPin) throw new Error('InterceptionVictimContainer: give the cloud key\'s SPKI pin (spkiPinOf in emulators/tls-client-profile.ts)');
    this.#crlPems = crlPems;
    this.#cloudPin = cloudPin;
    return this;
  }

  /** Where the MITM listens on the victim's network; the victim does not know it is one. */
  withMitm(host: string, port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`InterceptionVictimContainer: port must be 1..65535, got ${port}`);
    this.#mitm = { host, port };
    return this;
  }

  override async start(): Promise<StartedInterceptionVictimContainer> {
    if (!this.#victim) throw new Error('InterceptionVictimContainer: no victim; call withVictim(provisioning)');
    if (!this.#mitm) throw new Error('InterceptionVictimContainer: no MITM address; call withMitm(host, port)');
    if (!this.#cloudPin) throw new Error('InterceptionVictimContainer: call withRevocationAndPin(crlPems, cloudPin)');
    const { started, control } = await this.startRole({ role: 'interception-victim', victim: this.#victim, crlPems: this.#crlPems, cloudPin: this.#cloudPin, mitm: this.#mitm });
    return new StartedInterceptionVictimContainer(started, control);
  }
}

export class StartedInterceptionVictimContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  /** One attempt by `client`; `dir` is the attempt's evidence directory relative to the run's. */
  attempt(o: { client: string; dir: string; readings: number; timeoutMs: number }): Promise<VictimRun> {
    return this.control.call('POST', '/attempt', o, o.timeoutMs * 3 + 10_000);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
