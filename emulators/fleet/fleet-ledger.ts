/**
 * The cloud's delivery ledger for a fleet: from the audit entries as they are written, per
 * device, whether every reading arrived exactly once and in order (source chapter §17.6 step 4:
 * "sequence numbers in E3" are the audit trail). Kept as counters and one "next expected"
 * number per device, not the entries themselves, so 5,000 devices × thousands of readings stay
 * small; the audit log on disk keeps every entry.
 */
import type { AuditEntry } from '../cloud/cloud-service.ts';

export interface DeviceDelivery {
  /** Accepted readings. */
  accepted: number;
  /** Highest sequence accepted so far (0: none). */
  highest: number;
  /** Accepted readings whose sequence was not highest + 1 when they arrived. */
  outOfOrder: number;
  /** Copies refused as replays (QoS 1 resends after a lost PUBACK, a duplicating link). */
  duplicatesRefused: number;
  /** Sequences below `highest` not accepted (yet): jumped over when a later one arrived. */
  skipped?: Set<number>;
}

/** One device's entry in the gap report: what it sealed, what the cloud opened, and which sequences are missing. */
export interface DeviceGap {
  readonly deviceId: string;
  readonly sealed: number;
  readonly accepted: number;
  readonly highest: number;
  /** Sequences 1..sealed the cloud never opened, ascending. */
  readonly missing: readonly number[];
}

export interface LedgerReport {
  readonly devices: number;
  readonly accepted: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly duplicatesRefused: number;
  readonly outOfOrder: number;
  /** Devices whose accepted sequences are not exactly 1..sealed, with what is missing. */
  readonly gaps: readonly DeviceGap[];
  /** Accepted readings per simulated key epoch (floor(timestamp / 86400)). */
  readonly acceptedPerEpoch: Readonly<Record<string, number>>;
  /** Wall-clock ms of the first and last accepted reading. */
  readonly firstAcceptedAtMs: number;
  readonly lastAcceptedAtMs: number;
}

export class FleetLedger {
  readonly #devices = new Map<string, DeviceDelivery>();
  readonly #rejected = new Map<string, number>();
  readonly #perEpoch = new Map<number, number>();
  #accepted = 0;
  #first = 0;
  #last = 0;

  observe(entry: AuditEntry): void {
    if (entry.verdict === 'rejected') {
      this.#rejected.set(entry.reason ?? 'unknown', (this.#rejected.get(entry.reason ?? 'unknown') ?? 0) + 1);
      if (entry.reason === 'replay' && entry.deviceId) this.#device(entry.deviceId).duplicatesRefused++;
      return;
    }
    const d = this.#device(entry.deviceId as string);
    const sequence = Number(entry.sequence);
    if (sequence !== d.highest + 1) d.outOfOrder++;
    if (sequence > d.highest + 1) {
      d.skipped ??= new Set();
      for (let s = d.highest + 1; s < sequence; s++) d.skipped.add(s);
    } else d.skipped?.delete(sequence);
    d.highest = Math.max(d.highest, sequence);
    d.accepted++;
    this.#accepted++;
    const epoch = Math.floor((entry.timestamp ?? 0) / 86_400);
    this.#perEpoch.set(epoch, (this.#perEpoch.get(epoch) ?? 0) + 1);
    this.#first ||= entry.at;
    this.#last = entry.at;
  }

  get accepted(): number {
    return this.#accepted;
  }

  /**
   * Judge against what each device sealed: exactly once and complete means accepted = highest =
   * sealed (the replay window refuses a second copy, so accepted > sealed cannot happen unless
   * the window is broken; it would show as accepted ≠ highest).
   */
  report(sealedPerDevice: Readonly<Record<string, number>>): LedgerReport {
    const gaps: DeviceGap[] = [];
    let duplicates = 0;
    let outOfOrder = 0;
    for (const [deviceId, sealed] of Object.entries(sealedPerDevice)) {
      const d = this.#devices.get(deviceId) ?? { accepted: 0, highest: 0, outOfOrder: 0, duplicatesRefused: 0 };
      duplicates += d.duplicatesRefused;
      outOfOrder += d.outOfOrder;
      if (d.accepted !== sealed || d.highest !== sealed) gaps.push({ deviceId, sealed, accepted: d.accepted, highest: d.highest, missing: missingSequences(d, sealed) });
    }
    return {
      devices: Object.keys(sealedPerDevice).length,
      accepted: this.#accepted,
      rejectedByReason: Object.fromEntries(this.#rejected),
      duplicatesRefused: duplicates,
      outOfOrder,
      gaps,
      acceptedPerEpoch: Object.fromEntries([...this.#perEpoch].map(([e, n]) => [String(e), n])),
      firstAcceptedAtMs: this.#first,
      lastAcceptedAtMs: this.#last,
    };
  }

  #device(deviceId: string): DeviceDelivery {
    let d = this.#devices.get(deviceId);
    if (!d) this.#devices.set(deviceId, (d = { accepted: 0, highest: 0, outOfOrder: 0, duplicatesRefused: 0 }));
    return d;
  }
}

/** Sequences 1..sealed a device's ledger entry has not accepted: those jumped over, then those never reached. */
function missingSequences(d: DeviceDelivery, sealed: number): number[] {
  const missing = [...(d.skipped ?? [])].filter((s) => s <= sealed).sort((a, b) => a - b);
  for (let s = d.highest + 1; s <= sealed; s++) missing.push(s);
  return missing;
}
