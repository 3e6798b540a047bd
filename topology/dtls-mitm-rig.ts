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
import { readPem } from '../certs/pki-files.ts';
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
import { CLOUD_NAME, runMaterial, type AttemptOptions } from './mitm-rig.ts';
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

interface VictimRun {
  attempt: DtlsClientAttempt;
  plaintexts: Uint8Array[];
  packets: Uint8Array[];
}

export async function attemptDtlsInterception(o: DtlsAttemptOptions): Promise<DtlsInterceptionOutcome> {
  const client = checkDtlsClientName(o.client);
  const m = await runMaterial(o.runDir);
  const credential = m.forged.get(o.forgedCase);
  if (!credential) throw new Error(`unknown forged certificate "${o.forgedCase}"; valid cases: ${[...m.forged.keys()].join(', ')}`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const timeoutMs = o.timeoutMs ?? 5_000;
  const writer = PcapWriter.open(join(o.dir, 'captures', 'victim-mitm.pcap'));
  const mitm = new DtlsMitm({ listen: { host: LOOPBACK, port: 0 }, credential, dir: join(o.dir, 'mitm'), handshakeTimeoutMs: timeoutMs });
  const link = new UdpLink({ name: 'victim-mitm', listen: { host: LOOPBACK, port: 0 }, target: await mitm.start(), capture: writer });
  let run: VictimRun;
  try {
    const endpoint = await link.start();
    run = client === 'openssl-dtls-strict' ? await opensslVictim(m, endpoint, timeoutMs) : await bridgeVictim(m, client, endpoint, o.readings ?? 2, timeoutMs);
    // Let the MITM's bridge hand over what it already decrypted before judging what it obtained.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    await link.stop();
    await mitm.stop();
    await writer.close();
  }
  return {
    forgedCase: o.forgedCase,
    client,
    attempt: run.attempt,
    mitm: [...mitm.log.all(), ...(mitm.bridgeLog?.all() ?? [])],
    plaintextBytes: mitm.plaintextBytes(),
    secrets: [...run.plaintexts.map((p, i) => ({ label: `reading ${i + 1} in clear`, bytes: p })), { label: 'patient identity', bytes: new TextEncoder().encode(m.victim.patientId) }],
    sentPackets: run.packets,
    capture: writer.path,
    explain: credential.explain,
  };
}

type Material = Awaited<ReturnType<typeof runMaterial>>;

async function bridgeVictim(m: Material, client: 'secure' | 'no-verify', endpoint: { host: string; port: number }, readings: number, timeoutMs: number): Promise<VictimRun> {
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
function sealedReading(m: Material): { plaintext: Uint8Array; packet: Uint8Array } {
  const sealer = deviceSealer({ provisioning: m.victim, deviceKeyPem: m.pki.wearables.get(VICTIM_ID)?.keyPem as string, cloudE3PublicKeyPem: m.pki.cloudE3.publicKeyPem });
  const plaintext = encodeReading(deviceVitals(m.victim).next());
  return { plaintext, packet: sealer.seal(plaintext, Math.floor(Date.now() / 1000)) };
}

function opensslAttempt(run: ExternalRun): DtlsClientAttempt {
  const error = sClientVerifyError(run) ?? run.stderr.split('\n').find((l) => /error|alert/i.test(l))?.trim();
  return { handshakeCompleted: sClientDtlsHandshakeCompleted(run), ...(error ? { error } : {}), timedOut: run.timedOut };
}

async function opensslVictim(m: Material, endpoint: { host: string; port: number }, timeoutMs: number): Promise<VictimRun> {
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
  const { service, wasAccepted } = assembleCloudService({ dir: o.dir, pki: m.paths, devices: [m.victim], clock: SimClock.compressed(1) });
  const cloud = new DtlsCloudEndpoint({
    listen: { host: LOOPBACK, port: 0 },
    dtls: { certFile: m.paths.cloud.chain, keyFile: m.paths.cloud.key, caFile: m.paths.caBundle, clientAuth: 'require', handshakeTimeoutMs: timeoutMs },
    ingest: (payload, meta) => service.ingest(payload, meta),
    wasAccepted,
  });
  const writer = PcapWriter.open(join(o.dir, 'captures', 'peer-cloud.pcap'));
  const link = new UdpLink({ name: 'peer-cloud', listen: { host: LOOPBACK, port: 0 }, target: await cloud.start(), capture: writer });
  const { packet } = sealedReading(m);
  let run: ExternalRun;
  try {
    const endpoint = await link.start();
    const files = m.paths.wearable(VICTIM_ID);
    run = await opensslDtlsClient({ ...endpoint, serverName: CLOUD_NAME, caFile: m.paths.caBundle, certFile: files.chain, keyFile: files.key, stdin: encodeReadingDatagram(packet), lingerMs: 1_000, timeoutMs });
  } finally {
    await link.stop();
    await cloud.stop();
    await writer.close();
  }
  return {
    run,
    attempt: opensslAttempt(run),
    sentPacket: packet,
    audit: service.audit(),
    cloud: cloud.log.all(),
    acknowledgedSequences: acksIn(Buffer.from(run.stdout, 'latin1'), m.victim.pseudonymHex),
    capture: writer.path,
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

