/**
 * Many DTLS wearables' sessions in one bridge process (dtls-bridge fleet mode, README "Fleet
 * mode"): where each DtlsWearable spawns its own bridge (≈5 MiB and a process each,
 * bench/dtls-fleet.ts), a fleet opens one session per device on one bridge, by a session id it
 * chooses, and routes each decrypted datagram to the device whose session it came on.
 */
import { DtlsBridgeProcess, type UdpAddress } from './dtls-bridge-process.ts';

export interface DtlsFleetTransportOptions {
  readonly connect: UdpAddress;
  /** The fleet's PSK (RFC 4279); each session sends its own device's identity. */
  readonly pskHex: string;
  readonly ciphers?: readonly string[];
  readonly maxSessions: number;
  readonly handshakeTimeoutMs?: number;
  readonly keyLogFile?: string;
  /** How long the bridge may take to start listening (the bridge process's own default when absent; a loaded host needs more). */
  readonly startTimeoutMs?: number;
}

type Waiter = { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

export class DtlsFleetTransport {
  readonly #bridge: DtlsBridgeProcess;
  readonly #handlers = new Map<number, (payload: Uint8Array) => void>();
  readonly #waiting = new Map<number, Waiter>();

  private constructor(bridge: DtlsBridgeProcess) {
    this.#bridge = bridge;
    bridge.onDatagram((payload, session) => this.#handlers.get(session)?.(payload));
    bridge.onEvent((o) => {
      const session = Number(o.detail.peerId);
      const waiter = this.#waiting.get(session);
      if (!waiter) return;
      if (o.kind === 'handshake') this.#settle(session, waiter);
      else if (o.kind === 'handshake-failed' || (o.kind === 'error' && o.detail.scope === 'control')) this.#settle(session, waiter, new Error(`dtls-fleet: session ${session}: ${String(o.detail.error ?? o.detail.reason)}`));
    });
  }

  static async start(o: DtlsFleetTransportOptions): Promise<DtlsFleetTransport> {
    const bridge = await DtlsBridgeProcess.start(
      { mode: 'fleet', connect: o.connect, pskHex: o.pskHex, maxSessions: o.maxSessions, ...(o.ciphers ? { ciphers: o.ciphers } : {}), ...(o.handshakeTimeoutMs ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}), ...(o.keyLogFile ? { keyLogFile: o.keyLogFile } : {}) },
      { name: 'dtls-fleet', ...(o.startTimeoutMs ? { startTimeoutMs: o.startTimeoutMs } : {}) },
    );
    return new DtlsFleetTransport(bridge);
  }

  get bridge(): DtlsBridgeProcess {
    return this.#bridge;
  }

  /**
   * Open session `id` with `identity`, handshaking again (at most `attempts` times in all) when a
   * handshake fails: on a lossy link pion's flight retransmissions (RFC 6347 §4.2.4) can outlast
   * the handshake bound. Rejects with the last failure.
   */
  async openWithRetries(id: number, identity: string, onDatagram: (payload: Uint8Array) => void, timeoutMs: number, attempts: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.open(id, identity, onDatagram, timeoutMs);
        return attempt;
      } catch (err) {
        const message = (err as Error).message;
        if (attempt >= attempts || /stopped/.test(message)) throw err;
        // The bridge still holds a session this side gave up on (the close sent at the timeout
        // has not landed yet): give it a moment, then try again (counted as an attempt).
        if (/already open/.test(message)) await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Open session `id` with `identity`; resolves on its handshake, rejects on its failure or after `timeoutMs`. */
  open(id: number, identity: string, onDatagram: (payload: Uint8Array) => void, timeoutMs: number): Promise<void> {
    if (this.#waiting.has(id) || this.#handlers.has(id)) return Promise.reject(new Error(`dtls-fleet: session ${id} is already open`));
    this.#handlers.set(id, onDatagram);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Waiting for one of the bridge's handshake slots counts too; cut the session in the
        // bridge so a retry can open the id again (dtls-bridge/README.md "Fleet mode": close).
        this.#bridge.command({ cmd: 'close', peerId: id });
        this.#settle(id, this.#waiting.get(id) as Waiter, new Error(`dtls-fleet: session ${id} (${identity}) did not complete its handshake within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
      this.#bridge.command({ cmd: 'open', peerId: id, identity });
    });
  }

  send(id: number, payload: Uint8Array): void {
    this.#bridge.send(payload, id);
  }

  async stop(): Promise<void> {
    for (const [id, w] of this.#waiting) this.#settle(id, w, new Error('dtls-fleet: stopped'));
    await this.#bridge.stop(30_000);
  }

  #settle(id: number, waiter: Waiter, err?: Error): void {
    clearTimeout(waiter.timer);
    this.#waiting.delete(id);
    if (!err) return waiter.resolve();
    this.#handlers.delete(id);
    waiter.reject(err);
  }
}
