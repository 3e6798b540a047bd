/**
 * E3 sealing and opening with node:crypto (OpenSSL): the cloud's implementation, and the
 * counterpart the tests and the benchmark cross-check the device's @noble/ciphers code against.
 * AES-128-GCM per NIST SP 800-38D, ChaCha20-Poly1305 per RFC 8439; 12-byte nonce, 16-byte tag,
 * AAD = pseudonym ‖ timestamp (packet bytes 0..20).
 */
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import {
  assertBytes,
  assertE3Key,
  assertPacketLength,
  E3_AAD_BYTES,
  E3_AAD_OFFSET,
  E3_CIPHERTEXT_BYTES,
  E3_CIPHERTEXT_OFFSET,
  E3_NONCE_BYTES,
  E3_NONCE_OFFSET,
  E3_TAG_BYTES,
  E3_TAG_OFFSET,
  writeE3Header,
  type E3Algorithm,
  type E3Header,
} from './e3-packet.ts';
import { E3_READING_BYTES } from './e3-reading.ts';

const AEAD_OPTIONS = { authTagLength: E3_TAG_BYTES } as const;

// CipherGCM and CipherChaCha20Poly1305 expose the same setAAD/getAuthTag surface; the union of
// overloads does not type-check with a union algorithm, hence the branch.
function nodeCipher(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array): CipherGCM {
  return algorithm === 'aes-128-gcm'
    ? createCipheriv('aes-128-gcm', key, nonce, AEAD_OPTIONS)
    : (createCipheriv('chacha20-poly1305', key, nonce, AEAD_OPTIONS) as unknown as CipherGCM);
}

function nodeDecipher(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array): DecipherGCM {
  return algorithm === 'aes-128-gcm'
    ? createDecipheriv('aes-128-gcm', key, nonce, AEAD_OPTIONS)
    : (createDecipheriv('chacha20-poly1305', key, nonce, AEAD_OPTIONS) as unknown as DecipherGCM);
}

/** Seals a 48-byte reading into a 96-byte packet with node:crypto. */
export function sealE3Node(key: Uint8Array, algorithm: E3Algorithm, header: E3Header, reading: Uint8Array): Uint8Array {
  assertE3Key(key, algorithm);
  assertBytes('reading', reading, E3_READING_BYTES);
  const packet = writeE3Header(header);
  const cipher = nodeCipher(algorithm, key, packet.subarray(E3_NONCE_OFFSET, E3_NONCE_OFFSET + E3_NONCE_BYTES));
  cipher.setAAD(packet.subarray(E3_AAD_OFFSET, E3_AAD_OFFSET + E3_AAD_BYTES));
  packet.set(cipher.update(reading), E3_CIPHERTEXT_OFFSET);
  cipher.final(); // stream modes: no trailing bytes
  packet.set(cipher.getAuthTag(), E3_TAG_OFFSET);
  return packet;
}

/**
 * Opens a 96-byte packet with node:crypto. Returns the 48-byte reading, or undefined when the
 * tag does not verify (wrong key, or any bit of AAD, ciphertext, nonce or tag changed). Reads
 * the packet through views, without copies; OpenSSL compares the tag in constant time.
 * Throws only on caller errors (wrong packet length, wrong key length).
 */
export function openE3Node(key: Uint8Array, algorithm: E3Algorithm, packet: Uint8Array): Buffer | undefined {
  assertPacketLength(packet);
  // Views in place (no e3Parts object): this is the cloud's per-packet hot path.
  const decipher = nodeDecipher(algorithm, key, packet.subarray(E3_NONCE_OFFSET, E3_NONCE_OFFSET + E3_NONCE_BYTES));
  decipher.setAAD(packet.subarray(E3_AAD_OFFSET, E3_AAD_OFFSET + E3_AAD_BYTES));
  decipher.setAuthTag(packet.subarray(E3_TAG_OFFSET, E3_TAG_OFFSET + E3_TAG_BYTES));
  const reading = decipher.update(packet.subarray(E3_CIPHERTEXT_OFFSET, E3_CIPHERTEXT_OFFSET + E3_CIPHERTEXT_BYTES));
  try {
    const rest = decipher.final();
    return rest.length === 0 ? reading : Buffer.concat([reading, rest]);
  } catch {
    reading.fill(0); // unauthenticated plaintext never leaves this function
    return undefined;
  }
}
