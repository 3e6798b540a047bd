/**
 * Where the readings a fleet sealed are, by the wearables' own count. A device hands every reading
 * it seals to its store-and-forward queue (FleetDevice.read), and from there a reading is either
 * acknowledged by the broker (PUBACK, MQTT 3.1.1 §4.3.2), still waiting for one, or refused by a
 * full queue (counted). So sealed = acknowledged + pending + overflows, always.
 *
 * That identity says which party held a reading the cloud never opened: when it holds, the broker
 * acknowledged the reading (or it still waits on the device) and the loss lies between the
 * broker's PUBACK and the cloud; when it does not, the reading never left the device that sealed
 * it. Written for the swarm run where wearable-0142's reading 3 was missing and a broker restart
 * was suspected: the shard had sealed it outside the send path (docs/scale-out.md).
 */
import type { FleetStats } from './fleet-counters.ts';

export type DeviceSideCounts = Pick<FleetStats, 'sealed' | 'acknowledged' | 'pending' | 'overflows'>;

/** Readings sealed that are neither acknowledged by the broker, nor queued, nor counted as dropped: 0 unless the device lost them itself. */
export function readingsNeverHandedOn(s: DeviceSideCounts): number {
  return s.sealed - s.acknowledged - s.pending - s.overflows;
}

/** One clause for a failure message: what the wearables sealed and where those readings are now. */
export function whereSealedReadingsAre(s: DeviceSideCounts): string {
  const lost = readingsNeverHandedOn(s);
  const parts = [`the wearables sealed ${s.sealed}`, `the broker acknowledged ${s.acknowledged}`, `${s.pending} still queued on the wearables`, `${s.overflows} dropped from full queues`];
  if (lost > 0) parts.push(`${lost} never handed to a queue`);
  // More accounted for than sealed: a reading counted twice (e.g. acknowledged and still queued).
  if (lost < 0) parts.push(`${-lost} more acknowledged, queued or dropped than were sealed`);
  return parts.join(', ');
}
