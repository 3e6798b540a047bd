/**
 * Cloud service: the only party besides the wearable that can open E3 packets. It takes every
 * packet the broker delivers, opens it with node:crypto (OpenSSL), enforces the replay window and
 * timestamp window, and writes an audit entry for every packet, accepted or rejected, with the
 * reason (source chapter §17.6 step 4: "Audit trail (164.312(b)) — sequence numbers in E3").
 *
 * It never throws on a payload: any byte string becomes an audit entry (docs/architecture.md §11 Non-negotiables).
 */
import { appendFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { E3Opener, type E3RejectionReason } from '../../crypto/e3-opener.ts';
import { decodeReading, type Reading } from '../../crypto/e3-reading.ts';
import { ObservationLog } from '../observation-log.ts';
import type { DeviceRegistry } from './device-registry.ts';

export interface AuditEntry {
  readonly index: number;
  readonly at: number;
  readonly verdict: 'accepted' | 'rejected';
  readonly reason?: E3RejectionReason;
  readonly detail: string;
  readonly topic: string;
  /** The TLS identity that delivered the packet to the broker (a device or the gateway). */
  readonly deliveredBy: string;
  readonly deviceId?: string;
  readonly pseudonym?: string;
  readonly sequence?: bigint;
  readonly timestamp?: number;
  readonly reading?: Reading;
  readonly packetBytes: number;
}

export interface CloudServiceOptions {
  readonly registry: DeviceRegistry;
  readonly cloudE3PrivateKey: KeyObject;
  readonly nowSec: () => number;
  readonly maxSkewSec?: number;
  /** Append every audit entry as a JSON line here (evidence for analysts). */
  readonly auditFile?: string;
}

export class CloudService {
  readonly log = new ObservationLog<'audit'>('cloud-service');
  readonly #audit: AuditEntry[] = [];
  readonly #opener: E3Opener;
  readonly #auditFile: string | undefined;

  constructor(readonly options: CloudServiceOptions) {
    this.#opener = new E3Opener({
      cloudPrivateKey: options.cloudE3PrivateKey,
      lookup: (pseudonymHex) => options.registry.byPseudonym(pseudonymHex),
      nowSec: options.nowSec,
      ...(options.maxSkewSec !== undefined ? { maxSkewSec: options.maxSkewSec } : {}),
    });
    this.#auditFile = options.auditFile;
  }

  ingest(payload: Uint8Array, meta: { topic: string; deliveredBy: string }): AuditEntry {
    const result = this.#opener.open(payload);
    const base = { index: this.#audit.length, at: Date.now(), topic: meta.topic, deliveredBy: meta.deliveredBy, packetBytes: payload.length };
    let entry: AuditEntry;
    if (result.ok) {
      let reading: Reading | undefined;
      let detail = `opened reading #${result.sequence} from ${result.deviceId}`;
      try {
        reading = decodeReading(result.reading);
      } catch (err) {
        // Authenticated but undecodable: the device itself sent it, so keep it, flagged.
        detail += `; reading layout invalid: ${(err as Error).message}`;
      }
      entry = { ...base, verdict: 'accepted', detail, deviceId: result.deviceId, pseudonym: result.pseudonym, sequence: result.sequence, timestamp: result.timestamp, ...(reading ? { reading } : {}) };
    } else {
      entry = {
        ...base,
        verdict: 'rejected',
        reason: result.reason,
        detail: result.detail,
        ...(result.deviceId !== undefined ? { deviceId: result.deviceId } : {}),
        ...(result.pseudonym !== undefined ? { pseudonym: result.pseudonym } : {}),
        ...(result.sequence !== undefined ? { sequence: result.sequence } : {}),
      };
    }
    this.#audit.push(entry);
    this.log.record('audit', `${entry.verdict}${entry.reason ? ` (${entry.reason})` : ''}: ${entry.detail}`, { entry });
    if (this.#auditFile) appendFileSync(this.#auditFile, auditLine(entry), { mode: 0o600 });
    return entry;
  }

  audit(): readonly AuditEntry[] {
    return this.#audit;
  }

  accepted(deviceId?: string): AuditEntry[] {
    return this.#audit.filter((e) => e.verdict === 'accepted' && (deviceId === undefined || e.deviceId === deviceId));
  }

  rejected(reason?: E3RejectionReason): AuditEntry[] {
    return this.#audit.filter((e) => e.verdict === 'rejected' && (reason === undefined || e.reason === reason));
  }

  /**
   * Sequence numbers missing between the first and last accepted reading of a device: what a
   * dropping gateway leaves behind, visible only because E3 authenticates the sequence.
   */
  sequenceGaps(deviceId: string): bigint[] {
    const seqs = [...new Set(this.accepted(deviceId).map((e) => e.sequence as bigint))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const gaps: bigint[] = [];
    for (let i = 1; i < seqs.length; i++) {
      for (let s = (seqs[i - 1] as bigint) + 1n; s < (seqs[i] as bigint); s++) gaps.push(s);
    }
    return gaps;
  }
}

/**
 * One audit entry as a JSON line (the sequence, a bigint, as its decimal string). The only bigint
 * in an entry is `sequence`, so it is converted in place of a replacer function called for every
 * key: same line, cheaper at fleet rates (a host that writes the audit itself, topology/local-fleet.ts).
 */
export function auditLine(entry: AuditEntry): string {
  return JSON.stringify(entry.sequence === undefined ? entry : { ...entry, sequence: entry.sequence.toString() }) + '\n';
}
