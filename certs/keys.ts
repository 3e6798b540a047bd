// Key pairs for the per-run PKI: generation, PEM import/export, and the WebCrypto view that
// @peculiar/x509 signs with. Keys are held as node:crypto KeyObjects (OpenSSL) and converted to
// WebCrypto CryptoKeys only at signing time, because a WebCrypto RSA key carries its hash: a
// SHA-1-signed forged certificate needs the same RSA key imported with SHA-1 (RsaHashedImportParams
// binds the hash to the key in the W3C Web Cryptography API).
import { generateKeyPair as generateNodeKeyPair, createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { promisify } from 'node:util';

const generateNodeKeyPairAsync = promisify(generateNodeKeyPair);

/** The algorithms the genuine PKI offers for CA, server and gateway keys. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

/**
 * What kind of key a profile wants. RSA sizes are free so that forged cases can ask for weak
 * ones (`rsa-1024`); ECDSA is P-256 only, the curve of the source chapter's ATECC608B.
 */
export type KeySpec = { kind: 'ec'; curve: 'P-256' } | { kind: 'rsa'; modulusBits: number };

/** Signature hashes WebCrypto can produce for certificate signatures (MD5 it cannot; see README). */
export type SignatureHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface KeyPair {
  spec: KeySpec;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Smallest RSA modulus accepted at all: 1024 is allowed only so forged cases can demonstrate it. */
const MIN_RSA_BITS = 1024;
const MAX_RSA_BITS = 8192;

export function keySpecFor(algorithm: KeyAlgorithm): KeySpec {
  switch (algorithm) {
    case 'ecdsa-p256':
      return { kind: 'ec', curve: 'P-256' };
    case 'rsa-2048':
      return { kind: 'rsa', modulusBits: 2048 };
    default:
      throw new Error(`certs: unknown key algorithm ${JSON.stringify(algorithm)}; use 'ecdsa-p256' or 'rsa-2048'`);
  }
}

export function describeKeySpec(spec: KeySpec): string {
  return spec.kind === 'ec' ? `ECDSA ${spec.curve}` : `RSA ${spec.modulusBits}`;
}

export async function generateKeyPair(spec: KeySpec): Promise<KeyPair> {
  if (spec.kind === 'ec') {
    const { privateKey, publicKey } = await generateNodeKeyPairAsync('ec', { namedCurve: 'P-256' });
    return { spec, privateKey, publicKey };
  }
  if (!Number.isInteger(spec.modulusBits) || spec.modulusBits < MIN_RSA_BITS || spec.modulusBits > MAX_RSA_BITS) {
    throw new Error(
      `certs: RSA modulus must be an integer between ${MIN_RSA_BITS} and ${MAX_RSA_BITS} bits, got ${spec.modulusBits}`,
    );
  }
  const { privateKey, publicKey } = await generateNodeKeyPairAsync('rsa', {
    modulusLength: spec.modulusBits,
    publicExponent: 0x10001,
  });
  return { spec, privateKey, publicKey };
}

/** Rebuilds a KeyPair from a PKCS#8 (or SEC1/PKCS#1) private key PEM, e.g. a CA key read from disk. */
export function keyPairFromPrivatePem(pem: string, what: string): KeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`certs: ${what} is not a readable private key (${(error as Error).message}); regenerate it with \`testbed pki --out DIR\``);
  }
  return { spec: specOfKey(privateKey, what), privateKey, publicKey: createPublicKey(privateKey) };
}

function specOfKey(key: KeyObject, what: string): KeySpec {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return { kind: 'ec', curve: 'P-256' };
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength !== undefined) {
    return { kind: 'rsa', modulusBits: details.modulusLength };
  }
  throw new Error(
    `certs: ${what} is a ${key.asymmetricKeyType ?? 'unknown'} key ${details?.namedCurve ?? ''}; only ECDSA P-256 and RSA keys are supported`,
  );
}

/** PKCS#8 PEM (the unencrypted "PRIVATE KEY" label), the one private-key format every consumer here reads. */
export function privateKeyPem(pair: KeyPair): string {
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). */
export function publicKeyPem(pair: KeyPair): string {
  return pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

export function publicKeySpkiDer(pair: KeyPair): Uint8Array {
  return new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
}

/** The WebCrypto key and algorithm @peculiar/x509 needs to sign a certificate with `pair` and `hash`. */
export async function webCryptoSigner(
  pair: KeyPair,
  hash: SignatureHash,
): Promise<{ key: webcrypto.CryptoKey; algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams }> {
  const pkcs8 = new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' }));
  if (pair.spec.kind === 'ec') {
    const key = await globalThis.crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
    ]);
    return { key, algorithm: { name: 'ECDSA', hash } };
  }
  // PKCS#1 v1.5 rather than PSS: it is what TLS stacks and the source chapter's devices verify in
  // certificate chains (RFC 8446 §4.2.3 still allows rsa_pkcs1_* for certificate signatures).
  const algorithm: webcrypto.RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash };
  const key = await globalThis.crypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
  return { key, algorithm };
}
