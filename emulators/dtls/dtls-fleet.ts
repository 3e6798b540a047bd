/**
 * One DTLS wearable as every placement builds it (local: topology/local-dtls-topology.ts;
 * containers: containers/roles/dtls-roles.ts), so both run the same device with the same
 * credentials, resend budget and handshake bound.
 */
import { readPem, type PkiPaths } from '../../certs/pki-files.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import type { SimClock } from '../sim-clock.ts';
import { DtlsWearable, type DtlsCredentials } from './dtls-wearable.ts';
import type { UdpAddress } from './dtls-bridge-process.ts';

/** How the fleet authenticates its DTLS server: the run's PKI and a name, or a shared PSK. */
export type FleetDtlsAuth = { readonly kind: 'certificate'; readonly serverName: string } | { readonly kind: 'psk'; readonly pskHex: string };

export function fleetCredentials(pki: PkiPaths, deviceId: string, auth: FleetDtlsAuth): DtlsCredentials {
  if (auth.kind === 'psk') return { kind: 'psk', pskHex: auth.pskHex, identity: deviceId };
  const files = pki.wearable(deviceId);
  return { kind: 'certificate', certFile: files.chain, keyFile: files.key, caFile: pki.caBundle, serverName: auth.serverName };
}

/** Handshake bound: pion retransmits flights under loss (RFC 6347 §4.2.4), so a lossy link gets longer. */
export function fleetHandshakeTimeoutMs(impairedLink: boolean): number {
  return impairedLink ? 15_000 : 5_000;
}

export function fleetWearable(o: {
  readonly provisioning: DeviceProvisioning;
  readonly pki: PkiPaths;
  readonly cloudE3PublicKeyPem: string;
  readonly endpoint: UdpAddress;
  readonly auth: FleetDtlsAuth;
  readonly clock: SimClock;
  readonly handshakeTimeoutMs: number;
  readonly keyLogFile: string;
  /** Handshake again after this many unacknowledged sends of a reading (DtlsWearableConfig); unset: never. */
  readonly reconnectAfterSends?: number;
}): DtlsWearable {
  const d = o.provisioning;
  return new DtlsWearable({
    provisioning: d,
    deviceKeyPem: readPem(o.pki.wearable(d.deviceId).key, `the ${d.deviceId} device key`),
    cloudE3PublicKeyPem: o.cloudE3PublicKeyPem,
    endpoint: o.endpoint,
    credentials: fleetCredentials(o.pki, d.deviceId, o.auth),
    clock: o.clock,
    // Resends must land inside the cloud's ±300 s timestamp window (E3_DEFAULT_MAX_SKEW_SEC).
    resend: { intervalMs: Math.max(20, Math.min(500, o.clock.wallMs(30_000))), maxAttempts: 8 },
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    keyLogFile: o.keyLogFile,
    ...(o.reconnectAfterSends === undefined ? {} : { reconnectAfterSends: o.reconnectAfterSends }),
  });
}
