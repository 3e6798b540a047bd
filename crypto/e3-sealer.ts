/**
 * Device side of E3: seals 48-byte readings into 96-byte packets with @noble/ciphers only
 * (software AES-GCM / ChaCha20-Poly1305, as an MCU without OpenSSL would), with the per-epoch
 * key from e3-key-derivation.ts.
 *
 * Nonce = 4-byte device salt ‖ 8-byte big-endian sequence: the deterministic construction of
 * NIST SP 800-38D §8.2.1 (fixed field ‖ invocation field). §8 requires that a (key, nonce) pair
 * is never used twice; the sealer guarantees it by a sequence that only ever increases (the
 * caller persists `nextSequence` across restarts) and by refusing to seal once it is exhausted.
 * The sequence is NOT reset at epoch rotation, so nonces stay unique even across keys and the
 * cloud's replay window keeps working across the 24 h boundary.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { deriveDeviceKeyNoble, P256_SCALAR_BYTES, P256_UNCOMPRESSED_POINT_BYTES } from './e3-key-derivation.ts';
import {
  assertBytes,
  assertE3Algorithm,
  assertE3Key,
  assertPacketLength,
  assertSequence,
  E3_CIPHERTEXT_BYTES,
  E3_CIPHERTEXT_OFFSET,
  E3_MAX_SEQUENCE,
  E3_PSEUDONYM_BYTES,
  E3_SALT_BYTES,
  E3_TAG_OFFSET,
  E3_TAG_BYTES,
  e3Parts,
  epochOf,
  writeE3Header,
  type E3Algorithm,
  type E3Header,
} from './e3-packet.ts';
import { E3_READING_BYTES } from './e3-reading.ts';

export { sealE3Node } from './e3-node-aead.ts';

function nobleAead(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) {
  return algorithm === 'aes-128-gcm' ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
}

/** Seals a 48-byte reading into a 96-byte packet with @noble/ciphers. Pure: no state. */
export function sealE3(key: Uint8Array, algorithm: E3Algorithm, header: E3Header, reading: Uint8Array): Uint8Array {
  assertE3Key(key, algorithm);
  assertBytes('reading', reading, E3_READING_BYTES);
  const packet = writeE3Header(header);
  const { aad, nonce } = e3Parts(packet);
  const sealed = nobleAead(algorithm, key, nonce, aad).encrypt(reading); // ciphertext ‖ tag
  packet.set(sealed.subarray(0, E3_CIPHERTEXT_BYTES), E3_CIPHERTEXT_OFFSET);
  packet.set(sealed.subarray(E3_CIPHERTEXT_BYTES), E3_TAG_OFFSET);
  return packet;
}

/**
 * Opens a 96-byte packet with @noble/ciphers; throws 'e3: bad tag …' if it does not verify.
 * The device never opens E3 packets; this exists so tests can cross-check node:crypto's seal.
 */
export function openE3Noble(key: Uint8Array, algorithm: E3Algorithm, packet: Uint8Array): Uint8Array {
  assertE3Key(key, algorithm);
  assertPacketLength(packet);
  const { aad, ciphertext, nonce, tag } = e3Parts(packet);
  const sealed = new Uint8Array(E3_CIPHERTEXT_BYTES + E3_TAG_BYTES);
  sealed.set(ciphertext);
  sealed.set(tag, E3_CIPHERTEXT_BYTES);
  try {
    return nobleAead(algorithm, key, nonce, aad).decrypt(sealed);
  } catch (err) {
    throw new Error(`e3: bad tag; the packet was altered or sealed under another key (${(err as Error).message})`);
  }
}

export interface E3SealerOptions {
  pseudonym: Uint8Array;
  devicePrivateKey: Uint8Array;
  cloudPublicKey: Uint8Array;
  algorithm: E3Algorithm;
  salt: Uint8Array; // 4 bytes, fixed per device
  nextSequence: bigint; // persisted by the caller
}

/**
 * Stateful device sealer: one per device. Derives and caches the key of the current epoch.
 *
 * Decision: a timestamp from an OLDER epoch than one already used is refused. Nonce uniqueness
 * does not need this (the sequence is global), but the 24 h rotation (source chapter §17.6) is
 * meant to retire old keys: the sealer zeroes the previous epoch's key when it rotates and never
 * re-derives it, and a device clock that jumped back by a day is a fault to surface, not to
 * paper over. Going back within the current epoch is allowed (small clock corrections).
 */
export class E3Sealer {
  readonly #pseudonym: Uint8Array;
  readonly #devicePrivateKey: Uint8Array;
  readonly #cloudPublicKey: Uint8Array;
  readonly #algorithm: E3Algorithm;
  readonly #salt: Uint8Array;
  #sequence: bigint;
  #epoch: number | undefined;
  #key: Uint8Array | undefined;
  #destroyed = false;

  constructor(opts: E3SealerOptions) {
    assertE3Algorithm(opts.algorithm);
    assertBytes('pseudonym', opts.pseudonym, E3_PSEUDONYM_BYTES);
    assertBytes('salt', opts.salt, E3_SALT_BYTES);
    assertBytes('device private key (P-256 scalar; see rawP256PrivateKey)', opts.devicePrivateKey, P256_SCALAR_BYTES);
    assertBytes('cloud public key (uncompressed P-256 point; see rawP256PublicKey)', opts.cloudPublicKey, P256_UNCOMPRESSED_POINT_BYTES);
    assertSequence(opts.nextSequence);
    // Copies, so a caller mutating its buffers cannot change the identity or nonce prefix mid-run.
    this.#pseudonym = opts.pseudonym.slice();
    this.#devicePrivateKey = opts.devicePrivateKey.slice();
    this.#cloudPublicKey = opts.cloudPublicKey.slice();
    this.#salt = opts.salt.slice();
    this.#algorithm = opts.algorithm;
    this.#sequence = opts.nextSequence;
  }

  /** The sequence the next seal will use; persist it before sending the packet just sealed. */
  get nextSequence(): bigint {
    return this.#sequence;
  }

  get algorithm(): E3Algorithm {
    return this.#algorithm;
  }

  /** Seals a 48-byte reading stamped with timestampSec (u32 seconds); returns 96 bytes. */
  seal(reading: Uint8Array, timestampSec: number): Uint8Array {
    if (this.#destroyed) throw new Error('e3-sealer: this sealer was destroyed; create a new one with the persisted nextSequence');
    const epoch = epochOf(timestampSec);
    if (this.#epoch !== undefined && epoch < this.#epoch) {
      throw new Error(
        `e3-sealer: timestamp ${timestampSec} is in key epoch ${epoch}, older than epoch ${this.#epoch} already used; ` +
          'retired keys are not re-derived, fix the device clock',
      );
    }
    // The last 64-bit value is never used, so `nextSequence` always fits in the persisted u64.
    if (this.#sequence >= E3_MAX_SEQUENCE) {
      throw new Error('e3-sealer: sequence space exhausted (2^64-1 reached); provision a new device salt or key before sealing again');
    }
    const key = this.#keyFor(epoch);
    const packet = sealE3(key, this.#algorithm, { pseudonym: this.#pseudonym, timestamp: timestampSec, salt: this.#salt, sequence: this.#sequence }, reading);
    this.#sequence += 1n;
    return packet;
  }

  /** Zeroes the cached key and the private key copy; the sealer is unusable afterwards. */
  destroy(): void {
    this.#key?.fill(0);
    this.#key = undefined;
    this.#devicePrivateKey.fill(0);
    this.#destroyed = true;
  }

  #keyFor(epoch: number): Uint8Array {
    if (this.#key !== undefined && this.#epoch === epoch) return this.#key;
    const key = deriveDeviceKeyNoble({
      devicePrivateKey: this.#devicePrivateKey,
      cloudPublicKey: this.#cloudPublicKey,
      pseudonym: this.#pseudonym,
      epoch,
      algorithm: this.#algorithm,
    });
    this.#key?.fill(0); // rotation retires the previous epoch's key
    this.#key = key;
    this.#epoch = epoch;
    return key;
  }
}
