/**
 * The cloud service's own client identity. In containers it is a real MQTT subscriber of the
 * Mosquitto broker, which takes every client's username from its certificate CN
 * (`use_identity_as_username`); the ACL lets only this CN read the readings topics. Issued by
 * the run's intermediate CA like every other leaf; written 0600 next to the run's PKI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { issueCloudServiceIdentity } from '../certs/cloud-service-identity.ts';
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
