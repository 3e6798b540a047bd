/**
 * The fleet graph's handle (docs/architecture.md §8 The graph and its placements): what the fleet steps hold, whatever placement runs it.
 * `local` (topology/local-fleet.ts): the fleet, Aedes and the cloud service in this process on
 * loopback. `containers` (topology/containers-fleet.ts): the fleet sharded over wearable
 * containers, Mosquitto, and the cloud service in its own container. A further placement (swarm)
 * implements the same interface with the same role images.
 */
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import type { LedgerReport } from '../emulators/fleet/fleet-ledger.ts';

export interface FleetSpec {
  readonly wearables: number;
  /** Simulated seconds per wall second (the 30 s interval at this speed-up). */
  readonly speedup: number;
  /** Simulated Unix time at the start (e.g. just before a 24 h key epoch ends). */
  readonly startSec?: number;
  /** Readings each device holds while it cannot deliver them. */
  readonly queueCapacity?: number;
  /** Capture the broker's link (containers: a tcpdump sidecar beside the broker). */
  readonly capture?: boolean;
  /** The broker checks client certificates against the CA's CRL from the start (an empty one), so the CA can revoke mid-run. */
  readonly revocable?: boolean;
  /**
   * The cloud subscribes over MQTT with a persistent session and may go away mid-run
   * (topology/fleet-cloud-absence.ts); the broker keeps every packet in its log, so what it did
   * with the backlog can be read from it. `brokerQueueQuota`: messages the broker holds for the
   * away cloud (Mosquitto max_queued_messages); undefined: no quota (Aedes has none).
   */
  readonly cloudMayGoAway?: { readonly brokerQueueQuota?: number };
}

/**
 * The broker's handshakes since its restart: from its own log (Aedes) or from captures of the
 * devices' links (Mosquitto logs none). `unreadable`: connections the capture holds too little of.
 */
export interface BrokerHandshakes {
  readonly source: string;
  readonly full: number;
  readonly resumed: number;
  readonly unreadable: number;
}

export interface FleetRig {
  readonly placement: 'local' | 'containers' | 'swarm';
  readonly dir: string;
  start(spec: FleetSpec): Promise<void>;
  /** Connect every wearable (mutual TLS, MQTT persistent session); bounded. */
  connectAll(deadlineMs: number): Promise<{ seconds: number }>;
  /** Every wearable seals and publishes `count` readings on the compressed interval; bounded. */
  report(count: number, deadlineMs: number): Promise<void>;
  /** Simulated time is `startSec` now, for the fleet and the cloud alike (the key epoch scenario). */
  setClock(startSec: number): Promise<void>;
  /** Stop the broker and start it again on the same address (Mosquitto: docker restart). */
  restartBroker(): Promise<void>;
  /** Wait until every sealed reading has been acknowledged and opened by the cloud; bounded. */
  settle(deadlineMs: number): Promise<void>;
  fleetStats(): Promise<FleetStats>;
  ledger(): Promise<LedgerReport>;
  /** Handshakes the broker completed since its restart, full and resumed. */
  brokerHandshakes(): Promise<BrokerHandshakes>;
  stop(): Promise<void>;
}

export const FLEET_DEVICE_PREFIX = 'wearable-';

export function fleetDeviceIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${FLEET_DEVICE_PREFIX}${String(i + 1).padStart(4, '0')}`);
}
