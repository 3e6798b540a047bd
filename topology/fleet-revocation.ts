/**
 * Revocation in a running fleet (features/fleet-revocation.feature): the CA revokes one wearable's
 * certificate while the fleet reports, and the broker reloads its CRL. What the steps hold, on
 * either placement: the revocation itself, the revoked device's own record, the broker's records,
 * and the revoked credential presented again on a captured link (its refusal read from the wire,
 * TLS 1.3 alerts decrypted with the presenter's key log, analysis/tls-alerts.ts).
 */
import { readFileSync } from 'node:fs';
import { readPcap, reassembleTcpStreams, type CapturedPacket } from '../capture/pcap-reader.ts';
import { wireAlerts, type WireAlerts } from '../analysis/tls-alerts.ts';
import { runCrl } from '../certs/forged-catalogue.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import type { Pki } from '../certs/pki.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { ProbeResult } from '../emulators/device-credentials.ts';
import type { FleetDeviceRecord } from '../emulators/fleet/fleet-device-record.ts';
import type { FleetRig } from './fleet-rig.ts';

export interface RevocationRecord {
  readonly deviceId: string;
  readonly serialHex: string;
  /** Wall-clock ms when the broker had the new CRL in force. */
  readonly atMs: number;
  /** How this broker took the CRL in (reload in place, or a restart), for the report. */
  readonly how: string;
  /** The revoked device as it stood the moment the CRL was in force. */
  readonly deviceAtRevocation: FleetDeviceRecord;
  /** How many broker records existed before the reload: later ones are "from then on". */
  readonly brokerRecordsBefore: number;
}

/** The revoked credential presented once more, through a captured link with its key log. */
export interface PresentedCredential {
  readonly result: ProbeResult;
  readonly wire: WireAlerts;
  readonly capture: string;
}

export interface FleetRevocation {
  revokeCertificate(deviceId: string): Promise<RevocationRecord>;
  deviceRecord(deviceId: string): Promise<FleetDeviceRecord>;
  presentCertificate(deviceId: string): Promise<PresentedCredential>;
  /** The broker's own records since it started (Aedes' observation log; Mosquitto's log, across restarts). */
  brokerRecords(): Promise<readonly Observation[]>;
}

export function revocable(rig: FleetRig): FleetRig & FleetRevocation {
  const r = rig as Partial<FleetRevocation>;
  if (!r.revokeCertificate || !r.deviceRecord || !r.presentCertificate || !r.brokerRecords) {
    throw new Error(`fleet: the ${rig.placement} fleet cannot revoke a certificate mid-run (no CRL reload); run the revocation scenario on local or containers`);
  }
  return rig as FleetRig & FleetRevocation;
}

/**
 * The CA's CRLs: the intermediate's listing `revoked` and the root's empty one, one PEM each
 * (node:tls reads only the first CRL of a PEM string, so each goes in as its own element; a
 * Mosquitto crlfile takes them joined).
 */
export async function fleetCrl(pki: Pki, revokedSerialsHex: readonly string[]): Promise<readonly string[]> {
  const crl = await runCrl({ pki, serverName: CLOUD_NAME }, [...revokedSerialsHex]);
  return [crl.crlPem, crl.rootCrlPem];
}

export function serialOf(pki: Pki, deviceId: string): string {
  const issued = pki.wearables.get(deviceId);
  if (!issued) throw new Error(`fleet: ${deviceId} is not in this fleet; name a wearable from wearable-0001 up to the fleet's size`);
  return issued.serialHex;
}

/**
 * The presenter's own conversation in a capture that may hold others (in containers the capture
 * sits beside a shard whose revoked device keeps retrying): the one whose TLS 1.3 secrets are in
 * the presenter's key log; the last conversation if none is.
 */
export function presenterAlerts(capture: string, keyLogPath: string): WireAlerts {
  const streams = reassembleTcpStreams(readPcap(capture).packets);
  let keyLog = '';
  try {
    keyLog = readFileSync(keyLogPath, 'latin1');
  } catch {
    return { alerts: [], undecrypted: 0, serverApplicationRecords: 0, problems: [`no key log at ${keyLogPath}: the presenter wrote no TLS secrets`] };
  }
  const read = streams.map((s) => wireAlerts(s, keyLog));
  const mine = read.filter((w) => w.serverHello && !w.problems.some((p) => p.startsWith('no TLS 1.3 secrets')));
  return mine[mine.length - 1] ?? read[read.length - 1] ?? { alerts: [], undecrypted: 0, serverApplicationRecords: 0, problems: [`the capture ${capture} holds no TCP conversation`] };
}

/**
 * The presenter has its answer before the sidecar has written the broker's last packets: once a
 * run stopped the capture with the client's Certificate as its last frame, and the broker's
 * certificate_revoked alert (read by the presenter itself) was not on the wire. Wait, bounded,
 * until the capture holds the broker closing every connection it accepted (FIN or RST from its
 * port): on swarm at load 8 the revoked wearable's own retry, refused in the same capture, closed
 * first, and a wait for any close stopped the capture 1 s before the presenter's answer.
 */
export async function untilBrokerClosed(capture: string, brokerPort: number, boundMs = 5_000): Promise<void> {
  const until = Date.now() + boundMs;
  const closed = () => {
    try {
      return brokerClosedEveryConnection(readPcap(capture).packets, brokerPort);
    } catch {
      return false; // not written yet
    }
  };
  while (!closed() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}

/** The broker (at `brokerPort`) accepted at least one connection in these packets (SYN-ACK) and closed each of them (FIN or RST). */
export function brokerClosedEveryConnection(packets: readonly CapturedPacket[], brokerPort: number): boolean {
  const fromBroker = packets.filter((p) => p.src.port === brokerPort && p.tcpFlags);
  const key = (p: CapturedPacket) => `${p.dst.address}:${p.dst.port}`;
  const accepted = new Set(fromBroker.filter((p) => p.tcpFlags?.syn && p.tcpFlags.ack).map(key));
  const closed = new Set(fromBroker.filter((p) => p.tcpFlags?.fin || p.tcpFlags?.rst).map(key));
  return accepted.size > 0 && [...accepted].every((c) => closed.has(c));
}
