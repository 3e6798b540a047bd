/**
 * Wearable over transport `dtls` (docs/architecture.md §3 Roles, §5): the source chapter's worked example, where
 * the 96-byte E3 packet travels as a UDP datagram inside DTLS 1.2 (§17.6). DTLS comes from the
 * project's pion bridge (client mode); this object seals readings and keeps them until the cloud
 * acknowledges their sequence numbers, resending on a timer — UDP loses datagrams, and a resend
 * is the very same packet, so the cloud's replay window turns any extra copy into a "replay"
 * rejection, never a second accepted reading.
 *
 * The resend budget (attempts × interval) must end inside the cloud's timestamp window
 * (E3_DEFAULT_MAX_SKEW_SEC): a resend after that is rightly refused as a stale timestamp.
 */
import type { E3Sealer } from '../../crypto/e3-sealer.ts';
import { encodeReading, type Reading } from '../../crypto/e3-reading.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import { ObservationLog } from '../observation-log.ts';
import type { SimClock } from '../sim-clock.ts';
import type { VitalSigns } from '../vital-signs.ts';
import { deviceSealer, deviceVitals } from '../device-sealer.ts';
import { DtlsBridgeProcess, type DtlsClientOptions, type UdpAddress } from './dtls-bridge-process.ts';
import { decodeReadingDatagram, encodeReadingDatagram } from './reading-datagram.ts';

export type DtlsWearableObservationKind =
  | 'dtls-handshake'
  | 'dtls-error'
  | 'dtls-reconnect'
  | 'reading-sent'
  | 'reading-resent'
  | 'delivery-confirmed'
  | 'delivery-failed'
  | 'datagram-refused'
  | 'disconnected';

/** How the wearable authenticates the DTLS server (and itself). */
export type DtlsCredentials =
  | {
      readonly kind: 'certificate';
      readonly certFile: string;
      readonly keyFile: string;
      readonly caFile: string;
      readonly serverName: string;
      /** The no-verify profile (attack demonstrations only): any server certificate is accepted. */
      readonly insecureSkipVerify?: boolean;
    }
  | { readonly kind: 'psk'; readonly pskHex: string; readonly identity: string };

export interface ResendPolicy {
  readonly intervalMs: number;
  readonly maxAttempts: number;
}

export interface DtlsWearableConfig {
  readonly provisioning: DeviceProvisioning;
  readonly deviceKeyPem: string;
  readonly cloudE3PublicKeyPem: string;
  readonly endpoint: UdpAddress;
  readonly credentials: DtlsCredentials;
  readonly clock: SimClock;
  readonly intervalSimMs?: number;
  readonly resend?: ResendPolicy;
  /** Bound on one DTLS handshake; under loss pion retransmits flights (RFC 6347 §4.2.4). */
  readonly handshakeTimeoutMs?: number;
  /** Handshakes tried before connect() gives up. */
  readonly handshakeAttempts?: number;
  readonly keyLogFile?: string;
  /**
   * After this many unacknowledged sends of one reading the device takes its DTLS association
   * for lost and handshakes again (from a new port), then resends what is pending. A peer that
   * silently drops the records (a NAT rebinding without a Connection ID, RFC 9146 §1) gives the
   * device no other signal. Unset: the device never reconnects by itself.
   */
  readonly reconnectAfterSends?: number;
}

interface Pending {
  readonly packet: Uint8Array;
  attempts: number;
  /** Sends since the last handshake: what reconnectAfterSends counts (a reconnect starts it again). */
  sinceHandshake: number;
  timer: NodeJS.Timeout;
}

export const DEFAULT_RESEND: ResendPolicy = { intervalMs: 150, maxAttempts: 8 };

export class DtlsWearable {
  readonly log: ObservationLog<DtlsWearableObservationKind>;
  readonly #config: DtlsWearableConfig;
  readonly #sealer: E3Sealer;
  readonly #vitals: VitalSigns;
  readonly #pending = new Map<bigint, Pending>();
  #drained: (() => void)[] = [];
  #bridge: DtlsBridgeProcess | undefined;
  #reconnecting: Promise<void> | undefined;

  constructor(config: DtlsWearableConfig) {
    const resend = config.resend ?? DEFAULT_RESEND;
    if (!Number.isInteger(resend.maxAttempts) || resend.maxAttempts < 1 || resend.maxAttempts > 100 || !(resend.intervalMs >= 1 && resend.intervalMs <= 60_000)) {
      throw new Error(`dtls-wearable: resend needs maxAttempts 1..100 and intervalMs 1..60000, got ${resend.maxAttempts} × ${resend.intervalMs} ms`);
    }
    const r = config.reconnectAfterSends;
    if (r !== undefined && (!Number.isInteger(r) || r < 2 || r >= resend.maxAttempts)) {
      throw new Error(`dtls-wearable: reconnectAfterSends must be an integer in 2..${resend.maxAttempts - 1} (below the resend budget of ${resend.maxAttempts}), got ${r}`);
    }
    this.#config = config;
    const p = config.provisioning;
    this.log = new ObservationLog(p.deviceId);
    this.#sealer = deviceSealer(config);
    this.#vitals = deviceVitals(p);
  }

  get deviceId(): string {
    return this.#config.provisioning.deviceId;
  }

  get connected(): boolean {
    return this.#bridge !== undefined;
  }

  /** Start the bridge and complete a DTLS handshake (retrying a bounded number of times). */
  async connect(): Promise<void> {
    const { credentials, endpoint, handshakeTimeoutMs = 5_000, handshakeAttempts = 3, keyLogFile } = this.#config;
    const options: DtlsClientOptions = {
      mode: 'client',
      connect: endpoint,
      handshakeTimeoutMs,
      ...(keyLogFile ? { keyLogFile } : {}),
      ...(credentials.kind === 'certificate'
        ? {
            certFile: credentials.certFile,
            keyFile: credentials.keyFile,
            caFile: credentials.caFile,
            serverName: credentials.serverName,
            ...(credentials.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
            // RSA too: a MITM's forged certificate may carry either key type (certs/forged-catalogue.ts).
            ciphers: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
          }
        : { pskHex: credentials.pskHex, pskIdentity: credentials.identity, ciphers: ['PSK-AES128-GCM-SHA256'] }),
    };
    const bridge = await DtlsBridgeProcess.start(options, { name: `${this.deviceId}/dtls` });
    bridge.onDatagram((payload) => this.#received(payload));
    let since = 0;
    for (let attempt = 1; attempt <= handshakeAttempts; attempt++) {
      const outcome = await bridge.handshakeOutcome(handshakeTimeoutMs + 2_000, since).catch((err: Error) => ({ ok: false, event: { reason: err.message } as Readonly<Record<string, unknown>> }));
      if (outcome.ok) {
        const e = outcome.event;
        this.log.record('dtls-handshake', `DTLS handshake with ${endpoint.host}:${endpoint.port}: ${String(e.version)} ${String(e.cipherSuite)}`, {
          version: e.version,
          cipherSuite: e.cipherSuite,
          resumed: e.resumed,
          peerSubjectCn: (e.peerCertificate as { subjectCN?: string } | undefined)?.subjectCN,
          durationMs: e.durationMs,
          attempt,
        });
        this.#bridge = bridge;
        return;
      }
      this.log.record('dtls-error', `DTLS handshake attempt ${attempt} failed: ${String(outcome.event.reason)}`, { attempt, reason: outcome.event.reason, alert: outcome.event.alert, error: outcome.event.error });
      since = bridge.log.all().length;
      if (attempt < handshakeAttempts) bridge.command({ cmd: 'reconnect' });
    }
    await bridge.stop();
    throw new Error(`dtls-wearable ${this.deviceId}: no DTLS handshake with ${endpoint.host}:${endpoint.port} after ${handshakeAttempts} attempts (${String(this.log.ofKind('dtls-error').at(-1)?.detail.reason)})`);
  }

  /** Seal one reading and send it; it is resent until acknowledged or the budget runs out. */
  sendReading(reading: Reading = this.#vitals.next()): { sequence: bigint; packet: Uint8Array } {
    const bridge = this.#bridge;
    if (!bridge) throw new Error(`dtls-wearable ${this.deviceId}: not connected; call connect() first`);
    const plaintext = encodeReading(reading);
    const sequence = this.#sealer.nextSequence;
    const timestamp = this.#config.clock.nowSec();
    const packet = this.#sealer.seal(plaintext, timestamp);
    this.log.record('reading-sent', `sealed reading #${sequence} (${packet.length} bytes)`, { sequence, timestamp, reading, plaintext }, packet);
    const { intervalMs, maxAttempts } = this.#config.resend ?? DEFAULT_RESEND;
    const pending: Pending = {
      packet,
      attempts: 1,
      sinceHandshake: 1,
      timer: setInterval(() => {
        if (pending.attempts >= maxAttempts) {
          clearInterval(pending.timer);
          this.log.record('delivery-failed', `reading #${sequence} unacknowledged after ${maxAttempts} sends`, { sequence, attempts: maxAttempts });
          this.#settle(sequence);
          return;
        }
        if (pending.sinceHandshake === this.#config.reconnectAfterSends) this.#reconnect(sequence, pending.sinceHandshake);
        pending.attempts += 1;
        pending.sinceHandshake += 1;
        this.log.record('reading-resent', `resent reading #${sequence} (attempt ${pending.attempts})`, { sequence, attempt: pending.attempts });
        this.#bridge?.send(encodeReadingDatagram(packet));
      }, intervalMs),
    };
    this.#pending.set(sequence, pending);
    bridge.send(encodeReadingDatagram(packet));
    return { sequence, packet };
  }

  /**
   * A new DTLS handshake on the same bridge (a new socket, so a new source port), once at a time;
   * on success every pending reading is sent again at once, its resend budget unchanged.
   */
  #reconnect(sequence: bigint, sends: number): void {
    const bridge = this.#bridge;
    if (!bridge || this.#reconnecting) return;
    const { handshakeTimeoutMs = 5_000 } = this.#config;
    const since = bridge.log.all().length;
    this.log.record('dtls-reconnect', `reading #${sequence} unacknowledged after ${sends} sends: handshaking again`, { sequence, sends });
    bridge.command({ cmd: 'reconnect' });
    this.#reconnecting = bridge
      .handshakeOutcome(handshakeTimeoutMs + 2_000, since)
      .then((outcome) => {
        const e = outcome.event;
        if (!outcome.ok) {
          this.log.record('dtls-error', `DTLS handshake after reconnecting failed: ${String(e.reason)}`, { reason: e.reason, alert: e.alert, error: e.error, reconnect: true });
          return;
        }
        this.log.record('dtls-handshake', `DTLS handshake again (reconnect): ${String(e.version)} ${String(e.cipherSuite)}`, { version: e.version, cipherSuite: e.cipherSuite, resumed: e.resumed, durationMs: e.durationMs, reconnect: true });
        if (this.#bridge !== bridge) return;
        for (const [sequence, p] of this.#pending) {
          p.sinceHandshake = 1;
          this.log.record('reading-resent', `resent reading #${sequence} on the new DTLS session`, { sequence, attempt: p.attempts, reconnect: true });
          bridge.send(encodeReadingDatagram(p.packet));
        }
      })
      .catch((err: Error) => {
        this.log.record('dtls-error', `DTLS handshake after reconnecting failed: ${err.message}`, { reason: err.message, reconnect: true });
      })
      .finally(() => {
        this.#reconnecting = undefined;
      });
  }

  async report(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error(`dtls-wearable ${this.deviceId}: reading count must be an integer in 1..100000, got ${count}`);
    const intervalWallMs = this.#config.clock.wallMs(this.#config.intervalSimMs ?? 30_000);
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, intervalWallMs));
      this.sendReading();
    }
  }

  /** Sequence numbers still waiting for an acknowledgement. */
  unacknowledged(): bigint[] {
    return [...this.#pending.keys()];
  }

  /** Wait until every reading is acknowledged or given up (bounded). */
  async settled(timeoutMs = 10_000): Promise<void> {
    // Waits on the pending set, not by recounting the log: constant work per acknowledgement,
    // so a long run (bench/dtls.ts) does not slow down as its log grows.
    if (this.#pending.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drained = this.#drained.filter((d) => d !== done);
        reject(new Error(`dtls-wearable ${this.deviceId}: gave up after ${timeoutMs} ms waiting for acknowledgements; ${this.#pending.size} reading(s) still unacknowledged`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#drained.push(done);
    });
  }

  #settle(sequence: bigint): void {
    this.#pending.delete(sequence);
    if (this.#pending.size === 0) for (const done of this.#drained.splice(0)) done();
  }

  #received(payload: Uint8Array): void {
    const decoded = decodeReadingDatagram(payload);
    if (decoded instanceof Error || decoded.type !== 'ack' || decoded.pseudonymHex !== this.#config.provisioning.pseudonymHex) {
      this.log.record('datagram-refused', `ignored a datagram from the DTLS peer: ${decoded instanceof Error ? decoded.message : `unexpected ${decoded.type}`}`, {}, payload);
      return;
    }
    for (const sequence of decoded.sequences) {
      const pending = this.#pending.get(sequence);
      if (!pending) continue; // an ack for a resend already acknowledged
      clearInterval(pending.timer);
      this.log.record('delivery-confirmed', `cloud acknowledged reading #${sequence} after ${pending.attempts} send(s)`, { sequence, attempts: pending.attempts });
      this.#settle(sequence);
    }
  }

  async stop(): Promise<void> {
    await this.#reconnecting;
    for (const p of this.#pending.values()) clearInterval(p.timer);
    this.#pending.clear();
    const bridge = this.#bridge;
    this.#bridge = undefined;
    if (bridge) {
      await bridge.stop();
      this.log.record('disconnected', 'DTLS bridge stopped');
    }
  }
}
