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
    if (this.#highest - seq >= this.#sizeBig) return 'too-old';
    return this.#isSet(this.#index(seq)) ? 'replay' : 'fresh';
  }

  accept(seq: bigint): void {
    const verdict = this.check(seq);
    if (verdict !== 'fresh') {
      throw new Error(`replay-window: sequence ${seq} is ${verdict}; accept() only sequences that check() called fresh`);
    }
    if (seq > this.#highest) this.#slideTo(seq);
    this.#set(this.#index(seq));
  }

  /** Moves the top of the window to seq, clearing the bits of the sequences skipped over. */
  #slideTo(seq: bigint): void {
    const advance = seq - this.#highest; // ≥ 1; from -1 it is seq + 1
    if (advance >= this.#sizeBig) {
      this.#bits.fill(0);
    } else {
      const steps = Number(advance);
      const from = this.#index(this.#highest + 1n);
      for (let i = 0; i < steps; i++) this.#clear((from + i) % this.size);
    }
    this.#highest = seq;
  }

  #index(seq: bigint): number {
    return Number(seq % this.#sizeBig);
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
