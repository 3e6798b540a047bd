/**
 * The cloud service's own client identity. In containers it is a real MQTT subscriber of the
 * Mosquitto broker, which takes every client's username from its certificate CN
 * (`use_identity_as_username`); the ACL lets only this CN read the readings topics. Issued by
 * the run's intermediate CA like every other leaf; written 0600 next to the run's PKI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate } from '../certs/certificate-profile.ts';
import { CLOUD_SERVICE_CN, wearableProfile } from '../certs/genuine-profiles.ts';
import { issuerFromPem } from '../certs/pki.ts';
import { readPem, type PkiPaths } from '../certs/pki-files.ts';

export interface ClientIdentityFiles {
  readonly cert: string;
  readonly key: string;
  readonly chain: string;
}

/** `commonName`: another client of the cloud's own unit (e.g. its DTLS endpoint in front of Mosquitto). */
export async function writeCloudServiceIdentity(pki: PkiPaths, outDir: string, now = new Date(), commonName = CLOUD_SERVICE_CN): Promise<ClientIdentityFiles> {
  const intermediateCert = readPem(pki.intermediateCert, 'the intermediate CA certificate');
  const issued = await issueCloudServiceIdentity({ certPem: intermediateCert, keyPem: readPem(pki.caKeys.intermediate, 'the intermediate CA key') }, now, commonName);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const files = { cert: join(outDir, 'client.crt'), key: join(outDir, 'client.key'), chain: join(outDir, 'client-chain.crt') };
  writeFileSync(files.cert, issued.certPem, { mode: 0o644 });
  writeFileSync(files.key, issued.keyPem, { mode: 0o600 });
  writeFileSync(files.chain, issued.chainPem, { mode: 0o644 });
  return files;
}

/** The cloud service's client certificate and key, in memory (the local placement's subscriber); `chainPem`: the leaf and the intermediate. */
export async function issueCloudServiceIdentity(intermediateCa: { certPem: string; keyPem: string }, now = new Date(), commonName = CLOUD_SERVICE_CN): Promise<{ certPem: string; keyPem: string; chainPem: string }> {
  const issuer = issuerFromPem(intermediateCa, 'the intermediate CA');
  const device = wearableProfile(issuer, commonName, { validity: { notBeforeOffsetMs: -60 * 60_000, notAfterOffsetMs: issuer.certificate.notAfter.getTime() - now.getTime() } });
  // A TLS client like a wearable (clientAuth, P-256), but in the cloud's unit and with a
  // digitalSignature-only key: it signs its TLS handshakes and never does E3 key agreement.
  const issued = await issueCertificate(
    {
      ...device,
      label: `the ${commonName} client certificate`,
      subject: { ...device.subject, commonName, organizationalUnit: 'cloud' },
      keyUsage: { usages: ['digitalSignature'], critical: true },
    },
    now,
  );
  return { certPem: issued.certPem, keyPem: issued.keyPem, chainPem: issued.certPem + intermediateCa.certPem };
}
