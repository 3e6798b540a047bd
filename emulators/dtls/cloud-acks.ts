/**
 * When the cloud acknowledges a reading (reading-datagram.ts): for every accepted packet, and for
 * a "replay" rejection of a sequence it accepted before — that is the resend a lost ack causes,
 * and without an ack the wearable would keep resending it. A bad tag, a stale timestamp or an
 * unknown pseudonym is never acknowledged: the device must resend the genuine packet, so a
 * tampering gateway changes nothing but the audit log (source chapter §17.6).
 */
import type { AuditEntry } from '../cloud/cloud-service.ts';

export interface AckDecision {
  readonly pseudonymHex: string;
  readonly sequence: bigint;
  /** true when it acknowledges a duplicate (resend or replay) of an accepted reading. */
  readonly duplicate: boolean;
}

export function ackFor(entry: AuditEntry, wasAccepted: (deviceId: string, sequence: bigint) => boolean): AckDecision | undefined {
  if (entry.pseudonym === undefined || entry.sequence === undefined) return undefined;
  if (entry.verdict === 'accepted') return { pseudonymHex: entry.pseudonym, sequence: entry.sequence, duplicate: false };
  if (entry.reason === 'replay' && entry.deviceId !== undefined && wasAccepted(entry.deviceId, entry.sequence)) {
    return { pseudonymHex: entry.pseudonym, sequence: entry.sequence, duplicate: true };
  }
  return undefined;
}

/** MQTT topic on which the cloud publishes acknowledgements for one pseudonym. */
export function ackTopic(pseudonymHex: string): string {
  return `cloud/acks/${pseudonymHex}`;
}

export const ACK_TOPIC_FILTER = 'cloud/acks/+';
