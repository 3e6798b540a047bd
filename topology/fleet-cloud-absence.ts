/**
 * A fleet whose cloud service can go away while the wearables report (features/fleet-backpressure.feature):
 * the cloud subscribes with a persistent session (emulators/cloud/persistent-subscriber.ts), so
 * the broker queues readings for it while it is away, within its queue quota, and the broker's
 * records say what it received, delivered and dropped (emulators/fleet/broker-backlog.ts).
 */
import type { Observation } from '../emulators/observation-log.ts';
import type { FleetRig } from './fleet-rig.ts';

export interface FleetCloudAbsence {
  /** The cloud's MQTT client id, as the broker's records name it. */
  readonly cloudClientId: string;
  /** The cloud disconnects, its session (subscription and queue) left with the broker. */
  cloudAway(): Promise<void>;
  /** The cloud connects again with the same client id and clean session 0; the broker's CONNACK says whether it kept the session. */
  cloudBack(): Promise<{ sessionPresent: boolean }>;
  /** The broker's own records since it started. */
  brokerRecords(): Promise<readonly Observation[]>;
}

/**
 * Why a placement cannot take the fleet's cloud away, or undefined. The swarm fleet's cloud service
 * is a service task whose control routes (POST /away, /back) topology/swarm-fleet.ts does not
 * reach yet; the scenario is skipped there with this reason instead of failing.
 */
export function cloudAbsenceUnplaced(placement: string): string | undefined {
  return placement === 'local' || placement === 'containers' ? undefined : `the ${placement} fleet cannot take its cloud service away mid-run yet (topology/swarm-fleet.ts has no route to it); run @fleet-backpressure with --topology containers`;
}

export function cloudCanGoAway(rig: FleetRig): FleetRig & FleetCloudAbsence {
  const r = rig as Partial<FleetCloudAbsence>;
  if (!r.cloudAway || !r.cloudBack || !r.brokerRecords) throw new Error(`fleet: the ${rig.placement} fleet cannot take its cloud service away mid-run; run the backpressure scenario on local or containers`);
  return rig as FleetRig & FleetCloudAbsence;
}

/** Mosquitto's max_queued_messages for the cloud's queue: a whole number from 1 (0 would mean no quota at all to Mosquitto, mosquitto.conf(5)). */
export function checkQueueQuota(quota: number): number {
  if (!Number.isInteger(quota) || quota < 1) throw new Error(`a broker queue quota must be a whole number of messages from 1, got ${quota}: Mosquitto reads max_queued_messages 0 as no quota at all, which this scenario cannot tell from a quota never reached`);
  return quota;
}
