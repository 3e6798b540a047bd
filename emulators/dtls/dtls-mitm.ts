/**
 * A DTLS man in the middle (docs/architecture.md §3 Roles mitm-proxy, over DTLS): a dtls-bridge server that
 * presents one forged credential from the catalogue (certs/forged-catalogue.ts) to whoever
 * connects, and records whether the victim's handshake completed and every plaintext datagram it
 * got. It never answers: an interception shows what the attacker can read, nothing more.
 *
 * The replaced-key case (the genuine certificate with the attacker's key) cannot be loaded by an
 * OpenSSL-based server; the bridge serves it with --unchecked-key-pair, so pion really signs its
 * ServerKeyExchange with the wrong key and the victim's signature check is what is tested.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ObservationLog } from '../observation-log.ts';
import type { ForgedCredential } from '../../certs/forged-catalogue.ts';
import { DtlsBridgeProcess, type UdpAddress } from './dtls-bridge-process.ts';

export type DtlsMitmObservationKind = 'listening' | 'victim-dtls' | 'victim-dtls-failed' | 'datagram';

export interface DtlsMitmConfig {
  readonly listen: UdpAddress;
  readonly credential: ForgedCredential;
  /** Where the forged chain and key are written (key mode 0600) for the bridge to load. */
  readonly dir: string;
  readonly handshakeTimeoutMs?: number;
  readonly keyLogFile?: string;
}

export class DtlsMitm {
  readonly log = new ObservationLog<DtlsMitmObservationKind>('dtls-mitm');
  readonly #config: DtlsMitmConfig;
  #bridge: DtlsBridgeProcess | undefined;
  #plaintextBytes = 0;

  constructor(config: DtlsMitmConfig) {
    this.#config = config;
  }

  /** Application bytes the MITM decrypted from its victims. */
  plaintextBytes(): number {
    return this.#plaintextBytes;
  }

  get bridgeLog(): ObservationLog | undefined {
    return this.#bridge?.log;
  }

  async start(): Promise<UdpAddress> {
    const { credential, dir } = this.#config;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const certFile = join(dir, `${credential.name}.chain.pem`);
    const keyFile = join(dir, `${credential.name}.key.pem`);
    writeFileSync(certFile, credential.certChainPem);
    writeFileSync(keyFile, credential.keyPem, { mode: 0o600 });
    const bridge = await DtlsBridgeProcess.start(
      {
        mode: 'server',
        listen: this.#config.listen,
        certFile,
        keyFile,
        uncheckedKeyPair: credential.name === 'replaced-key',
        handshakeTimeoutMs: this.#config.handshakeTimeoutMs ?? 5_000,
        ...(this.#config.keyLogFile ? { keyLogFile: this.#config.keyLogFile } : {}),
      },
      { name: 'dtls-mitm/bridge' },
    );
    this.#bridge = bridge;
    bridge.onEvent((o) => {
      if (o.kind === 'handshake') this.log.record('victim-dtls', `victim completed DTLS with the forged "${credential.name}" certificate: ${String(o.detail.cipherSuite)}`, { ...o.detail });
      if (o.kind === 'handshake-failed') this.log.record('victim-dtls-failed', `victim refused the forged "${credential.name}" certificate: ${String(o.detail.reason)}${o.detail.alert ? ` (${String(o.detail.alert)})` : ''}`, { ...o.detail });
    });
    bridge.onDatagram((payload, peerId) => {
      this.#plaintextBytes += payload.length;
      this.log.record('datagram', `read ${payload.length} plaintext bytes from victim ${peerId}`, { peerId }, payload);
    });
    this.log.record('listening', `DTLS MITM presenting "${credential.name}" on ${bridge.dtlsAddress.host}:${bridge.dtlsAddress.port}`, { ...bridge.dtlsAddress });
    return bridge.dtlsAddress;
  }

  async stop(): Promise<void> {
    const bridge = this.#bridge;
    this.#bridge = undefined;
    if (bridge) await bridge.stop();
  }
}
