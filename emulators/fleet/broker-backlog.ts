/**
 * What a broker did with the readings it took while the cloud's subscriber was away, from the
 * broker's own records (Aedes' observation log; Mosquitto's log parsed by
 * containers/cloud-broker-container.ts): every reading it received, per wearable, how many it
 * delivered to the subscriber, and whether it recorded dropping messages for it.
 *
 * The account starts at the subscriber's DISCONNECT (the cloud going away). A wearable publishes
 * its readings in sequence order over one connection (first copies, DUP 0), so its k-th PUBLISH
 * the broker received carries sequence k; a resend breaks that, and the account is then refused.
 * An offline client's queue only grows until the client returns: Mosquitto 2.0.11 queues a message while the client's count is
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
  const resentPer: Record<string, number> = {};
  const deliveredPer: Record<string, number> = {};
  let dropRecords = 0;
  const backlog = sinceSubscriberLeft(records, subscriberClientId);
  for (const o of backlog) {
    const topic = typeof o.detail.topic === 'string' ? o.detail.topic : undefined;
    if (o.kind !== 'publish' || !topic || typeof o.detail.identity !== 'string') continue;
    deviceOfTopic.set(topic, o.detail.identity);
    const per = o.detail.dup === true ? resentPer : receivedPer;
    per[o.detail.identity] = (per[o.detail.identity] ?? 0) + 1;
  }
  for (const o of backlog) {
    const device = typeof o.detail.topic === 'string' ? deviceOfTopic.get(o.detail.topic) : undefined;
    if (o.kind === 'deliver' && o.detail.clientId === subscriberClientId && o.detail.dup !== true && device) deliveredPer[device] = (deliveredPer[device] ?? 0) + 1;
    if (o.kind === 'queue-drop' && o.detail.clientId === subscriberClientId) dropRecords++;
  }
  refuseUncountable(resentPer, receivedPer, deliveredPer);
  const undelivered: Record<string, number[]> = {};
  for (const [device, received] of Object.entries(receivedPer)) {
    const delivered = deliveredPer[device] ?? 0;
    if (delivered < received) undelivered[device] = Array.from({ length: received - delivered }, (_, i) => delivered + 1 + i);
  }
  const sum = (per: Record<string, number>) => Object.values(per).reduce((a, b) => a + b, 0);
  return { receivedPer, deliveredPer, received: sum(receivedPer), delivered: sum(deliveredPer), dropRecords, undelivered };
}

/**
 * The broker's records from the subscriber's first DISCONNECT on: the backlog starts there. A log
 * without that record began late or was cut, and its counts would fail as a mismatch with no reason.
 */
function sinceSubscriberLeft(records: readonly Observation[], subscriberClientId: string): readonly Observation[] {
  if (!records.some((o) => o.kind === 'publish')) {
    throw new Error("broker-backlog: the broker's records hold no PUBLISH at all: its packet log is off (Mosquitto: withoutPacketLog, log_type all missing); run the broker with its packet log to account for the backlog");
  }
  const left = records.findIndex((o) => o.kind === 'client-disconnect' && o.detail.clientId === subscriberClientId);
  if (left < 0) throw new Error(`broker-backlog: the broker's records hold no disconnect of ${subscriberClientId}, so nothing marks where the backlog starts: the log began after the subscriber left or was cut; read the broker's log from its start`);
  return records.slice(left + 1);
}

/**
 * Counts say which sequences the broker kept only when each device's k-th reception is its k-th
 * reading. A resend (DUP 1) breaks that: Mosquitto 2.0.11 does not de-duplicate QoS 1 (MQTT 3.1.1
 * §4.3.2 allows duplicates), so the copy is queued again, takes a quota slot and reaches the cloud
 * as a new message (d0). Its message id is the publisher's, the delivery's the broker's, so the two
 * cannot be lined up either: such an account is refused, with the device that made it so.
 */
function refuseUncountable(resentPer: Record<string, number>, receivedPer: Record<string, number>, deliveredPer: Record<string, number>): void {
  const [resender] = Object.entries(resentPer);
  if (resender) {
    const [device, resent] = resender;
    throw new Error(`broker-backlog: ${device} resent ${resent} reading(s) (DUP 1) while the subscriber was away; the broker queues a resend again as a new message, so counts cannot say which sequences it delivered`);
  }
  for (const [device, delivered] of Object.entries(deliveredPer)) {
    const received = receivedPer[device] ?? 0;
    if (delivered > received) throw new Error(`broker-backlog: the broker delivered ${delivered} messages of ${device} but received only ${received} first copies; counts cannot say which sequences it delivered`);
  }
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
