/**
 * Observation log: what one role saw on the wire and in the clear.
 *
 * Every role keeps one, and scenarios assert only on these entries (and on captures), never on a
 * role's configuration: docs/architecture.md §3 Roles and §11 ("a scenario asserts what an observer would see").
 */
export interface Observation<K extends string = string> {
  /** Wall-clock time the role recorded it, ms since the Unix epoch. */
  readonly at: number;
  readonly role: string;
  readonly kind: K;
  /** A short human sentence; goes into reports. */
  readonly summary: string;
  /** Structured detail for steps to query. */
  readonly detail: Readonly<Record<string, unknown>>;
  /** Raw bytes the role saw, where there were any (what a sniffer would hold). */
  readonly bytes?: Uint8Array;
}

type Waiter = { match: (o: Observation) => boolean; resolve: (o: Observation) => void };

export class ObservationLog<K extends string = string> {
  readonly #entries: Observation<K>[] = [];
  readonly #waiters = new Set<Waiter>();

  constructor(readonly role: string) {}

  record(kind: K, summary: string, detail: Record<string, unknown> = {}, bytes?: Uint8Array): Observation<K> {
    const entry: Observation<K> = { at: Date.now(), role: this.role, kind, summary, detail, ...(bytes ? { bytes: Uint8Array.from(bytes) } : {}) };
    this.#entries.push(entry);
    for (const w of [...this.#waiters]) {
      if (w.match(entry)) {
        this.#waiters.delete(w);
        w.resolve(entry);
      }
    }
    return entry;
  }

  all(): readonly Observation<K>[] {
    return this.#entries;
  }

  ofKind(kind: K): Observation<K>[] {
    return this.#entries.filter((e) => e.kind === kind);
  }

  /** Every byte string this role recorded, for "search the bytes" assertions. */
  allBytes(): Uint8Array[] {
    return this.#entries.flatMap((e) => (e.bytes ? [e.bytes] : []));
  }

  /**
   * Resolve with the first entry (past or future) that matches; reject after `timeoutMs` with a
   * sentence naming what was awaited, so a hanging role becomes a failed step, not a hung run.
   */
  waitFor(what: string, match: (o: Observation<K>) => boolean, timeoutMs: number): Promise<Observation<K>> {
    const seen = this.#entries.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match: match as (o: Observation) => boolean,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o as Observation<K>);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${this.role}: gave up after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Wait until `count` entries match (counting past ones), bounded by `timeoutMs`. */
  async waitForCount(what: string, match: (o: Observation<K>) => boolean, count: number, timeoutMs: number): Promise<Observation<K>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#entries.filter(match);
      if (found.length >= count) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`${this.role}: gave up after ${timeoutMs} ms waiting for ${count} × ${what}; saw ${found.length}`);
      }
      await this.waitFor(what, (o) => match(o) && !found.includes(o), left).catch(() => undefined);
    }
  }
}
