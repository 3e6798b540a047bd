/**
 * E3 packet layout: the 96-byte device-to-cloud packet of the source chapter's worked example
 * (§17.6 step 2; docs/architecture.md §4 The E3 packet). This module only knows where the fields are; sealing and
 * opening live in e3-sealer.ts (device, @noble/ciphers) and e3-opener.ts (cloud, node:crypto).
 *
 * | offset | size | field                                   | protection                |
 * |      0 |   16 | patient pseudonym                       | AAD (clear, authenticated) |
 * |     16 |    4 | timestamp, u32 big-endian seconds       | AAD; selects the key epoch |
 * |     20 |   48 | reading                                 | encrypted                  |
 * |     68 |   12 | nonce = 4-byte salt ‖ 8-byte BE sequence | (input to the AEAD)        |
 * |     80 |   16 | AEAD tag                                |                            |
 */

export const E3_PACKET_BYTES = 96;
export const E3_PSEUDONYM_BYTES = 16;
export const E3_TIMESTAMP_BYTES = 4;
export const E3_CIPHERTEXT_BYTES = 48;
export const E3_SALT_BYTES = 4;
export const E3_SEQUENCE_BYTES = 8;
export const E3_NONCE_BYTES = 12;
export const E3_TAG_BYTES = 16;

export const E3_PSEUDONYM_OFFSET = 0;
export const E3_TIMESTAMP_OFFSET = 16;
/** AAD = pseudonym ‖ timestamp: both travel in clear but any change breaks the tag. */
export const E3_AAD_OFFSET = 0;
export const E3_AAD_BYTES = 20;
export const E3_CIPHERTEXT_OFFSET = 20;
export const E3_NONCE_OFFSET = 68;
export const E3_SALT_OFFSET = 68;
export const E3_SEQUENCE_OFFSET = 72;
export const E3_TAG_OFFSET = 80;

/** Key rotation period: "Key rotation: Every 24 hours" (source chapter §17.6 step 2). */
export const E3_EPOCH_SECONDS = 86_400;
/** Largest 64-bit sequence number. */
export const E3_MAX_SEQUENCE = (1n << 64n) - 1n;
/** Largest u32 timestamp (year 2106). */
export const E3_MAX_TIMESTAMP = 0xffff_ffff;

export type E3Algorithm = 'aes-128-gcm' | 'chacha20-poly1305';
export const E3_ALGORITHMS: readonly E3Algorithm[] = ['aes-128-gcm', 'chacha20-poly1305'];

export interface E3Header {
  pseudonym: Uint8Array;
  timestamp: number;
  salt: Uint8Array;
  sequence: bigint;
}

/** Key length in bytes for each AEAD: AES-128 takes 16, ChaCha20 (RFC 8439 §2.3) takes 32. */
export function e3KeyBytes(algorithm: E3Algorithm): 16 | 32 {
  switch (algorithm) {
    case 'aes-128-gcm':
      return 16;
    case 'chacha20-poly1305':
      return 32;
    default:
      throw new Error(`e3: unknown algorithm ${JSON.stringify(algorithm)}; use one of ${E3_ALGORITHMS.join(', ')}`);
  }
}

export function assertE3Algorithm(algorithm: unknown): asserts algorithm is E3Algorithm {
  if (!E3_ALGORITHMS.includes(algorithm as E3Algorithm)) {
    throw new Error(`e3: unknown algorithm ${JSON.stringify(algorithm)}; use one of ${E3_ALGORITHMS.join(', ')}`);
  }
}

export function assertE3Key(key: Uint8Array, algorithm: E3Algorithm): void {
  assertE3Algorithm(algorithm);
  assertBytes(`${algorithm} key`, key, e3KeyBytes(algorithm));
}

export function assertPacketLength(packet: Uint8Array): void {
  if (packet.length !== E3_PACKET_BYTES) {
    throw new Error(`e3: packet must be ${E3_PACKET_BYTES} bytes, got ${packet.length}`);
  }
}

/** The key epoch a timestamp belongs to: one key per device per 24 h (source chapter §17.6 step 2). */
export function epochOf(timestampSec: number): number {
  assertTimestamp(timestampSec);
  return Math.floor(timestampSec / E3_EPOCH_SECONDS);
}

export function assertTimestamp(timestampSec: number): void {
  if (!Number.isInteger(timestampSec) || timestampSec < 0 || timestampSec > E3_MAX_TIMESTAMP) {
    throw new Error(`e3: timestamp must be whole seconds in 0..${E3_MAX_TIMESTAMP} (u32), got ${timestampSec}`);
  }
}

export function assertBytes(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new Error(`e3: ${what} must be ${length} bytes, got ${got}`);
  }
}

export function assertSequence(sequence: bigint): void {
  if (typeof sequence !== 'bigint' || sequence < 0n || sequence > E3_MAX_SEQUENCE) {
    throw new Error(`e3: sequence must be a bigint in 0..2^64-1, got ${String(sequence)}`);
  }
}

/** Reads the clear fields. The values are unauthenticated until the tag has been verified. */
export function parseE3Header(packet: Uint8Array): E3Header {
  assertPacketLength(packet);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    pseudonym: packet.slice(E3_PSEUDONYM_OFFSET, E3_PSEUDONYM_OFFSET + E3_PSEUDONYM_BYTES),
    timestamp: view.getUint32(E3_TIMESTAMP_OFFSET, false),
    salt: packet.slice(E3_SALT_OFFSET, E3_SALT_OFFSET + E3_SALT_BYTES),
    sequence: view.getBigUint64(E3_SEQUENCE_OFFSET, false),
  };
}

/**
 * Writes pseudonym, timestamp and nonce into a fresh 96-byte packet (ciphertext and tag are left
 * zero for the AEAD to fill). Validates every field, so a malformed header never gets sealed.
 */
export function writeE3Header(header: E3Header): Uint8Array {
  assertBytes('pseudonym', header.pseudonym, E3_PSEUDONYM_BYTES);
  assertTimestamp(header.timestamp);
  assertBytes('salt', header.salt, E3_SALT_BYTES);
  assertSequence(header.sequence);
  const packet = new Uint8Array(E3_PACKET_BYTES);
  packet.set(header.pseudonym, E3_PSEUDONYM_OFFSET);
  writeU32(packet, E3_TIMESTAMP_OFFSET, header.timestamp);
  packet.set(header.salt, E3_SALT_OFFSET);
  writeU32(packet, E3_SEQUENCE_OFFSET, Number(header.sequence >> 32n));
  writeU32(packet, E3_SEQUENCE_OFFSET + 4, Number(header.sequence & 0xffff_ffffn));
  return packet;
}

/** Big-endian u32 store, without a DataView per packet. */
function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/** Views (no copies) onto the AEAD inputs of a 96-byte packet. */
export function e3Parts(packet: Uint8Array): { aad: Uint8Array; ciphertext: Uint8Array; nonce: Uint8Array; tag: Uint8Array } {
  return {
    aad: packet.subarray(E3_AAD_OFFSET, E3_AAD_OFFSET + E3_AAD_BYTES),
    ciphertext: packet.subarray(E3_CIPHERTEXT_OFFSET, E3_CIPHERTEXT_OFFSET + E3_CIPHERTEXT_BYTES),
    nonce: packet.subarray(E3_NONCE_OFFSET, E3_NONCE_OFFSET + E3_NONCE_BYTES),
    tag: packet.subarray(E3_TAG_OFFSET, E3_TAG_OFFSET + E3_TAG_BYTES),
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of a pseudonym: the registry's lookup key and the audit log's identifier. */
export function pseudonymHex(p: Uint8Array): string {
  let out = '';
  for (let i = 0; i < p.length; i++) out += HEX[p[i] as number];
  return out;
}
