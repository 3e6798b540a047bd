/**
 * The device's bounded store-and-forward queue: every sealed reading stays here until the broker
 * acknowledges it (MQTT 3.1.1 §4.3.2, QoS 1: PUBACK), across disconnects and broker restarts, so
 * a reading is lost only when the queue is full. That loss is counted, never silent: the cloud
 * then sees the sequence gap, and the device's overflow count must explain it.
 */
export interface QueuedReading {
  readonly messageId: number;
  readonly sequence: bigint;
  readonly packet: Uint8Array;
  /** Wall-clock ms when the reading was sealed (for end-to-end latency). */
  readonly sealedAtMs: number;
  /** Sent at least once on some connection (a resend carries DUP, MQTT 3.1.1 §3.3.1.1). */
  sent: boolean;
}

export class StoreAndForwardQueue {
  readonly #byMessageId = new Map<number, QueuedReading>();
  #overflows = 0;
  #nextMessageId = 1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 60_000) {
      throw new Error(`store-and-forward: capacity must be an integer in 1..60000 (MQTT packet ids are 16-bit), got ${capacity}`);
    }
  }

  /** Keep a sealed reading; undefined (and counted) when the queue is full. */
  offer(sequence: bigint, packet: Uint8Array, sealedAtMs: number): QueuedReading | undefined {
    if (this.#byMessageId.size >= this.capacity) {
      this.#overflows++;
      return undefined;
    }
    const messageId = this.#freeMessageId();
    const entry: QueuedReading = { messageId, sequence, packet, sealedAtMs, sent: false };
    this.#byMessageId.set(messageId, entry);
    return entry;
  }

  /** The broker acknowledged this packet id; the reading leaves the queue. */
  acknowledge(messageId: number): QueuedReading | undefined {
    const entry = this.#byMessageId.get(messageId);
    if (entry) this.#byMessageId.delete(messageId);
    return entry;
  }

  /** Unacknowledged readings in the order they were sealed (Map keeps insertion order). */
  pending(): IterableIterator<QueuedReading> {
    return this.#byMessageId.values();
  }

  get size(): number {
    return this.#byMessageId.size;
  }

  get overflows(): number {
    return this.#overflows;
  }

  // Packet ids 1..65535 (MQTT 3.1.1 §2.3.1: non-zero), never one still in flight.
  #freeMessageId(): number {
    for (;;) {
      const id = this.#nextMessageId;
      this.#nextMessageId = id === 0xffff ? 1 : id + 1;
      if (!this.#byMessageId.has(id)) return id;
    }
  }
}
