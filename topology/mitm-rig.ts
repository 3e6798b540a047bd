/**
 * The interception rig: one victim client, one MITM presenting one forged certificate, on
 * loopback, with a capturing link between them (so every attempt leaves a pcap and key log a
 * security analyst can open). The MITM holds no client identity for the cloud (mutual TLS), so
 * it impersonates the broker; no cloud is needed to see what it obtains.
 *
 *   victim ──link victim-mitm (pcap)──▶ mitm-proxy (forged certificate)
 *
 * The genuine PKI and the forged catalogue are made once per run directory and shared.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { forgeCatalogue, FORGED_CASE_NAMES, type ForgedCredential } from '../certs/forged-catalogue.ts';
import { runCrl } from '../certs/forged-catalogue.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { KeyLog } from '../capture/keylog.ts';
import { MitmProxy } from '../emulators/mitm-proxy.ts';
import { harvestCredentials, presentForgedCertificate, readPublishedPayloads } from '../emulators/mitm-attacks.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { clientProfiles, spkiPinOf } from '../emulators/tls-client-profile.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { CLOUD_NAME, runVictim, type ClientAttempt, type VictimRun } from './interception-victim.ts';
import { currentPlacement } from './placements.ts';

export { CLOUD_NAME, type ClientAttempt };

const LOOPBACK = '127.0.0.1';
const VICTIM_ID = 'wearable-0001';

/** Node-based profiles run the real wearable role; the rest are independent programs. */
export const EXTERNAL_CLIENTS = ['mosquitto_pub', 'openssl-s_client', 'openssl-strict'] as const;
export function matrixClientNames(): string[] {
  return [...clientProfiles.keys(), ...EXTERNAL_CLIENTS];
}

export function checkClientName(name: string): string {
  const valid = matrixClientNames();
  if (!valid.includes(name)) throw new Error(`unknown client "${name}"; valid clients: ${valid.join(', ')}`);
  return name;
}

/**
 * Not a forgery: the MITM holds the cloud's genuine certificate and key (a control — as if the
 * attacker had stolen the cloud's key). Every client must connect; benchmarks use it as baseline.
 */
export const GENUINE_CLOUD_CERTIFICATE = 'genuine-cloud-certificate';

export function checkForgedCaseName(name: string): string {
  if (!(FORGED_CASE_NAMES as readonly string[]).includes(name)) throw new Error(`unknown forged certificate "${name}"; valid cases: ${FORGED_CASE_NAMES.join(', ')}`);
  return name;
}

export interface InterceptionOutcome {
  readonly forgedCase: string;
  readonly client: string;
  readonly attempt: ClientAttempt;
  readonly proxy: readonly Observation[];
  readonly plaintextBytes: number;
  /** The alert the victim sent, as the MITM saw it (e.g. "alert unknown ca"): the client's reason on the wire. */
  readonly alertSeenByMitm?: string;
  /** What the victim meant to keep secret: the readings' plaintext and the patient identity. */
  readonly secrets: readonly { label: string; bytes: Uint8Array }[];
  readonly sentPackets: readonly Uint8Array[];
  readonly capture: string;
  readonly keyLog: string;
  readonly explain: string;
}

export interface RunMaterial {
  readonly pki: Pki;
  readonly paths: PkiPaths;
  readonly forged: Map<string, ForgedCredential>;
  readonly crlFile: string;
  readonly crlPems: readonly string[];
  readonly cloudPin: string;
  readonly victim: DeviceProvisioning;
}

const material = new Map<string, Promise<RunMaterial>>();

async function prepare(runDir: string): Promise<RunMaterial> {
  const pki = await generatePki({ wearableIds: [VICTIM_ID] });
  const paths = await writePki(pki, join(runDir, 'mitm-pki'));
  const forged = await forgeCatalogue({ pki, serverName: CLOUD_NAME });
  const revoked = [...forged.values()].flatMap((c) => (c.revokedSerialHex ? [c.revokedSerialHex] : []));
  const crl = await runCrl({ pki, serverName: CLOUD_NAME }, revoked);
  const crlFile = join(runDir, 'mitm-pki', 'ca', 'intermediate.crl');
  writeFileSync(crlFile, crl.crlPem);
  return { pki, paths, forged, crlFile, crlPems: [crl.crlPem, crl.rootCrlPem], cloudPin: spkiPinOf(pki.cloud.certPem), victim: provisionDevice(VICTIM_ID, 1) };
}

export function runMaterial(runDir: string): Promise<RunMaterial> {
  let m = material.get(runDir);
  if (!m) {
    m = prepare(runDir);
    material.set(runDir, m);
  }
  return m;
}

export interface AttemptOptions {
  readonly runDir: string;
  readonly dir: string;
  readonly forgedCase: string;
  readonly client: string;
  readonly readings?: number;
  readonly timeoutMs?: number;
}

/** The credential the MITM presents: a forged case of the catalogue, or the genuine control. */
export function credentialFor(m: RunMaterial, forgedCase: string): ForgedCredential {
  if (forgedCase === GENUINE_CLOUD_CERTIFICATE) {
    return { name: GENUINE_CLOUD_CERTIFICATE, explain: "the cloud's genuine certificate and key (a control: as if the attacker had stolen the cloud's key)", certChainPem: m.pki.cloud.chainPem, keyPem: m.pki.cloud.keyPem, keyAlgorithm: 'ecdsa-p256', needsLegacySecurityLevel: false };
  }
  return m.forged.get(checkForgedCaseName(forgedCase)) as ForgedCredential;
}

/** Check the names, then the run's material: what every placement does before an attempt. */
export async function prepareAttempt(o: AttemptOptions): Promise<{ m: RunMaterial; credential: ForgedCredential }> {
  checkClientName(o.client);
  const m = await runMaterial(o.runDir);
  return { m, credential: credentialFor(m, o.forgedCase) };
}

/** The MITM waits this long, after the victim has its verdict, for its own side of it. */
export const PROXY_VERDICT_WAIT_MS = 2_000;

/** What one attempt gave, judged the same way on every placement. */
export function interceptionOutcome(o: AttemptOptions, m: RunMaterial, credential: ForgedCredential, run: VictimRun, proxy: { observations: readonly Observation[]; plaintextBytes: number }, evidence: { capture: string; keyLog: string }): InterceptionOutcome {
  const secrets = [
    ...run.plaintexts.map((p, i) => ({ label: `reading ${i + 1} in clear`, bytes: p })),
    { label: 'patient identity', bytes: new TextEncoder().encode(m.victim.patientId) },
  ];
  const failure = proxy.observations.find((p) => p.kind === 'handshake-failed');
  // OpenSSL words the victim's alert "…alert unknown ca:…"; Go's crypto/tls "remote error: tls: unknown certificate authority".
  const failureText = String(failure?.detail.message ?? '');
  const alert = /alert ([a-z ]+?)(?::|$)/.exec(failureText)?.[1] ?? /remote error: tls: ([a-z ]+)/.exec(failureText)?.[1];
  return {
    ...(alert ? { alertSeenByMitm: `alert ${alert}` } : {}),
    forgedCase: o.forgedCase,
    client: o.client,
    attempt: run.attempt,
    proxy: proxy.observations,
    plaintextBytes: proxy.plaintextBytes,
    secrets,
    sentPackets: run.packets,
    capture: evidence.capture,
    keyLog: evidence.keyLog,
    explain: credential.explain,
  };
}

/** One attempt on the run's placement: in this process on loopback (local), or in containers. */
export async function attemptInterception(o: AttemptOptions): Promise<InterceptionOutcome> {
  if (currentPlacement().name === 'containers') return (await import('./containers-interception.ts')).attemptInterceptionInContainers(o);
  const { m, credential } = await prepareAttempt(o);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const keyLog = KeyLog.open(join(o.dir, 'sslkeys.keylog'));
  const writer = PcapWriter.open(join(o.dir, 'captures', 'victim-mitm.pcap'));
  const proxy = new MitmProxy({
    listen: { host: LOOPBACK, port: 0 },
    attacks: [presentForgedCertificate(credential.name, credential.explain, { certChainPem: credential.certChainPem, keyPem: credential.keyPem, legacySecurityLevel: credential.needsLegacySecurityLevel }), harvestCredentials(), readPublishedPayloads()],
    handshakeTimeoutMs: o.timeoutMs ?? 5_000,
    evidence: { tlsEndpoint: (_r, e) => keyLog.attach(e) },
    impostorKeyLogFile: join(o.dir, 'impostor.keylog'),
  });
  const link = new TcpLink({ name: 'victim-mitm', listen: { host: LOOPBACK, port: 0 }, target: await proxy.start(), capture: writer });
  const endpoint = await link.start();
  let run: VictimRun;
  try {
    run = await runVictim(m, { client: o.client, endpoint, dir: o.dir, readings: o.readings ?? 2, timeoutMs: o.timeoutMs ?? 5_000, keyLog });
    // The victim has its verdict; wait (bounded) until the proxy has recorded its side too.
    await proxy.verdict(PROXY_VERDICT_WAIT_MS);
  } finally {
    await link.stop();
    await proxy.stop();
    await writer.close();
    await keyLog.close();
  }
  return interceptionOutcome(o, m, credential, run, { observations: proxy.log.all(), plaintextBytes: proxy.plaintextBytes() }, { capture: writer.path, keyLog: join(o.dir, 'sslkeys.keylog') });
}
