/**
 * One fleet device's own record, as the device itself keeps it: what it sealed, what still waits
 * in its store-and-forward queue for a PUBACK, what fell out of a full queue, and how often and
 * why the broker refused it. The revocation scenario reads it for the revoked wearable.
 */
import type { Fleet } from './fleet.ts';

export interface FleetDeviceRecord {
  readonly deviceId: string;
  readonly connected: boolean;
  /** Readings sealed so far (sequences 1..sealed). */
  readonly sealed: number;
  /** Readings in the queue, not acknowledged by the broker. */
  readonly queued: number;
  /** Lowest sequence still queued (0: none). */
  readonly oldestQueued: number;
  readonly refusals: number;
  readonly lastRefusal?: string;
}

export function fleetDeviceRecord(fleet: Fleet, deviceId: string): FleetDeviceRecord | undefined {
  const d = fleet.devices.find((x) => x.deviceId === deviceId);
  if (!d) return undefined;
  let oldest = 0;
  for (const entry of d.queue.pending()) {
    oldest = Number(entry.sequence);
    break;
  }
  return {
    deviceId,
    connected: d.connected,
    sealed: Number(d.nextSequence - 1n),
    queued: d.queue.size,
    oldestQueued: oldest,
    refusals: d.refusals,
    ...(d.lastRefusal ? { lastRefusal: d.lastRefusal } : {}),
  };
}
