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
import mqttPacket from 'mqtt-packet';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki, readPem, type PkiPaths } from '../certs/pki-files.ts';
import { forgeCatalogue, FORGED_CASE_NAMES, type ForgedCredential } from '../certs/forged-catalogue.ts';
import { runCrl } from '../certs/forged-catalogue.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { KeyLog } from '../capture/keylog.ts';
import { MitmProxy } from '../emulators/mitm-proxy.ts';
import { harvestCredentials, presentForgedCertificate, readPublishedPayloads } from '../emulators/mitm-attacks.ts';
import { Wearable, e3Topic } from '../emulators/wearable.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile, clientProfiles, spkiPinOf } from '../emulators/tls-client-profile.ts';
import { mosquittoPub, opensslSClient, sClientVerifyError, type ExternalRun } from '../emulators/external-clients.ts';
import { E3Sealer } from '../crypto/e3-sealer.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { rawP256PrivateKey, rawP256PublicKey } from '../crypto/e3-key-derivation.ts';
import { VitalSigns } from '../emulators/vital-signs.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { TcpLink } from '../links/tcp-link.ts';

export const CLOUD_NAME = 'cloud.testbed.local';
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

export interface ClientAttempt {
  /** Did the victim get through its TLS handshake (as it reports it)? */
  readonly handshakeCompleted: boolean;
  /** The victim's own words for why it stopped, if it did. */
  readonly error?: string;
  readonly timedOut: boolean;
  /** What an external client printed (its last lines), for the report. */
  readonly transcript?: string;
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

interface RunMaterial {
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

export async function attemptInterception(o: AttemptOptions): Promise<InterceptionOutcome> {
  if (o.forgedCase !== GENUINE_CLOUD_CERTIFICATE) checkForgedCaseName(o.forgedCase);
  checkClientName(o.client);
  const m = await runMaterial(o.runDir);
  const credential: ForgedCredential =
    o.forgedCase === GENUINE_CLOUD_CERTIFICATE
      ? { name: GENUINE_CLOUD_CERTIFICATE, explain: "the cloud's genuine certificate and key (a control: as if the attacker had stolen the cloud's key)", certChainPem: m.pki.cloud.chainPem, keyPem: m.pki.cloud.keyPem, keyAlgorithm: 'ecdsa-p256', needsLegacySecurityLevel: false }
      : (m.forged.get(o.forgedCase) as ForgedCredential);
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
  const readings = o.readings ?? 2;
  const timeoutMs = o.timeoutMs ?? 5_000;
  let run: { attempt: ClientAttempt; plaintexts: Uint8Array[]; packets: Uint8Array[] };
  try {
    run = clientProfiles.has(o.client)
      ? await nodeVictim(m, o.client, endpoint, readings, timeoutMs, keyLog)
      : await externalVictim(m, o.client, endpoint, o.dir, timeoutMs);
    // The victim has its verdict; wait (bounded) until the proxy has recorded its side too.
    await proxy.log
      .waitFor('the proxy\'s verdict', (p) => p.kind === 'handshake-failed' || (p.kind === 'mqtt-packet' && p.detail.cmd === 'publish'), 2_000)
      .catch(() => undefined);
  } finally {
    await link.stop();
    await proxy.stop();
    await writer.close();
    await keyLog.close();
  }
  const secrets = [
    ...run.plaintexts.map((p, i) => ({ label: `reading ${i + 1} in clear`, bytes: p })),
    { label: 'patient identity', bytes: new TextEncoder().encode(m.victim.patientId) },
  ];
  const failure = proxy.log.ofKind('handshake-failed')[0];
  // OpenSSL words the victim's alert "…alert unknown ca:…"; Go's crypto/tls "remote error: tls: unknown certificate authority".
  const failureText = String(failure?.detail.message ?? '');
  const alert = /alert ([a-z ]+?)(?::|$)/.exec(failureText)?.[1] ?? /remote error: tls: ([a-z ]+)/.exec(failureText)?.[1];
  return {
    ...(alert ? { alertSeenByMitm: `alert ${alert}` } : {}),
    forgedCase: o.forgedCase,
    client: o.client,
    attempt: run.attempt,
    proxy: proxy.log.all(),
    plaintextBytes: proxy.plaintextBytes(),
    secrets,
    sentPackets: run.packets,
    capture: writer.path,
    keyLog: join(o.dir, 'sslkeys.keylog'),
    explain: credential.explain,
  };
}

async function nodeVictim(m: RunMaterial, profileName: string, endpoint: { host: string; port: number }, readings: number, timeoutMs: number, keyLog: KeyLog) {
  const files = m.paths.wearable(VICTIM_ID);
  const wearable = new Wearable({
    provisioning: m.victim,
    deviceKeyPem: readPem(files.key, `the ${VICTIM_ID} device key`),
    deviceCertChainPem: readPem(files.chain, `the ${VICTIM_ID} certificate chain`),
    caPem: readPem(m.paths.caBundle, 'the CA bundle'),
    cloudE3PublicKeyPem: readPem(m.paths.cloudE3.publicKey, 'the cloud E3 public key'),
    endpoint: { ...endpoint, serverName: CLOUD_NAME },
    profile: clientProfile(profileName),
    clock: SimClock.compressed(3000),
    evidence: { tlsEndpoint: (_r, e) => keyLog.attach(e) },
    timeoutMs,
    crlPem: m.crlPems,
    spkiPinSha256: m.cloudPin,
  });
  const packets: Uint8Array[] = [];
  const plaintexts: Uint8Array[] = [];
  try {
    await wearable.connect();
    for (let i = 0; i < readings; i++) {
      const sent = wearable.sendReading();
      packets.push(sent.packet);
    }
    await wearable.settled(timeoutMs);
    for (const o of wearable.log.ofKind('reading-sent')) plaintexts.push(o.detail.plaintext as Uint8Array);
    const handshake = wearable.log.ofKind('tls-handshake').length > 0;
    return { attempt: { handshakeCompleted: handshake, timedOut: false }, plaintexts, packets };
  } catch (err) {
    const tlsError = wearable.log.ofKind('tls-error')[0];
    const code = tlsError?.detail.code as string | undefined;
    const message = (tlsError?.detail.message as string | undefined) ?? (err as Error).message;
    return { attempt: { handshakeCompleted: wearable.log.ofKind('tls-handshake').length > 0, error: code ? `${code}: ${message}` : message, timedOut: /no CONNACK/.test((err as Error).message) }, plaintexts, packets };
  } finally {
    await wearable.stop();
  }
}

/** One sealed reading and the MQTT bytes an external client sends, made like the wearable would. */
function sealedReading(m: RunMaterial): { plaintext: Uint8Array; packet: Uint8Array } {
  const sealer = new E3Sealer({
    pseudonym: Buffer.from(m.victim.pseudonymHex, 'hex'),
    devicePrivateKey: rawP256PrivateKey(m.pki.wearables.get(VICTIM_ID)?.keyPem as string),
    cloudPublicKey: rawP256PublicKey(m.pki.cloudE3.publicKeyPem),
    algorithm: 'aes-128-gcm',
    salt: Buffer.from(m.victim.saltHex, 'hex'),
    nextSequence: 1n,
  });
  const plaintext = encodeReading(new VitalSigns(7).next());
  return { plaintext, packet: sealer.seal(plaintext, Math.floor(Date.now() / 1000)) };
}

async function externalVictim(m: RunMaterial, client: string, endpoint: { host: string; port: number }, dir: string, timeoutMs: number) {
  const { plaintext, packet } = sealedReading(m);
  const topic = e3Topic(m.victim.pseudonymHex);
  let run: ExternalRun;
  let handshakeCompleted: boolean;
  let error: string | undefined;
  if (client === 'mosquitto_pub') {
    const payloadFile = join(dir, 'reading.e3');
    writeFileSync(payloadFile, packet);
    const files = m.paths.wearable(VICTIM_ID);
    run = await mosquittoPub({ host: endpoint.host, port: endpoint.port, caFile: m.paths.caBundle, certFile: files.chain, keyFile: files.key, clientId: VICTIM_ID, topic, payloadFile, timeoutMs });
    handshakeCompleted = run.exitCode === 0;
    error = run.exitCode === 0 ? undefined : (run.stderr.trim().split('\n').pop() ?? `exit ${run.exitCode}`);
  } else {
    // The chapter's E4 line is the gateway's (§17.3.1): gateway certificate and key.
    const stdin = Buffer.concat([
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'gateway-01', clean: true, keepalive: 60 }),
      mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(packet), qos: 0, retain: false, dup: false }),
    ]);
    run = await opensslSClient({ host: endpoint.host, port: endpoint.port, serverName: CLOUD_NAME, caFile: m.paths.caBundle, certFile: m.paths.gateway.chain, keyFile: m.paths.gateway.key, strict: client === 'openssl-strict', crlFile: client === 'openssl-strict' ? m.crlFile : undefined, stdin, timeoutMs });
    const verifyError = sClientVerifyError(run);
    // s_client prints "New, TLSv1.3, Cipher is …" once ServerHello chose a suite, even if the
    // handshake then failed; a failure also leaves an OpenSSL "SSL routines" error line.
    handshakeCompleted = /^(New|Reused), TLSv1\.[23], Cipher is (?!\(NONE\))/m.test(run.stdout) && !/:error:[0-9A-F]+:SSL routines:/.test(run.stdout + run.stderr);
    error = verifyError ?? (run.stderr.split('\n').find((l) => /error|alert/i.test(l))?.trim());
  }
  const transcript = `$ ${run.command}\n${(run.stdout + run.stderr).split('\n').filter((l) => l.trim()).slice(-25).join('\n')}`;
  return { attempt: { handshakeCompleted, ...(error ? { error } : {}), timedOut: run.timedOut, transcript }, plaintexts: [plaintext], packets: [packet] };
}
