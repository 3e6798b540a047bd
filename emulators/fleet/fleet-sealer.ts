/**
 * The fleet device's E3 sealer. Same packet, same nonce rule and same 24 h key rotation as
 * crypto/e3-sealer.ts (source chapter §17.6; docs/architecture.md §4 The E3 packet), with one difference: the ECDH of the
 * key agreement runs in node:crypto (OpenSSL, ~0.1 ms) instead of @noble/curves (~17 ms in
 * JavaScript). A single wearable derives one key a day; a fleet of 5,000 in one process would
 * spend 85 s of CPU on it at start and again at every epoch roll-over. The AEAD still seals with
 * @noble/ciphers and the cloud opens with OpenSSL, so every reading still crosses two AEAD
 * implementations; the single-device scenarios keep the noble ECDH cross-check.
 *
 * Nonce = salt ‖ sequence; the sequence never restarts at rotation, so no nonce repeats under
 * any key (NIST SP 800-38D §8.2.1), and a timestamp from an epoch older than one already used is
 * refused (its key was retired).
 */
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { sealE3 } from '../../crypto/e3-sealer.ts';
import { E3_HKDF_SALT, e3KeyInfo } from '../../crypto/e3-key-derivation.ts';
import { E3_EPOCH_SECONDS, e3KeyBytes } from '../../crypto/e3-packet.ts';
import type { DeviceProvisioning } from '../provisioning.ts';

export interface ReadingSealer {
  readonly nextSequence: bigint;
  seal(reading: Uint8Array, timestampSec: number): Uint8Array;
}

export class FleetSealer implements ReadingSealer {
  readonly #deviceKeyPem: string;
  #deviceKey: KeyObject | undefined;
  readonly #cloudKey: KeyObject;
  readonly #pseudonym: Buffer;
  readonly #salt: Buffer;
  readonly #algorithm: DeviceProvisioning['algorithm'];
  #sequence = 1n;
  #epoch: number | undefined;
  #key: Buffer | undefined;

  /**
   * `cloudE3PublicKey`: the PEM, or one KeyObject a whole fleet shares (parsing it per device was
   * a second of a 5,000-device start). The device key is parsed at the first seal, not here, so a
   * shard of thousands is ready sooner.
   */
  constructor(provisioning: DeviceProvisioning, deviceKeyPem: string, cloudE3PublicKey: string | KeyObject) {
    this.#deviceKeyPem = deviceKeyPem;
    this.#cloudKey = typeof cloudE3PublicKey === 'string' ? createPublicKey(cloudE3PublicKey) : cloudE3PublicKey;
    this.#pseudonym = Buffer.from(provisioning.pseudonymHex, 'hex');
    this.#salt = Buffer.from(provisioning.saltHex, 'hex');
    this.#algorithm = provisioning.algorithm;
  }

  /**
   * Parse the device key now, as a wearable does once at power-on (Fleet.loadCredentials), not at
   * the first seal: OpenSSL 3 takes ~0.7 ms per PEM here, 3.6 s for 5,000, which landed in the
   * first reading round and put it behind (bench/fleet.ts profile, docs/benchmarks.md third pass).
   */
  loadKey(): KeyObject {
    return (this.#deviceKey ??= createPrivateKey(this.#deviceKeyPem));
  }

  get nextSequence(): bigint {
    return this.#sequence;
  }

  seal(reading: Uint8Array, timestampSec: number): Uint8Array {
    const epoch = Math.floor(timestampSec / E3_EPOCH_SECONDS);
    if (this.#epoch !== undefined && epoch < this.#epoch) throw new Error(`fleet-sealer: timestamp ${timestampSec} is in key epoch ${epoch}, older than epoch ${this.#epoch} already used; fix the device clock`);
    const packet = sealE3(this.#keyFor(epoch), this.#algorithm, { pseudonym: this.#pseudonym, timestamp: timestampSec, salt: this.#salt, sequence: this.#sequence }, reading);
    this.#sequence += 1n;
    return packet;
  }

  /** RFC 5869 HKDF-SHA256 over the P-256 ECDH secret, info binding pseudonym and epoch (e3-key-derivation.ts). */
  #keyFor(epoch: number): Buffer {
    if (this.#key && this.#epoch === epoch) return this.#key;
    const z = diffieHellman({ privateKey: this.loadKey(), publicKey: this.#cloudKey });
    const key = Buffer.from(hkdfSync('sha256', z, E3_HKDF_SALT, e3KeyInfo(this.#algorithm, this.#pseudonym, epoch), e3KeyBytes(this.#algorithm)));
    z.fill(0);
    this.#key?.fill(0); // rotation retires the previous epoch's key
    this.#key = key;
    this.#epoch = epoch;
    return key;
  }
}
