// Re-signs an RSA certificate with MD5 (md5WithRSAEncryption, RFC 3279 §2.2.1), for the
// `md5-signature` forged case. WebCrypto has no MD5 and @peculiar/x509 no MD5 signature OID, so
// the certificate is first issued with sha256WithRSAEncryption and then rewritten: both OIDs
// are nine content octets, so swapping them changes no DER length; the TBSCertificate is then
// signed again with node:crypto's MD5 and the signature (as long as the RSA modulus) replaced.
// ECDSA has no MD5 variant at all (RFC 5758 §3.2 defines ecdsa-with-SHA224 and up only).
import { sign, type KeyObject } from 'node:crypto';

const SHA256_WITH_RSA = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]);
const MD5_WITH_RSA = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04]);

/**
 * `der` must be an RSA-signed certificate with sha256WithRSAEncryption (what issueCertificate
 * makes for an RSA issuer); `issuerKey` the RSA key that signed it.
 */
export function resignWithMd5(der: Uint8Array, issuerKey: KeyObject): Uint8Array {
  const modulusBits = issuerKey.asymmetricKeyDetails?.modulusLength;
  if (issuerKey.asymmetricKeyType !== 'rsa' || modulusBits === undefined || modulusBits % 8 !== 0) {
    throw new Error('md5-signature: the issuer key must be RSA; ECDSA has no MD5 signature algorithm (RFC 5758 §3.2)');
  }
  const cert = Buffer.from(der);
  const outer = readTlv(cert, 0);
  const tbs = readTlv(cert, outer.headerLength);
  const tbsEnd = outer.headerLength + tbs.headerLength + tbs.length;
  const signatureLength = modulusBits / 8;
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signatureValue }
  // (RFC 5280 §4.1); the BIT STRING ends the certificate, its first content octet is 0 unused bits.
  if (outer.headerLength + outer.length !== cert.length || cert[cert.length - signatureLength - 1] !== 0x00) {
    throw new Error('md5-signature: not a DER certificate ending in an RSA signature of the issuer key size');
  }
  const positions = occurrences(cert, SHA256_WITH_RSA);
  // Exactly two: TBSCertificate.signature and Certificate.signatureAlgorithm (RFC 5280 §4.1.1.2
  // requires them to match); the subject key itself is plain rsaEncryption.
  if (positions.length !== 2 || (positions[0] ?? 0) >= tbsEnd || (positions[1] ?? 0) < tbsEnd) {
    throw new Error(`md5-signature: expected sha256WithRSAEncryption once in the TBS and once after it, found ${positions.length}`);
  }
  for (const at of positions) MD5_WITH_RSA.copy(cert, at);
  const signature = sign('md5', cert.subarray(outer.headerLength, tbsEnd), issuerKey);
  signature.copy(cert, cert.length - signatureLength);
  return new Uint8Array(cert);
}

/** A DER tag-length header at `offset` (RFC 5280 uses definite lengths only, X.690 §10.1). */
function readTlv(der: Buffer, offset: number): { headerLength: number; length: number } {
  const first = der[offset + 1];
  if (der[offset] !== 0x30 || first === undefined) throw new Error('md5-signature: expected a DER SEQUENCE');
  if (first < 0x80) return { headerLength: 2, length: first };
  const octets = first & 0x7f;
  if (octets < 1 || octets > 3) throw new Error('md5-signature: unsupported DER length');
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + (der[offset + 2 + i] ?? 0);
  return { headerLength: 2 + octets, length };
}

function occurrences(haystack: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at !== -1 && found.length < 8; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}
