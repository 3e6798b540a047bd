/**
 * The DTLS 1.3 unified header (RFC 9147 §4), parsed here because tshark 4.0 shows these
 * encrypted records as plain UDP. First byte 0b001CSLEE:
 *   C  a Connection ID follows (its length is not on the wire: the receiver chose it, §9),
 *   S  the sequence number is 16 bits (else 8),
 *   L  a 16-bit length follows (else the record runs to the end of the datagram),
 *   EE the low two bits of the epoch.
 * Epochs (§6.1): 0 plaintext (never a unified header), 1 0-RTT early data, 2 handshake,
 * 3 application data, 4 and up application data after KeyUpdate.
 */
export interface UnifiedHeaderRecord {
  readonly epochBits: number;
  /** What the epoch bits say the record carries. */
  readonly carries: 'early_data' | 'encrypted_handshake' | 'application_data';
  readonly cid?: Uint8Array;
  readonly sequenceBits: 8 | 16;
  readonly headerLength: number;
  /** Encrypted record body (ciphertext and tag) length. */
  readonly length: number;
}

/** Whether the byte at `off` starts a unified header (0b001xxxxx). */
export function isUnifiedHeader(firstByte: number): boolean {
  return (firstByte & 0xe0) === 0x20;
}

const CARRIES: Record<number, UnifiedHeaderRecord['carries']> = { 0: 'application_data', 1: 'early_data', 2: 'encrypted_handshake', 3: 'application_data' };

/** The record at `off`, or an Error saying why it is not one. `cidLength`: the CID length the receiver chose (0 if none). */
export function unifiedHeaderRecord(b: Uint8Array, off: number, cidLength = 0): UnifiedHeaderRecord | Error {
  const first = b[off];
  if (first === undefined || !isUnifiedHeader(first)) return new Error(`dtls13: offset ${off}: 0x${(first ?? 0).toString(16)} is not a unified header (0b001CSLEE)`);
  const hasCid = (first & 0x10) !== 0;
  const sequenceBits = (first & 0x08) !== 0 ? 16 : 8;
  const hasLength = (first & 0x04) !== 0;
  const epochBits = first & 0x03;
  if (hasCid && cidLength === 0) return new Error(`dtls13: offset ${off}: the record carries a Connection ID but its length is not known (give the length the receiver chose)`);
  const cidEnd = off + 1 + (hasCid ? cidLength : 0);
  const headerLength = cidEnd - off + sequenceBits / 8 + (hasLength ? 2 : 0);
  if (off + headerLength > b.length) return new Error(`dtls13: offset ${off}: ${b.length - off} bytes are shorter than the ${headerLength}-byte header`);
  const lengthAt = cidEnd + sequenceBits / 8;
  const length = hasLength ? ((b[lengthAt] as number) << 8) | (b[lengthAt + 1] as number) : b.length - off - headerLength;
  if (off + headerLength + length > b.length) return new Error(`dtls13: record at offset ${off} claims ${length} bytes, the datagram has ${b.length - off - headerLength}`);
  // The smallest AEAD tag is 8 bytes (CCM_8); a shorter body cannot be a DTLS 1.3 record.
  if (length < 9) return new Error(`dtls13: record at offset ${off} has ${length} bytes of body, less than a content type and an AEAD tag`);
  return { epochBits, carries: CARRIES[epochBits] as UnifiedHeaderRecord['carries'], ...(hasCid ? { cid: b.subarray(off + 1, cidEnd) } : {}), sequenceBits, headerLength, length };
}
