/**
 * Nagle's hold, read from a capture: how long the broker's CONNACK trailed the records sent just
 * before it in the same server flight.
 *
 * Why CONNACK can wait: Nagle's algorithm (RFC 896; RFC 1122 §4.2.3.4) lets a sender put a
 * segment smaller than the MSS on the wire only when none of its earlier data is unacknowledged.
 * In a full TLS 1.3 handshake the broker sends its session tickets (RFC 8446 §4.6.1) as soon as
 * it reads the client's Finished, and CONNACK a few milliseconds later, once MQTT has handled the
 * CONNECT that came with that Finished. The device has nothing more to send, so it acknowledges
 * the tickets with a delayed ACK (RFC 1122 §4.2.3.2; Linux waits at least 40 ms, TCP_DELACK_MIN).
 * Without TCP_NODELAY, CONNACK sits in the broker's send buffer until that ACK arrives.
 *
 * The capture shows no ACKs (the link's tap records data), so the hold is read as the gap between
 * the flight's first record and CONNACK: no device byte came in between to release it.
 */
import type { Flight, HandshakeAnalysis, TlsRecord } from './handshake-analyser.ts';

/**
 * Wire size of an MQTT 3.1.1 CONNACK in a TLS 1.3 record: 5 header bytes (RFC 8446 §5.1), the
 * 4-byte CONNACK (MQTT 3.1.1 §3.2), 1 inner content-type byte (RFC 8446 §5.2, no padding) and a
 * 16-byte AEAD tag (every TLS 1.3 suite Node offers: AES-GCM, ChaCha20-Poly1305).
 */
export const TLS13_CONNACK_RECORD_BYTES = 5 + 4 + 1 + 16;

export interface ConnackHold {
  /** The records of the server's first application flight, in order (tickets, then CONNACK). */
  readonly flightRecords: readonly TlsRecord[];
  /** The record taken for CONNACK: the flight's last, of exactly TLS13_CONNACK_RECORD_BYTES. */
  readonly connack: TlsRecord;
  /** From the flight's first record to CONNACK, in ms: the time CONNACK was held back. */
  readonly heldMs: number;
  /** From the connection's first byte (the SYN when captured) to CONNACK, in ms. */
  readonly timeToConnackMs: number;
}

/**
 * CONNACK and its hold in one analysed TLS 1.3 connection, or a sentence saying why it could
 * not be found (so a step can report it rather than guess).
 */
export function connackHold(analysis: HandshakeAnalysis): ConnackHold | string {
  if (analysis.protocol !== 'TLS 1.3') return `nagle-hold: CONNACK is located by its TLS 1.3 record size; this connection is ${analysis.protocol}`;
  const index = analysis.firstApplicationFlight;
  const flight: Flight | undefined = index === undefined ? undefined : analysis.flights[index];
  if (!flight) return 'nagle-hold: the server sent no application data (no CONNACK in this connection)';
  const connack = flight.records[flight.records.length - 1] as TlsRecord;
  if (connack.contentType !== 23 || connack.wireBytes !== TLS13_CONNACK_RECORD_BYTES) {
    return `nagle-hold: the server's application flight ends with a ${connack.wireBytes}-byte ${connack.contentTypeName} record, not a ${TLS13_CONNACK_RECORD_BYTES}-byte CONNACK`;
  }
  const start = analysis.roundTrips[0]?.startMicros ?? analysis.records[0]?.timestampMicros ?? connack.timestampMicros;
  return {
    flightRecords: flight.records,
    connack,
    heldMs: Number(connack.timestampMicros - flight.startMicros) / 1000,
    timeToConnackMs: Number(connack.timestampMicros - start) / 1000,
  };
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
