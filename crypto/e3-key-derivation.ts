/**
 * Per-device, per-epoch E3 key (docs/architecture.md §4 The E3 packet; source chapter §17.6 step 2: "Key exchange:
 * ECDH P-256 via device X.509 certificate", "Key rotation: Every 24 hours").
 *
 *   Z    = ECDH-P256(device key, cloud E3 key)            x-coordinate, 32 bytes (SEC 1 §3.3.1)
 *   key  = HKDF-SHA256(IKM = Z, salt = E3_HKDF_SALT, info, L)   (RFC 5869)
 *   info = "e3/v1" ‖ u8 len(alg) ‖ alg (ASCII) ‖ pseudonym (16) ‖ epoch (u32 BE)
 *   L    = 16 for aes-128-gcm, 32 for chacha20-poly1305
 *
 * Salt decision: both ends already share Z and have no channel to agree a random salt, so the
 * salt is a fixed, public, project-specific string. RFC 5869 §3.1 allows this ("a non-secret
 * salt … still adds significantly to the strength of HKDF") and it separates our keys from any
 * other protocol deriving from the same ECDH pair. Everything that must make keys differ goes
 * into info (RFC 5869 §3.2): protocol version, algorithm (so one secret is never used as both
 * an AES and a ChaCha key), pseudonym (one key per device identity) and epoch (24 h rotation).
 * The algorithm name carries a length prefix so the info string parses unambiguously.
 *
 * Two independent implementations that must agree (unit-tested): @noble/curves + @noble/hashes
 * on the device (software crypto, as on an MCU) and node:crypto (OpenSSL) in the cloud.
 */
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, KeyObject, X509Certificate } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, assertE3Algorithm, E3_PSEUDONYM_BYTES, e3KeyBytes, type E3Algorithm } from './e3-packet.ts';

/** HKDF salt: public, fixed, domain-separating (see the decision above). */
export const E3_HKDF_SALT: Uint8Array = new TextEncoder().encode('iot-e3e4-testbed/e3');
export const E3_HKDF_LABEL = 'e3/v1';
export const P256_SCALAR_BYTES = 32;
export const P256_UNCOMPRESSED_POINT_BYTES = 65;

/**
 * Which way a key protects traffic. Readings (device→cloud) keep the original label, so every
 * existing key and test vector is unchanged; commands (cloud→device) and the device's answers
 * to them get labels of their own. Why: both ends count their sequences from 1 and the nonce is
 * salt ‖ sequence, so one key for both directions would seal two different messages under the
 * same (key, nonce) — for GCM that leaks the XOR of the plaintexts and the authentication key
 * (RFC 5116 §5.1.1 "the nonce MUST be distinct for each invocation … for any fixed value of the
 * key"; NIST SP 800-38D §8; source chapter §17.6: E3 keys are per device and purpose). A label per
 * direction in HKDF info (RFC 5869 §3.2) makes the keys independent at no cost.
 */
export type E3Channel = 'readings' | 'commands' | 'responses';
export const E3_CHANNEL_LABELS: Readonly<Record<E3Channel, string>> = { readings: E3_HKDF_LABEL, commands: 'e3/v1/cloud-to-device', responses: 'e3/v1/device-responses' };

/** The HKDF info string binding protocol version, algorithm, pseudonym and epoch. */
export function e3KeyInfo(algorithm: E3Algorithm, pseudonym: Uint8Array, epoch: number, channel: E3Channel = 'readings'): Uint8Array {
  assertE3Algorithm(algorithm);
  if (!Object.hasOwn(E3_CHANNEL_LABELS, channel)) throw new Error(`e3-keys: unknown channel ${JSON.stringify(channel)}; use readings, commands or responses`);
  assertBytes('pseudonym', pseudonym, E3_PSEUDONYM_BYTES);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff_ffff) {
    throw new Error(`e3-keys: epoch must be a whole number in 0..2^32-1 (floor(timestamp / 86400)), got ${epoch}`);
  }
  const label = new TextEncoder().encode(E3_CHANNEL_LABELS[channel]);
  const alg = new TextEncoder().encode(algorithm);
  const info = new Uint8Array(label.length + 1 + alg.length + E3_PSEUDONYM_BYTES + 4);
  let at = 0;
  info.set(label, at);
  at += label.length;
  info[at++] = alg.length;
  info.set(alg, at);
  at += alg.length;
  info.set(pseudonym, at);
  at += E3_PSEUDONYM_BYTES;
  new DataView(info.buffer).setUint32(at, epoch, false);
  return info;
}

export interface NobleDerivationArgs {
  devicePrivateKey: Uint8Array; // 32-byte scalar
  cloudPublicKey: Uint8Array; // 65-byte uncompressed SEC1 point
  pseudonym: Uint8Array;
  epoch: number;
  algorithm: E3Algorithm;
  /** Readings when absent (see E3Channel). */
  channel?: E3Channel;
}

/** Device side: @noble/curves ECDH + @noble/hashes HKDF. */
export function deriveDeviceKeyNoble(args: NobleDerivationArgs): Uint8Array {
  const info = e3KeyInfo(args.algorithm, args.pseudonym, args.epoch, args.channel);
  if (!(args.devicePrivateKey instanceof Uint8Array) || args.devicePrivateKey.length !== P256_SCALAR_BYTES) {
    throw new Error(`e3-keys: device private key must be a ${P256_SCALAR_BYTES}-byte P-256 scalar; convert a PEM with rawP256PrivateKey()`);
  }
  if (!(args.cloudPublicKey instanceof Uint8Array) || args.cloudPublicKey.length !== P256_UNCOMPRESSED_POINT_BYTES || args.cloudPublicKey[0] !== 0x04) {
    throw new Error(`e3-keys: cloud public key must be a ${P256_UNCOMPRESSED_POINT_BYTES}-byte uncompressed P-256 point (0x04 ‖ x ‖ y); convert a PEM with rawP256PublicKey()`);
  }
  // getSharedSecret returns the shared point, compressed (0x02/0x03 ‖ x); ECDH's Z is x alone,
  // which is also what OpenSSL's ECDH (node:crypto diffieHellman) returns.
  const point = p256.getSharedSecret(args.devicePrivateKey, args.cloudPublicKey, true);
  try {
    return hkdf(sha256, point.subarray(1), E3_HKDF_SALT, info, e3KeyBytes(args.algorithm));
  } finally {
    point.fill(0);
  }
}

export interface NodeDerivationArgs {
  cloudPrivateKey: KeyObject;
  devicePublicKey: KeyObject;
  pseudonym: Uint8Array;
  epoch: number;
  algorithm: E3Algorithm;
  /** Readings when absent (see E3Channel). */
  channel?: E3Channel;
}

/** Cloud side: node:crypto diffieHellman + hkdfSync (OpenSSL). */
export function deriveDeviceKeyNode(args: NodeDerivationArgs): Buffer {
  const info = e3KeyInfo(args.algorithm, args.pseudonym, args.epoch, args.channel);
  assertP256Key('cloud private key', args.cloudPrivateKey, 'private');
  assertP256Key('device public key', args.devicePublicKey, 'public');
  const z = diffieHellman({ privateKey: args.cloudPrivateKey, publicKey: args.devicePublicKey });
  try {
    return Buffer.from(hkdfSync('sha256', z, E3_HKDF_SALT, info, e3KeyBytes(args.algorithm)));
  } finally {
    z.fill(0);
  }
}

/**
 * Keys already found to be P-256 of the right type. A KeyObject never changes, so one check per
 * object is enough; asymmetricKeyDetails builds a fresh object per read, which the cloud paid on
 * every derivation (5 % of its thread when a fleet of 5,000 derived its first keys).
 */
const checkedP256 = new WeakSet<KeyObject>();

function assertP256Key(what: string, key: KeyObject, type: 'private' | 'public'): void {
  if (key instanceof KeyObject && checkedP256.has(key) && key.type === type) return;
  if (!(key instanceof KeyObject) || key.type !== type) {
    throw new Error(`e3-keys: ${what} must be a ${type} KeyObject (createPrivateKey/createPublicKey from a PEM)`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
    throw new Error(`e3-keys: ${what} must be an EC P-256 (prime256v1) key, got ${curve}`);
  }
  checkedP256.add(key);
}

function base64UrlToBytes(value: string | undefined, what: string): Uint8Array {
  if (value === undefined) throw new Error(`e3-keys: JWK export lacks ${what}`);
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length === length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}

/** PKCS#8 or SEC1 ("EC PRIVATE KEY") PEM → 32-byte scalar, for the noble device side. */
export function rawP256PrivateKey(pem: string | Buffer): Uint8Array {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`e3-keys: cannot read the private key PEM (expected PKCS#8 or SEC1 P-256): ${(err as Error).message}`);
  }
  assertP256Key('private key', key, 'private');
  return leftPad(base64UrlToBytes(key.export({ format: 'jwk' }).d, 'd'), P256_SCALAR_BYTES);
}

/** SPKI PEM, X.509 certificate PEM or KeyObject → 65-byte uncompressed point (0x04 ‖ x ‖ y). */
export function rawP256PublicKey(pemKeyOrCertificate: string | Buffer | KeyObject): Uint8Array {
  let key: KeyObject;
  try {
    if (pemKeyOrCertificate instanceof KeyObject) {
      key = pemKeyOrCertificate.type === 'private' ? createPublicKey(pemKeyOrCertificate) : pemKeyOrCertificate;
    } else if (pemKeyOrCertificate.toString().includes('-----BEGIN CERTIFICATE-----')) {
      key = new X509Certificate(pemKeyOrCertificate).publicKey;
    } else {
      key = createPublicKey(pemKeyOrCertificate);
    }
  } catch (err) {
    throw new Error(`e3-keys: cannot read the public key (expected SPKI PEM, X.509 certificate PEM or KeyObject): ${(err as Error).message}`);
  }
  assertP256Key('public key', key, 'public');
  const jwk = key.export({ format: 'jwk' });
  const out = new Uint8Array(P256_UNCOMPRESSED_POINT_BYTES);
  out[0] = 0x04;
  out.set(leftPad(base64UrlToBytes(jwk.x, 'x'), 32), 1);
  out.set(leftPad(base64UrlToBytes(jwk.y, 'y'), 32), 33);
  return out;
}
