/**
 * What a broker did with the readings it took while the cloud's subscriber was away, from the
 * broker's own records (Aedes' observation log; Mosquitto's log parsed by
 * containers/cloud-broker-container.ts): every reading it received, per wearable, how many it
 * delivered to the subscriber, and whether it recorded dropping messages for it.
 *
 * A wearable publishes its readings in sequence order over one connection (first copies, DUP 0),
 * so its k-th PUBLISH the broker received carries sequence k. An offline client's queue only
 * grows until the client returns: Mosquitto 2.0.11 queues a message while the client's count is
 * under max_queued_messages and drops it otherwise (src/database.c db__message_insert,
 * db__ready_for_queue), so what it kept of each wearable is the first readings it received and
 * what it dropped is the rest. Those are the readings the cloud's gap report must name.
 */
import type { Observation } from '../observation-log.ts';
import type { DeviceGap } from './fleet-ledger.ts';

export interface BrokerBacklog {
  /** Readings the broker received (first copies), per wearable identity. */
  readonly receivedPer: Readonly<Record<string, number>>;
  /** Readings the broker delivered to the subscriber (first copies), per wearable identity. */
  readonly deliveredPer: Readonly<Record<string, number>>;
  readonly received: number;
  readonly delivered: number;
  /** The broker's own records that it dropped messages for the subscriber. */
  readonly dropRecords: number;
  /** Per wearable, the sequences the broker received and never delivered, ascending. */
  readonly undelivered: Readonly<Record<string, readonly number[]>>;
}

export function brokerBacklog(records: readonly Observation[], subscriberClientId: string): BrokerBacklog {
  const deviceOfTopic = new Map<string, string>();
  const receivedPer: Record<string, number> = {};
  const deliveredPer: Record<string, number> = {};
  let dropRecords = 0;
  for (const o of records) {
    const topic = typeof o.detail.topic === 'string' ? o.detail.topic : undefined;
    if (o.kind === 'publish' && topic && typeof o.detail.identity === 'string' && o.detail.dup !== true) {
      deviceOfTopic.set(topic, o.detail.identity);
      receivedPer[o.detail.identity] = (receivedPer[o.detail.identity] ?? 0) + 1;
    }
  }
  for (const o of records) {
    const device = typeof o.detail.topic === 'string' ? deviceOfTopic.get(o.detail.topic) : undefined;
    if (o.kind === 'deliver' && o.detail.clientId === subscriberClientId && o.detail.dup !== true && device) deliveredPer[device] = (deliveredPer[device] ?? 0) + 1;
    if (o.kind === 'queue-drop' && o.detail.clientId === subscriberClientId) dropRecords++;
  }
  const undelivered: Record<string, number[]> = {};
  for (const [device, received] of Object.entries(receivedPer)) {
    const delivered = deliveredPer[device] ?? 0;
    if (delivered < received) undelivered[device] = Array.from({ length: received - delivered }, (_, i) => delivered + 1 + i);
  }
  const sum = (per: Record<string, number>) => Object.values(per).reduce((a, b) => a + b, 0);
  return { receivedPer, deliveredPer, received: sum(receivedPer), delivered: sum(deliveredPer), dropRecords, undelivered };
}

/**
 * Where the cloud's gap report and the broker's account disagree, one line per wearable (at most
 * `limit`): a sequence the report names that the broker delivered, or one the broker did not
 * deliver that the report leaves out. Empty: the report names exactly what the broker dropped.
 */
export function gapReportDisagreements(gaps: readonly DeviceGap[], backlog: BrokerBacklog, limit = 5): string[] {
  const reported = new Map(gaps.map((g) => [g.deviceId, g.missing]));
  const devices = new Set([...reported.keys(), ...Object.keys(backlog.undelivered)]);
  const out: string[] = [];
  for (const device of [...devices].sort()) {
    const named = (reported.get(device) ?? []).join(',');
    const dropped = (backlog.undelivered[device] ?? []).join(',');
    if (named !== dropped) out.push(`${device}: the gap report names [${named}], the broker did not deliver [${dropped}]`);
  }
  return out.length > limit ? [...out.slice(0, limit), `… and ${out.length - limit} more wearables`] : out;
}
