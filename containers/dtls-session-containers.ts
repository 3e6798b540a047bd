/**
 * The two ends of DTLS resumption in containers (containers/roles/dtls-sessions.ts): the cloud's
 * bridge server and the device's bridge client, each keeping DTLS sessions.
 */
import type { DtlsHandshakeEvent } from '../topology/dtls-resumption-rig.ts';
import { DTLS_PORT } from './dtls-containers.ts';
import { DtlsRoleContainer, StartedRole } from './dtls-interception-containers.ts';

export class DtlsSessionServerContainer extends DtlsRoleContainer {
  static readonly LISTEN_PORT = DTLS_PORT;
  #clientCertificate = false;

  /** Require the device's certificate (pion then stores no session: every handshake is full). */
  withClientCertificate(required: boolean): this {
    this.#clientCertificate = required;
    return this;
  }

  override start(): Promise<StartedRole> {
    return this.startAs({ role: 'dtls-session-server', listenPort: DtlsSessionServerContainer.LISTEN_PORT, clientCertificate: this.#clientCertificate }, StartedRole);
  }
}

export class DtlsSessionDeviceContainer extends DtlsRoleContainer {
  #endpoint: { host: string; port: number } | undefined;
  #clientCertificate = false;
  #sessionStore = true;

  /** Where the device sends: the emulated link before the cloud's server. */
  withEndpoint(host: string, port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`DtlsSessionDeviceContainer: port must be 1..65535, got ${port}`);
    this.#endpoint = { host, port };
    return this;
  }

  withClientCertificate(sent: boolean): this {
    this.#clientCertificate = sent;
    return this;
  }

  /** Keep the session for resumption (default); off for a device that never resumes. */
  withSessionStore(kept: boolean): this {
    this.#sessionStore = kept;
    return this;
  }

  override start(): Promise<StartedDtlsSessionDevice> {
    if (!this.#endpoint) throw new Error('DtlsSessionDeviceContainer: no endpoint; call withEndpoint(host, port)');
    return this.startAs({ role: 'dtls-session-device', endpoint: this.#endpoint, clientCertificate: this.#clientCertificate, ...(this.#sessionStore ? {} : { sessionStore: false }) }, StartedDtlsSessionDevice);
  }
}

export class StartedDtlsSessionDevice extends StartedRole {
  /** First call: handshake; later calls: reconnect and handshake again. */
  async send(payload: Uint8Array): Promise<void> {
    await this.control.call('POST', '/send', { payloadHex: Buffer.from(payload).toString('hex') });
  }

  handshake(timeoutMs: number, earlyData?: Uint8Array): Promise<DtlsHandshakeEvent> {
    return this.control.call('POST', '/handshake', { timeoutMs, ...(earlyData ? { earlyDataHex: Buffer.from(earlyData).toString('hex') } : {}) }, timeoutMs + 10_000);
  }
}
