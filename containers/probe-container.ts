/**
 * The probe in its own container on the cloud network (containers/roles/probe.ts): the same
 * probes as the local placement — a device credential, one TLS version, one cipher suite — and
 * sslscan, each sent as one request over the role's control socket.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { SslscanReport } from '../analysis/sslscan.ts';
import type { DeviceCredential, ProbeResult } from '../emulators/device-credentials.ts';
import type { TlsProbeOffer, TlsProbeResult } from '../emulators/tls-probe.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import type { Endpoint } from './role-config.ts';

export class ProbeContainer extends NodeRoleContainer {
  #broker: Endpoint | undefined;

  /** The broker the probe offers to, by its name on the cloud network. */
  withBroker(endpoint: Endpoint): this {
    this.#broker = endpoint;
    return this;
  }

  override async start(): Promise<StartedProbeContainer> {
    if (!this.#broker) throw new Error('ProbeContainer: no broker; call withBroker({ host, port, serverName })');
    const { started, control } = await this.startRole({ role: 'probe', broker: this.#broker });
    return new StartedProbeContainer(started, control);
  }
}

export interface CredentialProbe {
  readonly credential: DeviceCredential;
  readonly caPem: string;
  readonly clientId: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly timeoutMs: number;
  /** A file name under the evidence directory's keylogs/ for the probe's TLS secrets. */
  readonly keyLog: string;
}

export interface TlsOfferProbe {
  readonly offer: TlsProbeOffer;
  readonly caPem: string;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly timeoutMs: number;
  readonly keyLog: string;
  readonly mqttClientId?: string;
}

export class StartedProbeContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  credential(p: CredentialProbe): Promise<ProbeResult> {
    return this.control.call('POST', '/credential', p, p.timeoutMs + 10_000);
  }

  tls(p: TlsOfferProbe): Promise<TlsProbeResult> {
    return this.control.call('POST', '/tls', p, p.timeoutMs + 10_000);
  }

  /** sslscan from the probe's container; the files are container paths (the PKI mount). */
  sslscan(p: { clientCertChainFile: string; clientKeyFile: string; timeoutMs: number }): Promise<{ report: SslscanReport; commandLine: string }> {
    return this.control.call('POST', '/sslscan', p, p.timeoutMs + 10_000);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
