/**
 * The tiny application protocol inside DTLS between a wearable and the cloud (docs/architecture.md §5 Transports):
 * UDP has no delivery guarantee, so the cloud acknowledges the E3 sequence numbers it has
 * accepted and the wearable resends what stays unacknowledged.
 *
 *   reading: 0x01 ‖ E3 packet (96 bytes, docs/architecture.md §4 The E3 packet)
 *   ack:     0x02 ‖ pseudonym (16 bytes) ‖ count (u8, 1..MAX_ACKED) ‖ count × sequence (u64 BE)
 *
 * An ack is not authenticated end to end (a gateway could forge one and hide a drop from the
 * device); what makes a drop visible is the cloud's sequence audit, exactly as on the MQTT path
 * where a gateway can forge the PUBACK. Acks carry the pseudonym so a DTLS-terminating gateway,
 * which forwards acks by pseudonym, never needs the device key.
 */
import { E3_PACKET_BYTES, E3_PSEUDONYM_BYTES } from '../../crypto/e3-packet.ts';

export const READING_TYPE = 0x01;
export const ACK_TYPE = 0x02;
/** Fits one ack in any DTLS record: 1 + 16 + 1 + 64·8 = 530 bytes. */
export const MAX_ACKED = 64;

export type ReadingDatagram =
  | { readonly type: 'reading'; readonly packet: Uint8Array }
  | { readonly type: 'ack'; readonly pseudonymHex: string; readonly sequences: readonly bigint[] };

export function encodeReadingDatagram(packet: Uint8Array): Buffer {
  if (packet.length !== E3_PACKET_BYTES) throw new Error(`reading-datagram: an E3 packet is ${E3_PACKET_BYTES} bytes, got ${packet.length}`);
  return Buffer.concat([Buffer.of(READING_TYPE), packet]);
}

export function encodeAckDatagram(pseudonymHex: string, sequences: readonly bigint[]): Buffer {
  if (!new RegExp(`^[0-9a-f]{${E3_PSEUDONYM_BYTES * 2}}$`).test(pseudonymHex)) throw new Error(`reading-datagram: pseudonym must be ${E3_PSEUDONYM_BYTES * 2} lower-case hex digits`);
  if (sequences.length < 1 || sequences.length > MAX_ACKED) throw new Error(`reading-datagram: an ack carries 1..${MAX_ACKED} sequence numbers, got ${sequences.length}; split it`);
  const out = Buffer.alloc(1 + E3_PSEUDONYM_BYTES + 1 + sequences.length * 8);
  out[0] = ACK_TYPE;
  out.write(pseudonymHex, 1, 'hex');
  out[1 + E3_PSEUDONYM_BYTES] = sequences.length;
  sequences.forEach((s, i) => {
    if (s < 0n || s > 0xffff_ffff_ffff_ffffn) throw new Error(`reading-datagram: sequence ${s} does not fit in u64`);
    out.writeBigUInt64BE(s, 2 + E3_PSEUDONYM_BYTES + i * 8);
  });
  return out;
}

/** Decode one datagram; a malformed one is an Error saying what is wrong (never a throw). */
export function decodeReadingDatagram(datagram: Uint8Array): ReadingDatagram | Error {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  if (b.length === 0) return new Error('reading-datagram: empty datagram');
  if (b[0] === READING_TYPE) {
    if (b.length !== 1 + E3_PACKET_BYTES) return new Error(`reading-datagram: a reading datagram is ${1 + E3_PACKET_BYTES} bytes, got ${b.length}`);
    return { type: 'reading', packet: Uint8Array.from(b.subarray(1)) };
  }
  if (b[0] === ACK_TYPE) {
    const count = b[1 + E3_PSEUDONYM_BYTES];
    if (count === undefined || count < 1 || count > MAX_ACKED || b.length !== 2 + E3_PSEUDONYM_BYTES + count * 8) {
      return new Error(`reading-datagram: malformed ack (${b.length} bytes, count ${String(count)})`);
    }
    const sequences = Array.from({ length: count }, (_, i) => b.readBigUInt64BE(2 + E3_PSEUDONYM_BYTES + i * 8));
    return { type: 'ack', pseudonymHex: b.subarray(1, 1 + E3_PSEUDONYM_BYTES).toString('hex'), sequences };
  }
  return new Error(`reading-datagram: unknown type 0x${b[0]?.toString(16).padStart(2, '0')} (0x01 reading, 0x02 ack)`);
}
