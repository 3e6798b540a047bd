/**
 * Revocation in a running fleet (features/fleet-revocation.feature): the CA revokes one wearable's
 * certificate while the fleet reports, and the broker reloads its CRL. What the steps hold, on
 * either placement: the revocation itself, the revoked device's own record, the broker's records,
 * and the revoked credential presented again on a captured link (its refusal read from the wire,
 * TLS 1.3 alerts decrypted with the presenter's key log, analysis/tls-alerts.ts).
 */
import { readFileSync } from 'node:fs';
import { readPcap, reassembleTcpStreams, type CapturedPacket, type Endpoint, type TcpStream } from '../capture/pcap-reader.ts';
import { waitUntil } from '../emulators/fleet/fleet.ts';
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

/** The client random's offset in a connection's first bytes: after the record header (RFC 8446 §5.1), the handshake header (§4) and legacy_version (§4.1.2). */
const CLIENT_RANDOM_AT = 5 + 4 + 2;

/**
 * The presenter's own connection in a capture that may hold others (in containers and swarm the
 * capture sits beside a shard: all of its wearables, the revoked one's retries among them): the
 * last one whose ClientHello carries a client random named in the presenter's key log (NSS key
 * log lines are "<label> <client_random> <secret>"). Undefined until that ClientHello is captured.
 */
export function presenterStream(streams: readonly TcpStream[], keyLog: string): TcpStream | undefined {
  const randoms = new Set(keyLog.split('\n').map((line) => line.trim().split(/\s+/)[1]?.toLowerCase()));
  return streams.findLast((s) => randoms.has(Buffer.from(s.clientToServer.subarray(CLIENT_RANDOM_AT, CLIENT_RANDOM_AT + 32)).toString('hex')));
}

/**
 * What the presenter's connection says on the wire, TLS 1.3 alerts decrypted with its key log;
 * the capture's last conversation if none is the presenter's. `unseen`: what the wait for the
 * broker's close did not see (untilBrokerClosesPresenter), kept with the problems.
 */
export function presenterAlerts(capture: string, keyLogPath: string, unseen?: string): WireAlerts {
  const streams = reassembleTcpStreams(readPcap(capture).packets);
  const noted = unseen ? [unseen] : [];
  let keyLog = '';
  try {
    keyLog = readFileSync(keyLogPath, 'latin1');
  } catch {
    return { alerts: [], undecrypted: 0, serverApplicationRecords: 0, problems: [`no key log at ${keyLogPath}: the presenter wrote no TLS secrets`, ...noted] };
  }
  const stream = presenterStream(streams, keyLog) ?? streams[streams.length - 1];
  if (!stream) return { alerts: [], undecrypted: 0, serverApplicationRecords: 0, problems: [`the capture ${capture} holds no TCP conversation`, ...noted] };
  const wire = wireAlerts(stream, keyLog);
  return { ...wire, problems: [...wire.problems, ...noted] };
}

/** How often the wait below reads the capture the sidecar is writing. */
const CAPTURE_POLL_MS = 100;

/**
 * The presenter has its answer before the sidecar has written the broker's last packets: once a
 * run stopped the capture with the client's Certificate as its last frame, and the broker's
 * certificate_revoked alert (read by the presenter itself) was not on the wire. Wait, bounded,
 * until the capture holds the broker closing the presenter's own connection (FIN or RST). Not
 * any close: on swarm at load 8 the revoked wearable's retry, refused in the same capture,
 * closed first; not every close: any other wearable that reconnects meanwhile stays open. At the
 * bound, returns what was not seen, for the report beside the wire's alerts (the step's
 * assertions on them then say whether it mattered); undefined once seen.
 */
export async function untilBrokerClosesPresenter(capture: string, keyLogPath: string, boundMs = 5_000): Promise<string | undefined> {
  let seen: PresenterClose = { closedByBroker: false };
  const closed = () => {
    try {
      seen = presenterClose(readPcap(capture).packets, readFileSync(keyLogPath, 'latin1'));
    } catch {
      // neither written yet
    }
    return seen.closedByBroker;
  };
  const unseen = () => (seen.clientPort === undefined
    ? `the capture holds no connection of the presenter (no ClientHello with a client random from ${keyLogPath})`
    : `no FIN/RST from the broker for the presenter's connection (port ${seen.clientPort})`);
  return waitUntil(closed, boundMs, unseen, CAPTURE_POLL_MS).then(() => undefined, (e: Error) => e.message);
}

/** The presenter's connection in captured packets: its client port once its ClientHello is in, and whether the broker has closed it. */
export interface PresenterClose {
  readonly clientPort?: number;
  readonly closedByBroker: boolean;
}

export function presenterClose(packets: readonly CapturedPacket[], keyLog: string): PresenterClose {
  const mine = presenterStream(reassembleTcpStreams([...packets]), keyLog);
  if (!mine) return { closedByBroker: false };
  const same = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;
  const closedByBroker = packets.some((p) => same(p.src, mine.server) && same(p.dst, mine.client) && (p.tcpFlags?.fin || p.tcpFlags?.rst) === true);
  return { clientPort: mine.client.port, closedByBroker };
}
