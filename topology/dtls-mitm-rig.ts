/**
 * The DTLS interception rig (features/mitm-certificate-validation-dtls.feature): one victim DTLS
 * client, one DTLS MITM presenting one forged certificate, on loopback, with a capturing UDP link
 * between them; and the independent-peer rig, where `openssl s_client -dtls1_2` talks to the
 * cloud's own DTLS endpoint.
 *
 *   victim ──UDP link victim-mitm (pcap)──▶ DTLS MITM (dtls-bridge server, forged certificate)
 *   openssl s_client ──UDP link peer-cloud (pcap)──▶ cloud DTLS endpoint ─▶ cloud service (audit)
 *
 * The genuine PKI, the forged catalogue and the CRL are the TLS matrix's (topology/mitm-rig.ts,
 * one per run directory), so both matrices judge the very same certificates.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPem, type PkiPaths } from '../certs/pki-files.ts';
import type { ForgedCredential } from '../certs/forged-catalogue.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { deviceSealer, deviceVitals } from '../emulators/device-sealer.ts';
import { DtlsMitm } from '../emulators/dtls/dtls-mitm.ts';
import { DtlsWearable } from '../emulators/dtls/dtls-wearable.ts';
import { DtlsCloudEndpoint } from '../emulators/dtls/dtls-cloud-endpoint.ts';
import { encodeReadingDatagram, decodeReadingDatagram } from '../emulators/dtls/reading-datagram.ts';
import { opensslDtlsClient, sClientDtlsHandshakeCompleted } from '../emulators/dtls/openssl-dtls-client.ts';
import { sClientVerifyError, type ExternalRun } from '../emulators/external-clients.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { UdpLink } from '../links/udp-link.ts';
import { CLOUD_NAME, runMaterial, type AttemptOptions, type RunMaterial } from './mitm-rig.ts';
import { assembleCloudService } from './cloud-assembly.ts';

const LOOPBACK = '127.0.0.1';
const VICTIM_ID = 'wearable-0001';

/**
 * DTLS client profiles of the matrix: the project's bridge client verifying the chain and the
 * name (`secure`), the same client with `--insecure-skip-verify` (`no-verify`), and OpenSSL's
 * `s_client -dtls1_2 -verify_return_error -verify_hostname … -crl_check` (`openssl-dtls-strict`).
 */
export const DTLS_MATRIX_CLIENTS = ['secure', 'no-verify', 'openssl-dtls-strict'] as const;
export type DtlsMatrixClient = (typeof DTLS_MATRIX_CLIENTS)[number];

export function checkDtlsClientName(name: string): DtlsMatrixClient {
  if (!(DTLS_MATRIX_CLIENTS as readonly string[]).includes(name)) throw new Error(`unknown DTLS client "${name}"; valid DTLS clients: ${DTLS_MATRIX_CLIENTS.join(', ')}`);
  return name as DtlsMatrixClient;
}

export interface DtlsClientAttempt {
  readonly handshakeCompleted: boolean;
  /** The victim's own words for why it stopped: a bridge reason or s_client's verify error. */
  readonly error?: string;
  readonly timedOut: boolean;
}

export interface DtlsInterceptionOutcome {
  readonly forgedCase: string;
  readonly client: DtlsMatrixClient;
  readonly attempt: DtlsClientAttempt;
  readonly mitm: readonly Observation[];
  readonly plaintextBytes: number;
  readonly secrets: readonly { label: string; bytes: Uint8Array }[];
  readonly sentPackets: readonly Uint8Array[];
  readonly capture: string;
  readonly explain: string;
}

/** The TLS matrix's attempt options; `client` names one of DTLS_MATRIX_CLIENTS. */
export type DtlsAttemptOptions = AttemptOptions;

/** What the victim of one attempt saw and sent (plain data: it crosses the containers' control channel). */
export interface DtlsVictimRun {
  attempt: DtlsClientAttempt;
  plaintexts: Uint8Array[];
  packets: Uint8Array[];
}

/** What a DTLS victim needs, as files (a victim in a container reads them from its PKI mount). */
export interface DtlsVictimMaterial {
  readonly paths: PkiPaths;
  readonly crlFile: string;
  readonly victim: DeviceProvisioning;
}

/** One attempt of `client` against `endpoint` (the MITM, or the link before it). */
export function runDtlsVictim(m: DtlsVictimMaterial, o: { client: DtlsMatrixClient; endpoint: { host: string; port: number }; readings: number; timeoutMs: number }): Promise<DtlsVictimRun> {
  const client = checkDtlsClientName(o.client);
  return client === 'openssl-dtls-strict' ? opensslVictim(m, o.endpoint, o.timeoutMs) : bridgeVictim(m, client, o.endpoint, o.readings, o.timeoutMs);
}

export async function attemptDtlsInterception(o: DtlsAttemptOptions): Promise<DtlsInterceptionOutcome> {
  const { m, credential } = await prepareDtlsAttempt(o);
  const client = o.client as DtlsMatrixClient;
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const timeoutMs = o.timeoutMs ?? 5_000;
  const writer = PcapWriter.open(join(o.dir, 'captures', 'victim-mitm.pcap'));
  const mitm = new DtlsMitm({ listen: { host: LOOPBACK, port: 0 }, credential, dir: join(o.dir, 'mitm'), handshakeTimeoutMs: timeoutMs });
  const link = new UdpLink({ name: 'victim-mitm', listen: { host: LOOPBACK, port: 0 }, target: await mitm.start(), capture: writer });
  let run: DtlsVictimRun;
  try {
    const endpoint = await link.start();
    run = await runDtlsVictim(m, { client, endpoint, readings: o.readings ?? 2, timeoutMs });
    // Let the MITM's bridge hand over what it already decrypted before judging what it obtained.
    await new Promise((r) => setTimeout(r, MITM_SETTLE_MS));
  } finally {
    await link.stop();
    await mitm.stop();
    await writer.close();
  }
  return dtlsInterceptionOutcome(o, m, credential, run, { observations: [...mitm.log.all(), ...(mitm.bridgeLog?.all() ?? [])], plaintextBytes: mitm.plaintextBytes() }, writer.path);
}

/** After the victim has its verdict, the MITM's bridge gets this long to hand over what it decrypted. */
export const MITM_SETTLE_MS = 100;

/** Check the names, then the run's material and the forged credential: what every placement does first. */
export async function prepareDtlsAttempt(o: DtlsAttemptOptions): Promise<{ m: RunMaterial; credential: ForgedCredential }> {
  checkDtlsClientName(o.client);
  const m = await runMaterial(o.runDir);
  const credential = m.forged.get(o.forgedCase);
  if (!credential) throw new Error(`unknown forged certificate "${o.forgedCase}"; valid cases: ${[...m.forged.keys()].join(', ')}`);
  return { m, credential };
}

/** The outcome the steps judge, from the victim's run and the MITM's record, on any placement. */
export function dtlsInterceptionOutcome(o: DtlsAttemptOptions, m: RunMaterial, credential: ForgedCredential, run: DtlsVictimRun, mitm: { observations: readonly Observation[]; plaintextBytes: number }, capture: string): DtlsInterceptionOutcome {
  return {
    forgedCase: o.forgedCase,
    client: o.client as DtlsMatrixClient,
    attempt: run.attempt,
    mitm: mitm.observations,
    plaintextBytes: mitm.plaintextBytes,
    secrets: [...run.plaintexts.map((p, i) => ({ label: `reading ${i + 1} in clear`, bytes: p })), { label: 'patient identity', bytes: new TextEncoder().encode(m.victim.patientId) }],
    sentPackets: run.packets,
    capture,
    explain: credential.explain,
  };
}

async function bridgeVictim(m: DtlsVictimMaterial, client: 'secure' | 'no-verify', endpoint: { host: string; port: number }, readings: number, timeoutMs: number): Promise<DtlsVictimRun> {
  const files = m.paths.wearable(VICTIM_ID);
  const wearable = new DtlsWearable({
    provisioning: m.victim,
    deviceKeyPem: readPem(files.key, `the ${VICTIM_ID} device key`),
    cloudE3PublicKeyPem: readPem(m.paths.cloudE3.publicKey, 'the cloud E3 public key'),
    endpoint,
    credentials: { kind: 'certificate', certFile: files.chain, keyFile: files.key, caFile: m.paths.caBundle, serverName: CLOUD_NAME, ...(client === 'no-verify' ? { insecureSkipVerify: true } : {}) },
    clock: SimClock.compressed(3000),
    // The MITM never acknowledges: two resends show it reading every copy, then the device gives up.
    resend: { intervalMs: 100, maxAttempts: 2 },
    handshakeTimeoutMs: timeoutMs,
    handshakeAttempts: 1,
  });
  const packets: Uint8Array[] = [];
  try {
    await wearable.connect();
    for (let i = 0; i < readings; i++) packets.push(wearable.sendReading().packet);
    await wearable.settled(timeoutMs);
    return { attempt: { handshakeCompleted: true, timedOut: false }, plaintexts: plaintextsOf(wearable), packets };
  } catch (err) {
    const failed = wearable.log.ofKind('dtls-error').at(-1);
    const reason = failed?.detail.reason === undefined ? (err as Error).message : String(failed.detail.reason);
    const words = failed?.detail.error === undefined ? reason : `${reason}: ${String(failed.detail.error)}`;
    return { attempt: { handshakeCompleted: wearable.log.ofKind('dtls-handshake').length > 0, error: words, timedOut: reason === 'handshake-timeout' }, plaintexts: plaintextsOf(wearable), packets };
  } finally {
    await wearable.stop();
  }
}

function plaintextsOf(w: DtlsWearable): Uint8Array[] {
  return w.log.ofKind('reading-sent').map((o) => o.detail.plaintext as Uint8Array);
}

/** One reading as wearable-0001 would seal it, framed as a reading datagram. */
function sealedReading(m: DtlsVictimMaterial): { plaintext: Uint8Array; packet: Uint8Array } {
  const sealer = deviceSealer({ provisioning: m.victim, deviceKeyPem: readPem(m.paths.wearable(VICTIM_ID).key, `the ${VICTIM_ID} device key`), cloudE3PublicKeyPem: readPem(m.paths.cloudE3.publicKey, 'the cloud E3 public key') });
  const plaintext = encodeReading(deviceVitals(m.victim).next());
  return { plaintext, packet: sealer.seal(plaintext, Math.floor(Date.now() / 1000)) };
}

function opensslAttempt(run: ExternalRun): DtlsClientAttempt {
  const error = sClientVerifyError(run) ?? run.stderr.split('\n').find((l) => /error|alert/i.test(l))?.trim();
  return { handshakeCompleted: sClientDtlsHandshakeCompleted(run), ...(error ? { error } : {}), timedOut: run.timedOut };
}

async function opensslVictim(m: DtlsVictimMaterial, endpoint: { host: string; port: number }, timeoutMs: number): Promise<DtlsVictimRun> {
  const { plaintext, packet } = sealedReading(m);
  const files = m.paths.wearable(VICTIM_ID);
  const run = await opensslDtlsClient({ ...endpoint, serverName: CLOUD_NAME, caFile: m.paths.caBundle, certFile: files.chain, keyFile: files.key, crlFile: m.crlFile, stdin: encodeReadingDatagram(packet), lingerMs: 300, timeoutMs });
  return { attempt: opensslAttempt(run), plaintexts: [plaintext], packets: [packet] };
}

export interface IndependentPeerOutcome {
  readonly run: ExternalRun;
  readonly attempt: DtlsClientAttempt;
  readonly sentPacket: Uint8Array;
  readonly audit: readonly AuditEntry[];
  readonly cloud: readonly Observation[];
  /** Acknowledgements s_client printed (decoded from its output). */
  readonly acknowledgedSequences: readonly bigint[];
  readonly capture: string;
}

/**
 * `openssl s_client -dtls1_2` with wearable-0001's certificate sends one sealed reading to the
 * cloud's DTLS endpoint (which requires a client certificate, RFC 5246 §7.4.4) and the cloud
 * service audits it; the ack comes back on the same DTLS connection.
 */
export async function opensslToCloudDtls(o: { runDir: string; dir: string; timeoutMs?: number }): Promise<IndependentPeerOutcome> {
  const m = await runMaterial(o.runDir);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const timeoutMs = o.timeoutMs ?? 8_000;
  const { cloud, service } = certificateCloudEndpoint({ paths: m.paths, dir: o.dir, devices: [m.victim], listen: { host: LOOPBACK, port: 0 }, timeoutMs });
  const writer = PcapWriter.open(join(o.dir, 'captures', 'peer-cloud.pcap'));
  const link = new UdpLink({ name: 'peer-cloud', listen: { host: LOOPBACK, port: 0 }, target: await cloud.start(), capture: writer });
  let peer: OpensslPeerRun;
  try {
    peer = await opensslPeer(m, await link.start(), timeoutMs);
  } finally {
    await link.stop();
    await cloud.stop();
    await writer.close();
  }
  return independentPeerOutcome(m, peer, { audit: service.audit(), log: cloud.log.all() }, writer.path);
}

/**
 * The cloud's certificate DTLS endpoint, requiring a client certificate (RFC 5246 §7.4.4), in
 * front of a fresh cloud service that audits to `<dir>/audit.jsonl`: the same on every placement.
 */
export function certificateCloudEndpoint(o: { paths: PkiPaths; dir: string; devices: readonly DeviceProvisioning[]; listen: { host: string; port: number }; timeoutMs: number }): { cloud: DtlsCloudEndpoint; service: ReturnType<typeof assembleCloudService>['service'] } {
  const { service, wasAccepted } = assembleCloudService({ dir: o.dir, pki: o.paths, devices: o.devices, clock: SimClock.compressed(1) });
  const cloud = new DtlsCloudEndpoint({
    listen: o.listen,
    dtls: { certFile: o.paths.cloud.chain, keyFile: o.paths.cloud.key, caFile: o.paths.caBundle, clientAuth: 'require', handshakeTimeoutMs: o.timeoutMs },
    ingest: (payload, meta) => service.ingest(payload, meta),
    wasAccepted,
  });
  return { cloud, service };
}

/** What s_client did and the reading it sent (plain data: it crosses the containers' control channel). */
export interface OpensslPeerRun {
  readonly run: ExternalRun;
  readonly packet: Uint8Array;
}

/** s_client with wearable-0001's certificate sends one sealed reading to `endpoint` and lingers for the ack. */
export async function opensslPeer(m: DtlsVictimMaterial, endpoint: { host: string; port: number }, timeoutMs: number): Promise<OpensslPeerRun> {
  const { packet } = sealedReading(m);
  const files = m.paths.wearable(VICTIM_ID);
  const run = await opensslDtlsClient({ ...endpoint, serverName: CLOUD_NAME, caFile: m.paths.caBundle, certFile: files.chain, keyFile: files.key, stdin: encodeReadingDatagram(packet), lingerMs: 1_000, timeoutMs });
  return { run, packet };
}

/** The outcome the steps judge, from s_client's run and the cloud's record, on any placement. */
export function independentPeerOutcome(m: DtlsVictimMaterial, peer: OpensslPeerRun, cloud: { audit: readonly AuditEntry[]; log: readonly Observation[] }, capture: string): IndependentPeerOutcome {
  return {
    run: peer.run,
    attempt: opensslAttempt(peer.run),
    sentPacket: peer.packet,
    audit: cloud.audit,
    cloud: cloud.log,
    acknowledgedSequences: acksIn(Buffer.from(peer.run.stdout, 'latin1'), m.victim.pseudonymHex),
    capture,
  };
}

/** Ack datagrams s_client printed among its text: found by their type byte and pseudonym. */
export function acksIn(output: Buffer, pseudonymHex: string): bigint[] {
  const marker = Buffer.concat([Buffer.of(0x02), Buffer.from(pseudonymHex, 'hex')]);
  const found: bigint[] = [];
  // Bounded: each pass moves past one marker.
  for (let at = output.indexOf(marker); at !== -1; at = output.indexOf(marker, at + 1)) {
    const count = output[at + marker.length] ?? 0;
    const decoded = decodeReadingDatagram(output.subarray(at, at + marker.length + 1 + count * 8));
    if (!(decoded instanceof Error) && decoded.type === 'ack') found.push(...decoded.sequences);
  }
  return found;
}

