// Certificate revocation lists for the per-run PKI (RFC 5280 §5), so that clients which check
// revocation (node:tls `crl`, `openssl verify -crl_check`, `openssl s_client -CRL f -crl_check`)
// can be shown the `revoked` forged case. Each CA signs its own CRL with its own key: the
// intermediate lists the revoked leaves; the root's CRL is empty but must exist, because node:tls
// sets X509_V_FLAG_CRL_CHECK_ALL when given any CRL and then demands a CRL for every CA in the
// chain ("unable to get certificate CRL" otherwise).
import { x509 } from './x509.ts';
import { HOUR_MS, DAY_MS, type Issuer } from './certificate-profile.ts';
import { webCryptoSigner } from './keys.ts';

/** id-ce-cRLNumber, RFC 5280 §5.2.3: conforming CAs MUST include it. */
const CRL_NUMBER_OID = '2.5.29.20';
/** How long a CRL claims to be current (RFC 5280 §5.1.2.5 nextUpdate): a run never outlasts it. */
export const CRL_LIFETIME_MS = 7 * DAY_MS;

export interface CrlOptions {
  /** Upper-case or lower-case hex serials of the certificates to list as revoked. */
  revokedSerials: string[];
  now: Date;
}

/**
 * A v2 CRL signed by `issuer` (which must hold cRLSign, RFC 5280 §4.2.1.3) listing
 * `revokedSerials` with reason keyCompromise — an attacker holding the key is the point.
 * thisUpdate is an hour back, as certificates' notBefore is, for peers whose clock lags.
 */
export async function issueCrl(issuer: Issuer, o: CrlOptions): Promise<x509.X509Crl> {
  for (const serial of o.revokedSerials) {
    if (!/^[0-9A-Fa-f]{2,40}$/.test(serial)) {
      throw new Error(`crl: revoked serial ${JSON.stringify(serial)} must be 1 to 20 octets of hex (RFC 5280 §4.1.2.2)`);
    }
  }
  const thisUpdate = new Date(o.now.getTime() - HOUR_MS);
  const signer = await webCryptoSigner(issuer.key, 'SHA-256');
  const ski = issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  // RFC 5280 §5.2.1: the AKI MUST be in a CRL; it lets the verifier pick the right CA key.
  const extensions: x509.Extension[] = ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId)] : [];
  extensions.push(new x509.Extension(CRL_NUMBER_OID, false, derInteger(crlNumber(o.now))));
  return x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subjectName,
    thisUpdate,
    nextUpdate: new Date(o.now.getTime() + CRL_LIFETIME_MS),
    entries: o.revokedSerials.map((serialNumber) => ({
      serialNumber: serialNumber.toUpperCase(),
      revocationDate: thisUpdate,
      reason: x509.X509CrlReason.keyCompromise,
    })),
    extensions,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
  });
}

/**
 * PEM with the label RFC 7468 §6 gives CRLs, "X509 CRL" — what OpenSSL (and so node:tls)
 * reads; @peculiar/x509's own toString('pem') writes "CRL", which OpenSSL cannot load.
 */
export function crlPem(crl: x509.X509Crl): string {
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL') + '\n';
}

/**
 * CRL numbers must increase monotonically per CA (RFC 5280 §5.2.3); seconds since the epoch do
 * so across runs without keeping state.
 */
function crlNumber(now: Date): number {
  return Math.max(1, Math.floor(now.getTime() / 1000));
}

/** DER INTEGER for a non-negative safe integer (big-endian, with a 0x00 pad when the top bit is set). */
function derInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  for (let i = 0; i < 8 && (rest > 0 || bytes.length === 0); i += 1) {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  }
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]);
}
