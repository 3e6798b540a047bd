/**
 * The victim of the forged-certificate matrix: one client attempt against whatever listens at
 * `endpoint`, judged from the client's own side (its handshake, its error, what it sent). The
 * same code runs in the test process (local placement, topology/mitm-rig.ts) and in the victim
 * container (containers placement, containers/roles/interception-victim.ts), so both placements
 * produce the same ClientAttempt for the same Then steps.
 *
 * Node-based profiles run the real wearable role; `mosquitto_pub`, `openssl-s_client` and
 * `openssl-strict` are independent programs (emulators/external-clients.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { readPem, type PkiPaths } from '../certs/pki-files.ts';
import type { KeyLog } from '../capture/keylog.ts';
import { Wearable, e3Topic } from '../emulators/wearable.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile, clientProfiles } from '../emulators/tls-client-profile.ts';
import { mosquittoPub, opensslSClient, sClientVerifyError, type ExternalRun } from '../emulators/external-clients.ts';
import { E3Sealer } from '../crypto/e3-sealer.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { rawP256PrivateKey, rawP256PublicKey } from '../crypto/e3-key-derivation.ts';
import { VitalSigns } from '../emulators/vital-signs.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

export { CLOUD_NAME } from '../certs/genuine-profiles.ts';

export interface ClientAttempt {
  /** Did the victim get through its TLS handshake (as it reports it)? */
  readonly handshakeCompleted: boolean;
  /** The victim's own words for why it stopped, if it did. */
  readonly error?: string;
  readonly timedOut: boolean;
  /** What an external client printed (its last lines), for the report. */
  readonly transcript?: string;
}

/** What a victim needs: the genuine PKI's files (as paths where it runs), its provisioning, the CRLs and the cloud's pin. */
export interface VictimMaterial {
  readonly paths: PkiPaths;
  /** The intermediate CA's CRL as a file (openssl-strict's -CRL). */
  readonly crlFile: string;
  readonly crlPems: readonly string[];
  readonly cloudPin: string;
  readonly victim: DeviceProvisioning;
}

export interface VictimRun {
  readonly attempt: ClientAttempt;
  /** The readings in clear, as the victim meant to keep them. */
  readonly plaintexts: Uint8Array[];
  /** The E3 packets it sent. */
  readonly packets: Uint8Array[];
}

export interface VictimAttempt {
  readonly client: string;
  readonly endpoint: { readonly host: string; readonly port: number };
  /** Where this attempt may write files (the reading an external client publishes). */
  readonly dir: string;
  readonly readings: number;
  readonly timeoutMs: number;
  /** Where the Node victim's TLS secrets go (external programs write none). */
  readonly keyLog: KeyLog;
}

/** One attempt by `a.client` (a Node profile or an external program). */
export function runVictim(m: VictimMaterial, a: VictimAttempt): Promise<VictimRun> {
  return clientProfiles.has(a.client) ? nodeVictim(m, a) : externalVictim(m, a);
}

async function nodeVictim(m: VictimMaterial, a: VictimAttempt): Promise<VictimRun> {
  const { endpoint, readings, timeoutMs, keyLog } = a;
  const id = m.victim.deviceId;
  const files = m.paths.wearable(id);
  const wearable = new Wearable({
    provisioning: m.victim,
    deviceKeyPem: readPem(files.key, `the ${id} device key`),
    deviceCertChainPem: readPem(files.chain, `the ${id} certificate chain`),
    caPem: readPem(m.paths.caBundle, 'the CA bundle'),
    cloudE3PublicKeyPem: readPem(m.paths.cloudE3.publicKey, 'the cloud E3 public key'),
    endpoint: { ...endpoint, serverName: CLOUD_NAME },
    profile: clientProfile(a.client),
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
function sealedReading(m: VictimMaterial): { plaintext: Uint8Array; packet: Uint8Array } {
  const id = m.victim.deviceId;
  const sealer = new E3Sealer({
    pseudonym: Buffer.from(m.victim.pseudonymHex, 'hex'),
    devicePrivateKey: rawP256PrivateKey(readPem(m.paths.wearable(id).key, `the ${id} device key`)),
    cloudPublicKey: rawP256PublicKey(readPem(m.paths.cloudE3.publicKey, 'the cloud E3 public key')),
    algorithm: 'aes-128-gcm',
    salt: Buffer.from(m.victim.saltHex, 'hex'),
    nextSequence: 1n,
  });
  const plaintext = encodeReading(new VitalSigns(7).next());
  return { plaintext, packet: sealer.seal(plaintext, Math.floor(Date.now() / 1000)) };
}

async function externalVictim(m: VictimMaterial, a: VictimAttempt): Promise<VictimRun> {
  const { client, endpoint, dir, timeoutMs } = a;
  const { plaintext, packet } = sealedReading(m);
  const topic = e3Topic(m.victim.pseudonymHex);
  let run: ExternalRun;
  let handshakeCompleted: boolean;
  let error: string | undefined;
  if (client === 'mosquitto_pub') {
    const payloadFile = join(dir, 'reading.e3');
    writeFileSync(payloadFile, packet);
    const files = m.paths.wearable(m.victim.deviceId);
    run = await mosquittoPub({ host: endpoint.host, port: endpoint.port, caFile: m.paths.caBundle, certFile: files.chain, keyFile: files.key, clientId: m.victim.deviceId, topic, payloadFile, timeoutMs });
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
