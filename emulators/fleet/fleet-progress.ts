/**
 * A fleet run's live line on stderr (stdout belongs to Cucumber's formatters,
 * cli/progress-formatter.ts): on a terminal one line rewritten in place every second; otherwise
 * (CI logs) a plain line every 5 s, so a log is readable and not flooded.
 */
import type { FleetStats } from './fleet-counters.ts';

export function progressLine(s: Pick<FleetStats, 'devices' | 'connected' | 'acknowledged' | 'refusals' | 'reconnects' | 'pending' | 'overflows'>, readingsPerSecond: number): string {
  return `fleet: ${s.connected}/${s.devices} connected · ${readingsPerSecond.toFixed(0)} readings/s · ${s.acknowledged} acknowledged · ${s.pending} queued · ${s.reconnects} reconnects · ${s.refusals} refusals · ${s.overflows} overflows`;
}

export class FleetProgress {
  readonly #timer: NodeJS.Timeout;
  readonly #tty: boolean;
  #lastAck = 0;
  #lastAt = performance.now();
  #lastPlainAt = 0;
  #busy = false;

  constructor(source: () => Promise<FleetStats>, readonly out: NodeJS.WriteStream = process.stderr) {
    this.#tty = out.isTTY === true;
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      source()
        .then((s) => this.#show(s))
        .catch(() => undefined)
        .finally(() => {
          this.#busy = false;
        });
    }, 1_000);
    this.#timer.unref();
  }

  #show(s: FleetStats): void {
    const now = performance.now();
    const rate = ((s.acknowledged - this.#lastAck) * 1000) / Math.max(1, now - this.#lastAt);
    this.#lastAck = s.acknowledged;
    this.#lastAt = now;
    const line = progressLine(s, rate);
    if (this.#tty) this.out.write(`\r\x1b[2K${line}`);
    else if (now - this.#lastPlainAt >= 5_000) {
      this.#lastPlainAt = now;
      this.out.write(`${line}\n`);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#tty) this.out.write('\r\x1b[2K');
  }
}

/**
 * The end-of-run table (plain text, fixed columns): what a fleet run did. `broker`: its own
 * account of the readings it took, where a scenario read it (emulators/fleet/broker-backlog.ts):
 * then the table says how many it dropped.
 */
export function summaryTable(s: FleetStats, ledger: { accepted: number; duplicatesRefused: number; gaps: readonly unknown[]; rejectedByReason: Readonly<Record<string, number>> }, broker?: { readonly received: number; readonly delivered: number }): string {
  const rows: [string, string][] = [
    ['wearables', String(s.devices)],
    ['connected at the end', String(s.connected)],
    ['handshakes full / resumed', `${s.fullHandshakes} / ${s.resumedHandshakes}`],
    ['reconnects', String(s.reconnects)],
    ['refusals', String(s.refusals)],
    ['readings sealed', String(s.sealed)],
    ['acknowledged by the broker', String(s.acknowledged)],
    ...(broker
      ? ([
          ['received by the broker', String(broker.received)],
          ['delivered to the cloud by the broker', String(broker.delivered)],
          ['dropped by the broker (never delivered)', String(broker.received - broker.delivered)],
        ] as [string, string][])
      : []),
    ['opened by the cloud', String(ledger.accepted)],
    ['duplicates refused (replay)', String(ledger.duplicatesRefused)],
    ['rejected (all reasons)', Object.entries(ledger.rejectedByReason).map(([r, n]) => `${r} ${n}`).join(', ') || '0'],
    ['wearables with gaps', String(ledger.gaps.length)],
    ['queue overflows', String(s.overflows)],
    ['latency seal→PUBACK p50 / p99 / max', `${s.latencyMs.p50.toFixed(0)} / ${s.latencyMs.p99.toFixed(0)} / ${s.latencyMs.max.toFixed(0)} ms`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
