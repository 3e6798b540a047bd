/**
 * Link impairments as data (STYLE.md: Toxiproxy's toxics), composed in order on one direction of
 * a link. The kernel here has no netem (docs/architecture.md §3 Roles), so impairments live in userspace: the
 * relay asks an `ImpairmentPipeline` what to do with each chunk (TCP) or datagram (UDP) and
 * when, and carries it out.
 *
 * Units are in the names: `latency({ ms, jitterMs })`, `loss({ rate })`, `bandwidth({ kbps })`.
 * Randomness comes from a seeded generator, so a seeded link impairs the same packets every run.
 *
 * TCP and UDP differ where the protocols do:
 * - UDP: `loss` drops the datagram, `duplicate` delivers it twice, `reorder` holds it back so
 *   later datagrams overtake it, `reset` forgets the flow (as a NAT rebinding does: the next
 *   datagram leaves from a new source port).
 * - TCP: the relay carries a byte stream, and TCP recovers from loss itself, so a "lost" chunk
 *   arrives one retransmission timeout late (`retransmitMs`, 200 ms by default: Linux's
 *   TCP_RTO_MIN; RFC 6298 §2 allows a 1 s minimum). The stream is never reordered and never
 *   duplicated: a TCP receiver hides both, so `duplicate` and `reorder` are refused on TCP with
 *   that reason. `reset` sends RST to both ends.
 */
import { seededRandom } from '../emulators/vital-signs.ts';
import { stripDtls13Offer } from './dtls13-offer-strip.ts';

export { seededRandom };

export type Transport = 'tcp' | 'udp';

export interface Latency { readonly kind: 'latency'; readonly ms: number; readonly jitterMs: number }
export interface Loss { readonly kind: 'loss'; readonly rate: number; readonly retransmitMs: number }
export interface Duplicate { readonly kind: 'duplicate'; readonly rate: number }
export interface Reorder { readonly kind: 'reorder'; readonly rate: number; readonly holdMs: number }
export interface Bandwidth { readonly kind: 'bandwidth'; readonly kbps: number }
export interface Reset { readonly kind: 'reset'; readonly afterBytes: number }
/** UDP: the NAT gives the flow a new outside (server-facing) port after this many datagrams. */
export interface Rebind { readonly kind: 'rebind'; readonly afterDatagrams: number }
/** UDP, an on-path attacker rather than a fault: DTLS 1.3 offers in ClientHellos become DTLS 1.2 (links/dtls13-offer-strip.ts). */
export interface StripDtls13Offer { readonly kind: 'strip-dtls13-offer' }
/** UDP: the same edit, and the server's HelloVerifyRequest answered by the attacker (links/dtls-downgrade-mitm.ts; the UDP link does it). */
export interface DowngradeMitm { readonly kind: 'downgrade-mitm' }

export type Impairment = Latency | Loss | Duplicate | Reorder | Bandwidth | Reset | Rebind | StripDtls13Offer | DowngradeMitm;
export type ImpairmentKind = Impairment['kind'];

export const IMPAIRMENT_KINDS: readonly ImpairmentKind[] = ['latency', 'loss', 'duplicate', 'reorder', 'bandwidth', 'reset', 'rebind', 'strip-dtls13-offer', 'downgrade-mitm'];

/** One hour: a longer delay is a typo, not an experiment. */
const MAX_DELAY_MS = 3_600_000;
/** 100 Gbit/s in kbit/s. */
const MAX_KBPS = 100_000_000;
const MAX_BYTES = 2 ** 40;

function checkRange(what: string, name: string, value: unknown, min: number, max: number, integer = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new Error(`impairments: ${what} ${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** Delay every chunk by `ms`, ± up to `jitterMs` (uniform), never below zero. */
export function latency(o: { ms: number; jitterMs?: number }): Latency {
  return {
    kind: 'latency',
    ms: checkRange('latency', 'ms', o.ms, 0, MAX_DELAY_MS),
    jitterMs: checkRange('latency', 'jitterMs', o.jitterMs ?? 0, 0, MAX_DELAY_MS),
  };
}

/** Lose a fraction `rate` (0..1) of chunks; on TCP they arrive `retransmitMs` late instead. */
export function loss(o: { rate: number; retransmitMs?: number }): Loss {
  return {
    kind: 'loss',
    rate: checkRange('loss', 'rate', o.rate, 0, 1),
    retransmitMs: checkRange('loss', 'retransmitMs', o.retransmitMs ?? 200, 1, MAX_DELAY_MS),
  };
}

/** Deliver a fraction `rate` (0..1) of datagrams twice (UDP only). */
export function duplicate(o: { rate: number }): Duplicate {
  return { kind: 'duplicate', rate: checkRange('duplicate', 'rate', o.rate, 0, 1) };
}

/** Hold a fraction `rate` (0..1) of datagrams back by `holdMs`, so later ones overtake them (UDP only). */
export function reorder(o: { rate: number; holdMs?: number }): Reorder {
  return {
    kind: 'reorder',
    rate: checkRange('reorder', 'rate', o.rate, 0, 1),
    holdMs: checkRange('reorder', 'holdMs', o.holdMs ?? 10, 1, MAX_DELAY_MS),
  };
}

/** Serialise chunks at `kbps` kilobits per second (1 kbit = 1000 bit): a queue, not a drop. */
export function bandwidth(o: { kbps: number }): Bandwidth {
  return { kind: 'bandwidth', kbps: checkRange('bandwidth', 'kbps', o.kbps, 1, MAX_KBPS) };
}

/** Reset the connection (TCP: RST both ways; UDP: forget the flow) once `afterBytes` have passed. */
export function reset(o: { afterBytes: number }): Reset {
  return { kind: 'reset', afterBytes: checkRange('reset', 'afterBytes', o.afterBytes, 0, MAX_BYTES, true) };
}

/**
 * A home router's NAT rebinding (RFC 9146 §1): after `afterDatagrams` datagrams of a flow in this
 * direction the link sends that flow's later datagrams from a new outside port, and answers to
 * the old port are lost. The device's own socket does not change. UDP only; once per link.
 */
export function rebind(o: { afterDatagrams: number }): Rebind {
  return { kind: 'rebind', afterDatagrams: checkRange('rebind', 'afterDatagrams', o.afterDatagrams, 1, 1_000_000, true) };
}

/** The downgrade MITM of RFC 8446 §4.1.3: ClientHellos leave offering DTLS 1.2 where they offered 1.3 (UDP only). */
export function stripDtls13OfferAttack(): StripDtls13Offer {
  return { kind: 'strip-dtls13-offer' };
}

/** The downgrade MITM that also answers the server's DTLS 1.2 cookie exchange (client→server list of a UDP link). */
export function downgradeMitm(): DowngradeMitm {
  return { kind: 'downgrade-mitm' };
}

/**
 * Builds an impairment from its name and settings, as a feature file or a config file names it.
 * An unknown name or setting is refused with the valid ones.
 */
export function impairment(name: string, settings: Record<string, unknown>): Impairment {
  const allowed: Record<ImpairmentKind, readonly string[]> = {
    latency: ['ms', 'jitterMs'], loss: ['rate', 'retransmitMs'], duplicate: ['rate'],
    reorder: ['rate', 'holdMs'], bandwidth: ['kbps'], reset: ['afterBytes'],
    rebind: ['afterDatagrams'], 'strip-dtls13-offer': [], 'downgrade-mitm': [],
  };
  if (!(IMPAIRMENT_KINDS as readonly string[]).includes(name)) {
    throw new Error(`impairments: unknown impairment "${name}"; valid impairments: ${IMPAIRMENT_KINDS.join(', ')}`);
  }
  const kind = name as ImpairmentKind;
  const unknown = Object.keys(settings).filter((k) => !allowed[kind].includes(k));
  if (unknown.length > 0) {
    throw new Error(`impairments: ${kind} has no setting ${unknown.map((k) => `"${k}"`).join(', ')}; its settings are ${allowed[kind].join(', ')}`);
  }
  const s = settings as never;
  switch (kind) {
    case 'latency': return latency(s);
    case 'loss': return loss(s);
    case 'duplicate': return duplicate(s);
    case 'reorder': return reorder(s);
    case 'bandwidth': return bandwidth(s);
    case 'reset': return reset(s);
    case 'rebind': return rebind(s);
    case 'strip-dtls13-offer': return stripDtls13OfferAttack();
    case 'downgrade-mitm': return downgradeMitm();
  }
}

/** Impairments for each direction of a link; a direction left out is not impaired. */
export interface LinkImpairments {
  readonly clientToServer?: readonly Impairment[];
  readonly serverToClient?: readonly Impairment[];
  /** Seed of the link's random choices (loss, jitter…); the same seed impairs the same packets. */
  readonly seed?: number;
}

/** The same impairments in both directions: `symmetric(latency({ ms: 25 }))` is a 50 ms RTT link. */
export function symmetric(...impairments: Impairment[]): { clientToServer: Impairment[]; serverToClient: Impairment[] } {
  return { clientToServer: [...impairments], serverToClient: [...impairments] };
}

/** Sum of the fixed one-way delays of a direction (latency without jitter), in ms. */
export function baseDelayMs(impairments: readonly Impairment[] = []): number {
  return impairments.reduce((sum, i) => sum + (i.kind === 'latency' ? i.ms : 0), 0);
}

export function describeImpairment(i: Impairment): string {
  switch (i.kind) {
    case 'latency': return `latency ${i.ms} ms${i.jitterMs ? ` ± ${i.jitterMs} ms` : ''}`;
    case 'loss': return `loss ${(i.rate * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
    case 'duplicate': return `duplicate ${(i.rate * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
    case 'reorder': return `reorder ${(i.rate * 100).toFixed(2).replace(/\.?0+$/, '')}% held ${i.holdMs} ms`;
    case 'bandwidth': return `bandwidth ${i.kbps} kbit/s`;
    case 'reset': return `reset after ${i.afterBytes} bytes`;
    case 'rebind': return `NAT rebinding after ${i.afterDatagrams} datagrams`;
    case 'strip-dtls13-offer': return 'DTLS 1.3 offer stripped from ClientHellos';
    case 'downgrade-mitm': return 'DTLS 1.3 offer stripped, the server\'s HelloVerifyRequest answered by the attacker';
  }
}

/** What the relay does with one chunk: deliver these pieces at these times, then maybe reset. */
export interface Plan {
  /** Pieces to deliver (a datagram twice when duplicated; none when lost), with their due times. */
  readonly deliveries: readonly { readonly atMs: number; readonly bytes: Uint8Array }[];
  /** Reset the connection (TCP) or forget the flow (UDP) at this time, after the deliveries. */
  readonly resetAtMs?: number;
  /** UDP: give the flow a new outside port at this time, after the deliveries (a NAT rebinding). */
  readonly rebindAtMs?: number;
  /** What happened, for the link's observation log. */
  readonly notes: readonly string[];
}

/**
 * Applies one direction's impairments, in order, to each chunk. Pure apart from its own state
 * (random generator, bandwidth queue, byte count, last due time): the caller passes the clock,
 * so tests drive it with a fake one.
 */
export class ImpairmentPipeline {
  readonly #impairments: readonly Impairment[];
  readonly #transport: Transport;
  readonly #random: () => number;
  #busyUntilMs = 0;
  #lastDueMs = 0;
  #bytes = 0;
  #resetDone = false;
  #datagrams = 0;

  constructor(impairments: readonly Impairment[], options: { transport: Transport; seed?: number }) {
    for (const i of impairments) {
      if (options.transport === 'tcp' && (i.kind === 'rebind' || i.kind === 'strip-dtls13-offer' || i.kind === 'downgrade-mitm')) {
        throw new Error(`impairments: ${i.kind} is for UDP links (DTLS); a TCP connection cannot move to a new port, use reset`);
      }
      if (options.transport === 'tcp' && (i.kind === 'duplicate' || i.kind === 'reorder')) {
        throw new Error(`impairments: ${i.kind} is for UDP links; a TCP receiver discards duplicate segments and puts reordered ones back in order, `
          + 'so on a TCP link it would change nothing observable: use latency with jitterMs, or loss (which costs a retransmission timeout)');
      }
    }
    this.#impairments = impairments;
    this.#transport = options.transport;
    this.#random = seededRandom(options.seed ?? 1);
  }

  get empty(): boolean {
    return this.#impairments.length === 0;
  }

  plan(bytes: Uint8Array, nowMs: number): Plan {
    const notes: string[] = [];
    let pieces: { atMs: number; bytes: Uint8Array }[] = [{ atMs: nowMs, bytes }];
    let resetAtMs: number | undefined;
    let rebindAtMs: number | undefined;
    this.#datagrams += 1;
    for (const i of this.#impairments) {
      switch (i.kind) {
        case 'latency':
          pieces = pieces.map((p) => ({ ...p, atMs: p.atMs + Math.max(0, i.ms + (i.jitterMs ? (2 * this.#random() - 1) * i.jitterMs : 0)) }));
          break;
        case 'loss':
          if (this.#random() < i.rate) {
            if (this.#transport === 'udp') {
              notes.push(`lost a ${bytes.length}-byte datagram`);
              pieces = [];
            } else {
              notes.push(`lost ${bytes.length} bytes; retransmitted after ${i.retransmitMs} ms`);
              pieces = pieces.map((p) => ({ ...p, atMs: p.atMs + i.retransmitMs }));
            }
          }
          break;
        case 'duplicate':
          if (pieces.length > 0 && this.#random() < i.rate) {
            notes.push(`duplicated a ${bytes.length}-byte datagram`);
            pieces = [...pieces, ...pieces];
          }
          break;
        case 'reorder':
          if (pieces.length > 0 && this.#random() < i.rate) {
            notes.push(`held a ${bytes.length}-byte datagram back ${i.holdMs} ms`);
            pieces = pieces.map((p) => ({ ...p, atMs: p.atMs + i.holdMs }));
          }
          break;
        case 'bandwidth':
          pieces = pieces.map((p) => {
            // A serial line: a piece starts when the previous one has left, and takes its size in bits.
            const start = Math.max(p.atMs, this.#busyUntilMs);
            this.#busyUntilMs = start + (p.bytes.length * 8) / i.kbps;
            return { ...p, atMs: this.#busyUntilMs };
          });
          break;
        case 'reset': {
          if (this.#resetDone) {
            pieces = [];
            break;
          }
          const room = i.afterBytes - this.#bytes;
          if (bytes.length >= room) {
            // Bytes before the limit still pass; the connection dies right after them.
            pieces = pieces.map((p) => ({ ...p, bytes: p.bytes.subarray(0, Math.max(0, room)) })).filter((p) => p.bytes.length > 0);
            resetAtMs = Math.max(nowMs, ...pieces.map((p) => p.atMs));
            this.#resetDone = true;
            notes.push(`reset after ${i.afterBytes} bytes`);
          }
          break;
        }
        case 'rebind':
          if (this.#datagrams === i.afterDatagrams) {
            rebindAtMs = Math.max(nowMs, ...pieces.map((p) => p.atMs));
            notes.push(`NAT rebinding after ${i.afterDatagrams} datagrams`);
          }
          break;
        case 'downgrade-mitm':
          break; // stateful across both directions: the UDP link runs it (links/dtls-downgrade-mitm.ts)
        case 'strip-dtls13-offer':
          pieces = pieces.map((p) => {
            const stripped = stripDtls13Offer(p.bytes);
            if (stripped.replaced > 0) notes.push("hid a ClientHello's supported_versions (its DTLS 1.3 offer)");
            return { ...p, bytes: stripped.bytes };
          });
          break;
      }
    }
    this.#bytes += bytes.length;
    if (this.#transport === 'tcp') {
      // A byte stream is delivered in order: nothing may overtake what was sent before it.
      pieces = pieces.map((p) => {
        this.#lastDueMs = Math.max(this.#lastDueMs, p.atMs);
        return { ...p, atMs: this.#lastDueMs };
      });
    }
    return { deliveries: pieces, ...(resetAtMs === undefined ? {} : { resetAtMs }), ...(rebindAtMs === undefined ? {} : { rebindAtMs }), notes };
  }
}

/**
 * Runs actions at due times in the order given, with sub-millisecond precision: a timer wakes
 * the queue just before the earliest due time, and the last stretch is waited out on
 * setImmediate, so the relay adds well under 1 ms beyond the configured delay (bench/handshake).
 * Actions due now run synchronously, so an unimpaired link adds no timer hop at all.
 */
export class DelayQueue {
  readonly #items: { atMs: number; run: () => void }[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #closed = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Queue an action; the queue keeps insertion order among equal due times. */
  at(atMs: number, run: () => void): void {
    if (this.#closed) return;
    if (this.#items.length === 0 && atMs <= this.#now()) {
      run();
      return;
    }
    let index = this.#items.length;
    while (index > 0 && (this.#items[index - 1] as { atMs: number }).atMs > atMs) index -= 1;
    this.#items.splice(index, 0, { atMs, run });
    this.#arm();
  }

  get pending(): number {
    return this.#items.length;
  }

  /** Drop everything pending (the connection is gone). */
  close(): void {
    this.#closed = true;
    this.#items.length = 0;
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer as NodeJS.Timeout);
    clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#disarm();
    const head = this.#items[0];
    if (!head) return;
    const wait = head.atMs - this.#now();
    // Timers fire up to ~1 ms late; wake 2 ms early and finish on setImmediate.
    this.#timer = wait > 2 ? setTimeout(() => this.#drain(), Math.floor(wait - 2)) : setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#timer = undefined;
    const now = this.#now();
    // Bounded by the number of queued items.
    while (this.#items.length > 0 && (this.#items[0] as { atMs: number }).atMs <= now) {
      (this.#items.shift() as { run: () => void }).run();
    }
    if (!this.#closed) this.#arm();
  }
}
