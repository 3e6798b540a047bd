/**
 * Anti-replay sliding window over 64-bit sequence numbers, as in RFC 4303 §3.4.3 (ESP) and
 * RFC 6347 §4.1.2.6 (DTLS): remember the highest accepted sequence and a bitmap of which of the
 * `size` sequences at or below it were seen. A sequence above the highest is fresh; one inside
 * the window is fresh only if its bit is clear; one below the window is too old to judge and is
 * rejected. Only call accept() after the packet's tag verified (RFC 4303 §3.4.3: "the receive
 * window is updated only if the integrity verification succeeds"), or a forger could slide the
 * window forward and get genuine packets rejected.
 */

export type ReplayVerdict = 'fresh' | 'replay' | 'too-old';

const MAX_SEQUENCE = (1n << 64n) - 1n;
const MAX_WINDOW = 1 << 16;

export class ReplayWindow {
  readonly size: number;
  readonly #sizeBig: bigint;
  readonly #bits: Uint32Array; // ring: the bit for sequence s is at s mod size
  #highest = -1n; // -1: nothing accepted yet
  #highestSlot = 0; // highest mod size, kept as a number so the common path needs no bigint modulo

  constructor(size = 64) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_WINDOW) {
      throw new Error(`replay-window: size must be a whole number of sequences in 1..${MAX_WINDOW}, got ${size}`);
    }
    this.size = size;
    this.#sizeBig = BigInt(size);
    this.#bits = new Uint32Array(Math.ceil(size / 32));
  }

  /** The highest accepted sequence, or undefined before the first accept. */
  get highest(): bigint | undefined {
    return this.#highest < 0n ? undefined : this.#highest;
  }

  check(seq: bigint): ReplayVerdict {
    assertSequence(seq);
    if (seq > this.#highest) return 'fresh';
    const behind = this.#highest - seq;
    if (behind >= this.#sizeBig) return 'too-old';
    return this.#isSet(this.#slotBehind(Number(behind))) ? 'replay' : 'fresh';
  }

  accept(seq: bigint): void {
    const verdict = this.check(seq);
    if (verdict !== 'fresh') {
      throw new Error(`replay-window: sequence ${seq} is ${verdict}; accept() only sequences that check() called fresh`);
    }
    if (seq <= this.#highest) {
      this.#set(this.#slotBehind(Number(this.#highest - seq)));
      return;
    }
    // Slide the top of the window up to seq, clearing the slots of the sequences skipped over.
    const advance = this.#highest < 0n ? this.#sizeBig : seq - this.#highest;
    if (advance >= this.#sizeBig) {
      this.#bits.fill(0);
      this.#highestSlot = Number(seq % this.#sizeBig);
    } else {
      const steps = Number(advance);
      for (let i = 1; i <= steps; i++) this.#clear((this.#highestSlot + i) % this.size);
      this.#highestSlot = (this.#highestSlot + steps) % this.size;
    }
    this.#highest = seq;
    this.#set(this.#highestSlot);
  }

  /** The ring slot of the sequence `behind` below the highest (0 ≤ behind < size). */
  #slotBehind(behind: number): number {
    return (this.#highestSlot - behind + this.size) % this.size;
  }

  #isSet(i: number): boolean {
    return (((this.#bits[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }

  #set(i: number): void {
    this.#bits[i >>> 5] = (this.#bits[i >>> 5] as number) | (1 << (i & 31));
  }

  #clear(i: number): void {
    this.#bits[i >>> 5] = (this.#bits[i >>> 5] as number) & ~(1 << (i & 31));
  }
}

function assertSequence(seq: bigint): void {
  if (typeof seq !== 'bigint' || seq < 0n || seq > MAX_SEQUENCE) {
    throw new Error(`replay-window: sequence must be a bigint in 0..2^64-1, got ${String(seq)}`);
  }
}
