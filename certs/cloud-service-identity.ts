/**
 * The cloud service's own client identity (CN=cloud-service, OU=cloud): the one client the brokers
 * let read the readings (emulators/cloud/cloud-broker.ts #maySubscribe; Mosquitto's ACL with
 * `use_identity_as_username`, containers/cloud-broker-container.ts). Issued by the run's
 * intermediate CA like every other leaf, in memory; containers/cloud-service-identity.ts writes it
 * to disk for a container.
 */
import { issueCertificate } from './certificate-profile.ts';
import { CLOUD_SERVICE_CN, wearableProfile } from './genuine-profiles.ts';
import { issuerFromPem } from './pki.ts';

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
