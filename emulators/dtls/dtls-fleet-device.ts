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
  readonly resend: { readonly intervalMs: number; readonly maxAttempts: number };
}

interface Pending {
  readonly datagram: Uint8Array;
  sends: number;
  lastSentMs: number;
}

export class DtlsFleetDevice {
  readonly #pending = new Map<bigint, Pending>();
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
  }

  get deviceId(): string {
    return this.config.provisioning.deviceId;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Measure, seal and send one reading; it stays pending until acknowledged. */
  read(nowMs: number): void {
    const packet = this.config.sealer.seal(encodeReading(this.config.vitals.next()), this.config.clock.nowSec());
    const sequence = this.config.sealer.nextSequence - 1n;
    const datagram = encodeReadingDatagram(packet);
    this.#pending.set(sequence, { datagram, sends: 1, lastSentMs: nowMs });
    this.sealed++;
    this.config.send(datagram);
  }

  /** Send again what has waited `intervalMs`; give up (counted) after `maxAttempts` sends. */
  tick(nowMs: number): void {
    const { intervalMs, maxAttempts } = this.config.resend;
    for (const [sequence, p] of this.#pending) {
      if (nowMs - p.lastSentMs < intervalMs) continue;
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
  }

  /** A datagram on this device's session: an ack for its own pseudonym clears those sequences. */
  received(datagram: Uint8Array): void {
    const d = decodeReadingDatagram(datagram);
    if (d instanceof Error || d.type !== 'ack' || d.pseudonymHex !== this.config.provisioning.pseudonymHex) {
      this.refusedDatagrams++;
      return;
    }
    for (const s of d.sequences) if (this.#pending.delete(s)) this.acknowledged++;
  }
}
