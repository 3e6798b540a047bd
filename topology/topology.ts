/**
 * One interface for every placement of the roles (docs/architecture.md §8 The graph and its placements): `local` runs them in this
 * process on loopback; `containers` (a later stage) runs the same role code in containers.
 * Steps talk only to this interface, so the same feature files run on both. Every query is
 * async because on other placements the roles' observation logs live in other processes.
 */
import type { Observation } from '../emulators/observation-log.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import type { LinkImpairments } from '../links/impairments.ts';
import type { TlsServerPolicyName } from '../emulators/tls-server-policy.ts';
import type { DtlsFleetReporting } from '../emulators/dtls/dtls-fleet-shard.ts';

export type Placement = 'local' | 'containers' | 'swarm';

/** How the wearables reach the cloud. */
export type Path =
  /** wearable → gateway (terminates TLS, forwards MQTT over its own TLS) → cloud */
  | 'terminating-gateway'
  /** wearable → gateway (transparent TCP relay) → cloud: TLS end to end */
  | 'relay-gateway'
  /** wearable →DTLS 1.2→ gateway (strips DTLS, forwards E3 over its own MQTT/TLS) → cloud (topology/local-dtls-topology.ts) */
  | 'dtls-stripping-gateway'
  /** wearable →DTLS-PSK→ on-path attacker holding the PSK →DTLS-PSK→ the cloud's DTLS endpoint */
  | 'dtls-psk-attacker';

export interface TopologySpec {
  readonly wearables: number;
  readonly path: Path;
  readonly gatewayMalice: readonly GatewayMalice[];
  /** Simulated seconds per wall second (the source chapter's 30 s interval compressed). */
  readonly speedup: number;
  /** Client profile of the wearables. */
  readonly wearableProfile: string;
  /** Impairments of the wearables' first link (DTLS paths: the UDP device link). */
  readonly deviceLinkImpairments?: LinkImpairments;
  /** DTLS paths: a wearable handshakes again after this many unacknowledged sends of a reading (emulators/dtls/dtls-wearable.ts). */
  readonly dtlsReconnectAfterSends?: number;
  /** Client profile of the gateway's upstream (E4) client; `secure` when absent. */
  readonly gatewayUpstreamProfile?: string;
  /** A man-in-the-middle on the gateway→cloud link (terminating-gateway path). */
  readonly gatewayCloudMitm?: GatewayCloudMitm;
  /** A man-in-the-middle on the device link, between the wearables and the gateway (terminating-gateway path). */
  readonly deviceGatewayMitm?: DeviceGatewayMitm;
  /** The cloud broker's TLS policy (emulators/tls-server-policy.ts); its built-in TLS 1.2+ settings when absent. */
  readonly brokerPolicy?: TlsServerPolicyName;
  /**
   * dtls-stripping-gateway: the wearables are ONE fleet bridge process (emulators/dtls/dtls-fleet-shard.ts),
   * each device on its own PSK session, reporting as told here; the gateway then takes the fleet's PSK.
   */
  readonly dtlsFleet?: DtlsFleetReporting;
}

export interface GatewayCloudMitm {
  /** A forged-certificate case from certs/forged-catalogue.ts. */
  readonly forgedCase: string;
  /**
   * The attacker holds the gateway's genuine certificate and key (extracted from a compromised
   * gateway): with it, the MITM can relay upstream into the real cloud.
   */
  readonly stolenGatewayIdentity: boolean;
}

export interface DeviceGatewayMitm {
  /** A forged-certificate case from certs/forged-catalogue.ts, forged for the gateway's name. */
  readonly forgedCase: string;
  /**
   * The device whose genuine certificate and key the attacker holds (extracted from a device):
   * the MITM connects onward to the gateway with it, since the gateway asks every client for a
   * certificate (mutual TLS). `up` gives it the device reserved for external clients.
   */
  readonly stolenDeviceIdentity: string;
}

export type RoleName = 'gateway' | 'mitm-proxy' | 'cloud-broker' | 'cloud-service' | `wearable:${string}` | `link:${string}`;

export interface SentReading {
  readonly deviceId: string;
  readonly sequence: bigint;
  readonly timestamp: number;
  /** The 48-byte plaintext reading as encoded on the device. */
  readonly plaintext: Uint8Array;
  readonly reading: unknown;
  readonly packet: Uint8Array;
}

/** A wearable's "reading-sent" observation, as the steps see it (one place for every placement). */
export function sentReadingOf(deviceId: string, o: Pick<Observation, 'detail' | 'bytes'>): SentReading {
  return {
    deviceId,
    sequence: o.detail.sequence as bigint,
    timestamp: o.detail.timestamp as number,
    plaintext: o.detail.plaintext as Uint8Array,
    reading: o.detail.reading,
    packet: o.bytes as Uint8Array,
  };
}

export interface CaptureFile {
  readonly link: string;
  readonly path: string;
}

export interface Evidence {
  readonly captures: readonly CaptureFile[];
  readonly keyLog: string;
  readonly auditLog: string;
}

export interface Topology {
  readonly placement: Placement;
  /** Where this topology writes its evidence (captures, key log, audit log). */
  readonly dir: string;
  start(spec: TopologySpec): Promise<void>;
  devices(): readonly DeviceProvisioning[];
  /** Have a wearable connect (if not yet) and report `count` readings on its interval. */
  report(deviceId: string, count: number): Promise<SentReading[]>;
  /** Wait (bounded) until everything sent has been acknowledged and audited. */
  settle(timeoutMs?: number): Promise<void>;
  observations(role: RoleName): Promise<readonly Observation[]>;
  audit(): Promise<readonly AuditEntry[]>;
  sequenceGaps(deviceId: string): Promise<bigint[]>;
  /** Stop every role and close the evidence files; safe to call twice. */
  stop(): Promise<Evidence>;
}
