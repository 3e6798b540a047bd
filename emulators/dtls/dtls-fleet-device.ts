/**
 * One wearable of a DTLS fleet, on a session of the fleet's shared bridge (dtls-fleet-transport.ts):
 * it seals each reading into an E3 packet (FleetSealer: its own key, pseudonym, salt, sequence),
 * sends it as a reading datagram and keeps it until the cloud acknowledges its sequence
 * (reading-datagram.ts: UDP delivers nothing for sure). An unacknowledged reading is sent again
 * every `intervalMs`, at most `maxAttempts` times; one that runs out is counted as given up,
 * never dropped silently. A copy that reaches the cloud twice is refused there by the E3 replay
 * window (RFC 6347 §4.1.2.6 is the DTLS-layer analogue; E3 keeps its own, DESIGN §4).
 */
import { encodeReading } from '../../crypto/e3-reading.ts';
import type { SimClock } from '../sim-clock.ts';
import type { VitalSigns } from '../vital-signs.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import type { ReadingSealer } from '../fleet/fleet-sealer.ts';
import { decodeReadingDatagram, encodeReadingDatagram } from './reading-datagram.ts';

export interface DtlsFleetDeviceConfig {
  readonly provisioning: DeviceProvisioning;
  readonly sealer: ReadingSealer;
  readonly vitals: VitalSigns;
  readonly clock: Pick<SimClock, 'nowSec'>;
  /** Send one datagram on this device's session. */
  readonly send: (datagram: Uint8Array) => void;
  readonly resend: {
    readonly intervalMs: number;
    readonly maxAttempts: number;
    /**
     * Double the wait after each send, up to 4 × intervalMs, as DTLS doubles its own flight
     * timer (RFC 6347 §4.2.4.1): a fleet resending in step on a congested path only adds to the
     * queue its acks wait in. Capped so a resend still lands inside the cloud's E3 timestamp window.
     */
    readonly backoff?: boolean;
  };
  /**
   * Readings in flight at once (absent: no bound). With 1 the device sends its next reading only
   * once the cloud has acknowledged (or it has given up) the one before: stop-and-wait, so a link
   * that reorders datagrams cannot make the cloud open a later reading first. The others wait,
   * sealed, in the device's own queue.
   */
  readonly window?: number;
  /** Told, for each reading the cloud acknowledges, how long it took from sealing to the ack. */
  readonly onAcknowledged?: (sealedToAckMs: number) => void;
}

interface Pending {
  readonly datagram: Uint8Array;
  readonly sealedAtMs: number;
  sends: number;
  lastSentMs: number;
}

export class DtlsFleetDevice {
  readonly #pending = new Map<bigint, Pending>();
  /** Sealed readings waiting for a place in the window, oldest first. */
  readonly #waiting: { sequence: bigint; datagram: Uint8Array; sealedAtMs: number }[] = [];
  sealed = 0;
  resends = 0;
  acknowledged = 0;
  givenUp = 0;
  /** Datagrams on its session that were not an ack for it (counted, never trusted). */
  refusedDatagrams = 0;

  constructor(readonly config: DtlsFleetDeviceConfig) {
    const { intervalMs, maxAttempts } = config.resend;
    if (!(intervalMs >= 10) || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw new Error(`dtls-fleet-device: resend needs intervalMs ≥ 10 and maxAttempts 1..100, got ${intervalMs} and ${maxAttempts}`);
    }
    const { window } = config;
    if (window !== undefined && (!Number.isInteger(window) || window < 1 || window > 1_000)) throw new Error(`dtls-fleet-device: window must be 1..1000 readings in flight, got ${window}`);
  }

  get deviceId(): string {
    return this.config.provisioning.deviceId;
  }

  /** Readings sealed and not yet acknowledged or given up: in flight and waiting. */
  get pending(): number {
    return this.#pending.size + this.#waiting.length;
  }

  /** Measure, seal and send one reading; it stays pending until acknowledged. */
  read(nowMs: number): void {
    const packet = this.config.sealer.seal(encodeReading(this.config.vitals.next()), this.config.clock.nowSec());
    const sequence = this.config.sealer.nextSequence - 1n;
    this.sealed++;
    this.#waiting.push({ sequence, datagram: encodeReadingDatagram(packet), sealedAtMs: nowMs });
    this.#sendWaiting(nowMs);
  }

  /** Send waiting readings, oldest first, while the window has room. */
  #sendWaiting(nowMs: number): void {
    const window = this.config.window ?? Infinity;
    while (this.#waiting.length > 0 && this.#pending.size < window) {
      const { sequence, datagram, sealedAtMs } = this.#waiting.shift() as { sequence: bigint; datagram: Uint8Array; sealedAtMs: number };
      this.#pending.set(sequence, { datagram, sealedAtMs, sends: 1, lastSentMs: nowMs });
      this.config.send(datagram);
    }
  }

  /** Send again what has waited `intervalMs`; give up (counted) after `maxAttempts` sends. */
  tick(nowMs: number): void {
    const { intervalMs, maxAttempts, backoff } = this.config.resend;
    for (const [sequence, p] of this.#pending) {
      const wait = backoff ? intervalMs * Math.min(4, 2 ** (p.sends - 1)) : intervalMs;
      if (nowMs - p.lastSentMs < wait) continue;
      if (p.sends >= maxAttempts) {
        this.#pending.delete(sequence);
        this.givenUp++;
        continue;
      }
      p.sends++;
      p.lastSentMs = nowMs;
      this.resends++;
      this.config.send(p.datagram);
    }
    this.#sendWaiting(nowMs);
  }

  /** A datagram on this device's session: an ack for its own pseudonym clears those sequences. */
  received(datagram: Uint8Array, nowMs = Date.now()): void {
    const d = decodeReadingDatagram(datagram);
    if (d instanceof Error || d.type !== 'ack' || d.pseudonymHex !== this.config.provisioning.pseudonymHex) {
      this.refusedDatagrams++;
      return;
    }
    for (const s of d.sequences) {
      const p = this.#pending.get(s);
      if (!p) continue;
      this.#pending.delete(s);
      this.acknowledged++;
      this.config.onAcknowledged?.(nowMs - p.sealedAtMs);
    }
    this.#sendWaiting(nowMs);
  }
}
