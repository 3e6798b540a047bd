// Writes a generated PKI to a directory, finds its files again, and reads PEM files with errors
// that say which file was meant and how to fix it. Private keys are written 0600 in 0700
// directories, atomically (temporary file created 0600, then renamed), so a key is never
// readable by others even for a moment, nor half-written.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirectories } from './output-directory.ts';
import { join, resolve } from 'node:path';
import { fingerprintSha256 } from './certificate-profile.ts';
import { x509 } from './x509.ts';
import { assertDeviceId, type IssuedCertificate, type Pki } from './pki.ts';

export interface PkiPaths {
  dir: string;
  /** The root CA certificate: the trust anchor every role is configured with. */
  caCert: string;
  /** Root + intermediate, for peers that want the whole CA set in one file. */
  caBundle: string;
  cloud: { cert: string; key: string; chain: string };
  cloudE3: { privateKey: string; publicKey: string };
  gateway: { cert: string; key: string; chain: string };
  wearable(deviceId: string): { cert: string; key: string; chain: string };
  wearableIds: string[];
  /** Root and intermediate CA keys (ca/private/), needed only to issue more certificates. */
  caKeys: { root: string; intermediate: string };
  intermediateCert: string;
  manifest: string;
  readme: string;
}

/** pki.json: paths (relative to the directory), subjects, serials and fingerprints; never key material. */
interface PkiManifest {
  format: typeof MANIFEST_FORMAT;
  warning: string;
  createdAt: string;
  rootCa: CertificateSummary;
  intermediateCa: CertificateSummary;
  cloud: CertificateSummary;
  gateway: CertificateSummary;
  cloudE3: { privateKey: string; publicKey: string };
  caBundle: string;
  wearableIds: string[];
  wearables: Record<string, CertificateSummary>;
}

interface CertificateSummary {
  subjectCn: string;
  serialHex: string;
  fingerprintSha256: string;
  notAfter: string;
  files: Record<string, string>;
}

const MANIFEST_FORMAT = 'iot-e3e4-testbed-pki/1';
const MANIFEST = 'pki.json';
const FIX = 'run `testbed pki --out DIR` or check the path/permissions';
const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

const LAYOUT = {
  rootCert: 'ca/root.crt',
  intermediateCert: 'ca/intermediate.crt',
  caBundle: 'ca/bundle.crt',
  rootKey: 'ca/private/root.key',
  intermediateKey: 'ca/private/intermediate.key',
  cloud: { cert: 'cloud/server.crt', key: 'cloud/server.key', chain: 'cloud/server-chain.crt' },
  cloudE3: { privateKey: 'cloud/e3.key', publicKey: 'cloud/e3.pub' },
  gateway: { cert: 'gateway/gateway.crt', key: 'gateway/gateway.key', chain: 'gateway/gateway-chain.crt' },
  wearable: (id: string) => ({
    cert: `wearables/${id}/device.crt`,
    key: `wearables/${id}/device.key`,
    chain: `wearables/${id}/device-chain.crt`,
  }),
} as const;

const README = `IoT E3/E4 testbed — per-run PKI.  DO NOT TRUST – TESTING ONLY.

Everything here was generated for one test run. Never add these CAs to a system or browser
trust store, never reuse the keys outside the testbed, never commit this directory.

ca/root.crt                 root CA certificate: the trust anchor the roles are configured with
ca/intermediate.crt         intermediate CA (pathLen 0) that issued every leaf below
ca/bundle.crt               root + intermediate
ca/private/*.key            CA private keys (PKCS#8, mode 0600): only for issuing more certificates
cloud/server.crt, .key      cloud broker TLS server certificate and key (cloud.testbed.local, 127.0.0.1)
cloud/server-chain.crt      server certificate + intermediate, what the broker sends
cloud/e3.key, e3.pub        cloud E3 key pair (KMS stand-in): P-256 for ECDH with each device, not a TLS key
gateway/gateway.crt, .key   gateway certificate (serverAuth + clientAuth) and key; gateway-chain.crt adds the intermediate
wearables/<id>/device.*     one unique certificate (CN = device id, clientAuth) and P-256 key per wearable;
                            the same key signs for mTLS and does ECDH for E3, as a secure element would
pki.json                    paths, subjects, serials and fingerprints (no key material)

Regenerate with: testbed pki --out DIR
`;

export async function writePki(pki: Pki, outDir: string): Promise<PkiPaths> {
  const dir = resolve(outDir);
  const previous = claimDirectory(dir);
  const wearableIds = [...pki.wearables.keys()];
  for (const id of wearableIds) assertDeviceId(id);
  // Remove devices of the previous PKI in this directory that the new one does not have, so no
  // stale key can be mistaken for a current one. Only ids named in our own manifest are touched.
  for (const staleId of previous?.wearableIds.filter((id) => !pki.wearables.has(id)) ?? []) {
    assertDeviceId(staleId);
    rmSync(join(dir, 'wearables', staleId), { recursive: true, force: true });
  }

  const put = (relative: string, text: string, mode: number) => writeAtomically(dir, relative, text, mode);
  put(LAYOUT.rootCert, pki.rootCa.certPem, CERT_MODE);
  put(LAYOUT.intermediateCert, pki.intermediateCa.certPem, CERT_MODE);
  put(LAYOUT.caBundle, pki.rootCa.certPem + pki.intermediateCa.certPem, CERT_MODE);
  put(LAYOUT.rootKey, pki.rootCa.keyPem, KEY_MODE);
  put(LAYOUT.intermediateKey, pki.intermediateCa.keyPem, KEY_MODE);
  writeIssued(put, LAYOUT.cloud, pki.cloud);
  put(LAYOUT.cloudE3.privateKey, pki.cloudE3.privateKeyPem, KEY_MODE);
  put(LAYOUT.cloudE3.publicKey, pki.cloudE3.publicKeyPem, CERT_MODE);
  writeIssued(put, LAYOUT.gateway, pki.gateway);
  for (const [id, issued] of pki.wearables) writeIssued(put, LAYOUT.wearable(id), issued);
  put('README.txt', README, CERT_MODE);
  put(MANIFEST, JSON.stringify(manifestOf(pki), null, 2) + '\n', CERT_MODE);
  return pathsFor(dir, wearableIds);
}

export function pkiPaths(dir: string): PkiPaths {
  const absolute = resolve(dir);
  return pathsFor(absolute, readManifest(absolute).wearableIds);
}

/** Reads a PEM file. `what` names it for the error ("the wearable-0001 device key"). */
export function readPem(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? (error as Error).message})`;
    throw new Error(`certs: ${path}, ${what}, ${problem}; ${FIX}`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/.test(text)) {
    throw new Error(`certs: ${path}, ${what}, is not a PEM file (no BEGIN/END block); ${FIX}`);
  }
  return text;
}

/** Reads a PKI written by writePki back into memory, e.g. to issue more wearables from it. */
export function loadPki(dir: string): Pki {
  const paths = pkiPaths(dir);
  const manifest = readManifest(paths.dir);
  const intermediatePem = readPem(paths.intermediateCert, 'the intermediate CA certificate');
  const issued = (files: { cert: string; key: string }, what: string): IssuedCertificate => {
    const certPem = readPem(files.cert, `the ${what} certificate`);
    return {
      ...summaryOf(certPem),
      certPem,
      keyPem: readPem(files.key, `the ${what} key`),
      chainPem: certPem + intermediatePem,
    };
  };
  return {
    rootCa: { certPem: readPem(paths.caCert, 'the root CA certificate'), keyPem: readPem(paths.caKeys.root, 'the root CA key') },
    intermediateCa: { certPem: intermediatePem, keyPem: readPem(paths.caKeys.intermediate, 'the intermediate CA key') },
    cloud: issued(paths.cloud, 'cloud server'),
    cloudE3: {
      privateKeyPem: readPem(paths.cloudE3.privateKey, 'the cloud E3 private key'),
      publicKeyPem: readPem(paths.cloudE3.publicKey, 'the cloud E3 public key'),
    },
    gateway: issued(paths.gateway, 'gateway'),
    wearables: new Map(paths.wearableIds.map((id) => [id, issued(paths.wearable(id), `${id} device`)])),
    createdAt: new Date(manifest.createdAt),
  };
}

function pathsFor(dir: string, wearableIds: string[]): PkiPaths {
  const at = (relative: string) => join(dir, relative);
  const triple = (files: { cert: string; key: string; chain: string }) => ({ cert: at(files.cert), key: at(files.key), chain: at(files.chain) });
  const known = new Set(wearableIds);
  return {
    dir,
    caCert: at(LAYOUT.rootCert),
    caBundle: at(LAYOUT.caBundle),
    intermediateCert: at(LAYOUT.intermediateCert),
    caKeys: { root: at(LAYOUT.rootKey), intermediate: at(LAYOUT.intermediateKey) },
    cloud: triple(LAYOUT.cloud),
    cloudE3: { privateKey: at(LAYOUT.cloudE3.privateKey), publicKey: at(LAYOUT.cloudE3.publicKey) },
    gateway: triple(LAYOUT.gateway),
    wearable(deviceId: string) {
      assertDeviceId(deviceId);
      if (!known.has(deviceId)) {
        throw new Error(`certs: ${deviceId} has no certificate in the PKI at ${dir} (it has ${wearableIds.length} wearables); add it to the wearable ids and ${FIX}`);
      }
      return triple(LAYOUT.wearable(deviceId));
    },
    wearableIds: [...wearableIds],
    manifest: at(MANIFEST),
    readme: at('README.txt'),
  };
}

/**
 * Creates `dir` (0700) or accepts it if it is empty or holds a PKI we wrote before. Refuses any
 * other non-empty directory: `--out ~` by mistake must not scatter keys into a home directory.
 */
function claimDirectory(dir: string): PkiManifest | null {
  if (!existsSync(dir)) {
    makeDirectories(dir, DIR_MODE); // not mkdirSync's recursive mode: it spins forever under /proc (certs/output-directory.ts)
    chmodSync(dir, DIR_MODE);
    return null;
  }
  if (existsSync(join(dir, MANIFEST))) {
    chmodSync(dir, DIR_MODE);
    return readManifest(dir);
  }
  if (readdirSync(dir).length > 0) {
    throw new Error(`certs: ${dir} is not empty and holds no ${MANIFEST}; write the PKI to a new or empty directory`);
  }
  chmodSync(dir, DIR_MODE);
  return null;
}

function readManifest(dir: string): PkiManifest {
  const path = join(dir, MANIFEST);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`certs: ${path}, the PKI manifest, cannot be read (${(error as Error).message}); ${FIX}`);
  }
  const manifest = parsed as Partial<PkiManifest> | null;
  if (manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.wearableIds) || typeof manifest.createdAt !== 'string') {
    throw new Error(`certs: ${path} is not a ${MANIFEST_FORMAT} manifest; ${FIX}`);
  }
  return manifest as PkiManifest;
}

function writeIssued(
  put: (relative: string, text: string, mode: number) => void,
  files: { cert: string; key: string; chain: string },
  issued: IssuedCertificate,
): void {
  put(files.cert, issued.certPem, CERT_MODE);
  put(files.key, issued.keyPem, KEY_MODE);
  put(files.chain, issued.chainPem, CERT_MODE);
}

/** Writes via a temporary file created with the final mode, then renames: no window with wider permissions. */
function writeAtomically(dir: string, relative: string, text: string, mode: number): void {
  const target = join(dir, relative);
  ensureDirectories(dir, relative);
  const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode, flag: 'wx' });
  chmodSync(temporary, mode); // the umask may have narrowed a 0644 certificate; keys stay 0600 either way
  renameSync(temporary, target);
}

/** Creates each directory between `dir` and the file, 0700 (mkdir's mode is subject to the umask, so chmod too). */
function ensureDirectories(dir: string, relative: string): void {
  const parts = relative.split('/').slice(0, -1);
  let current = dir;
  for (const part of parts) {
    current = join(current, part);
    if (!existsSync(current)) mkdirSync(current, { mode: DIR_MODE });
    chmodSync(current, DIR_MODE);
  }
}

function manifestOf(pki: Pki): PkiManifest {
  const described = (certPem: string, files: Record<string, string>): CertificateSummary => ({
    ...summaryOf(certPem),
    notAfter: new x509.X509Certificate(certPem).notAfter.toISOString(),
    files,
  });
  const wearables: Record<string, CertificateSummary> = {};
  for (const [id, issued] of pki.wearables) wearables[id] = described(issued.certPem, LAYOUT.wearable(id));
  return {
    format: MANIFEST_FORMAT,
    warning: 'DO NOT TRUST – TESTING ONLY. Generated for one test run; never trust or commit these files.',
    createdAt: pki.createdAt.toISOString(),
    rootCa: described(pki.rootCa.certPem, { cert: LAYOUT.rootCert, key: LAYOUT.rootKey }),
    intermediateCa: described(pki.intermediateCa.certPem, { cert: LAYOUT.intermediateCert, key: LAYOUT.intermediateKey }),
    cloud: described(pki.cloud.certPem, LAYOUT.cloud),
    gateway: described(pki.gateway.certPem, LAYOUT.gateway),
    cloudE3: LAYOUT.cloudE3,
    caBundle: LAYOUT.caBundle,
    wearableIds: [...pki.wearables.keys()],
    wearables,
  };
}

function summaryOf(certPem: string): Pick<IssuedCertificate, 'subjectCn' | 'serialHex' | 'fingerprintSha256'> {
  const certificate = new x509.X509Certificate(certPem);
  return {
    subjectCn: certificate.subjectName.getField('CN')[0] ?? '',
    serialHex: certificate.serialNumber.toUpperCase(),
    fingerprintSha256: fingerprintSha256(new Uint8Array(certificate.rawData)),
  };
}
