/**
 * What a fleet did, counted as it happens (one object for all devices, so a device carries no
 * counters of its own): connections, full and resumed handshakes, reconnects, refusals with
 * their reasons, readings acknowledged and their seal-to-PUBACK latency, queue overflows, and a
 * timeline sampled every 250 ms for the live line and the report's charts.
 */
import type { FleetDevice, FleetDeviceEvents } from './fleet-device.ts';
import type { QueuedReading } from './store-and-forward.ts';

export interface FleetSample {
  /** ms since the fleet was created. */
  readonly tMs: number;
  readonly connected: number;
  readonly acknowledged: number;
  readonly refusals: number;
  readonly reconnects: number;
}

export interface FleetStats {
  readonly devices: number;
  readonly connected: number;
  readonly fullHandshakes: number;
  readonly resumedHandshakes: number;
  /** Connections after the first one of a device (after a broker restart, a lost link). */
  readonly reconnects: number;
  readonly disconnects: number;
  readonly refusals: number;
  readonly refusalReasons: Readonly<Record<string, number>>;
  readonly refusedDevices: readonly string[];
  readonly sealed: number;
  readonly acknowledged: number;
  readonly pending: number;
  readonly overflows: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly samples: readonly FleetSample[];
}

const SAMPLE_MS = 250;
const MAX_SAMPLES = 4_800; // 20 minutes

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export class FleetCounters implements FleetDeviceEvents {
  readonly #born = performance.now();
  readonly #latencies: number[] = [];
  readonly #reasons = new Map<string, number>();
  readonly #refusedDevices = new Set<string>();
  readonly #samples: FleetSample[] = [];
  readonly #sampler: NodeJS.Timeout;
  connectedNow = 0;
  fullHandshakes = 0;
  resumedHandshakes = 0;
  reconnects = 0;
  disconnects = 0;
  refusals = 0;
  acknowledgedTotal = 0;
  overflows = 0;
  sealedTotal = 0;

  constructor(readonly devices: number) {
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sampler.unref();
  }

  connected(_d: FleetDevice, o: { resumed: boolean; reconnect: boolean }): void {
    this.connectedNow++;
    if (o.resumed) this.resumedHandshakes++;
    else this.fullHandshakes++;
    if (o.reconnect) this.reconnects++;
  }

  disconnected(): void {
    this.connectedNow--;
    this.disconnects++;
  }

  refused(d: FleetDevice, reason: string): void {
    this.refusals++;
    this.#refusedDevices.add(d.deviceId);
    // Reasons without the device id, so equal causes add up.
    const key = reason.replace(`${d.deviceId}: `, '').slice(0, 160);
    this.#reasons.set(key, (this.#reasons.get(key) ?? 0) + 1);
  }

  acknowledged(_d: FleetDevice, _r: QueuedReading, latencyMs: number): void {
    this.acknowledgedTotal++;
    this.#latencies.push(latencyMs);
  }

  overflow(): void {
    this.overflows++;
  }

  topRefusal(): string {
    const top = [...this.#reasons].sort((a, b) => b[1] - a[1])[0];
    return top ? `commonest refusal ×${top[1]}: ${top[0]}` : 'no refusal recorded';
  }

  stats(devices: readonly FleetDevice[]): FleetStats {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      devices: this.devices,
      connected: this.connectedNow,
      fullHandshakes: this.fullHandshakes,
      resumedHandshakes: this.resumedHandshakes,
      reconnects: this.reconnects,
      disconnects: this.disconnects,
      refusals: this.refusals,
      refusalReasons: Object.fromEntries(this.#reasons),
      refusedDevices: [...this.#refusedDevices],
      sealed: devices.reduce((s, d) => s + Number(d.nextSequence - 1n), 0),
      acknowledged: this.acknowledgedTotal,
      pending: devices.reduce((s, d) => s + d.queue.size, 0),
      overflows: this.overflows,
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 },
      samples: [...this.#samples],
    };
  }

  /** The latencies recorded so far, sorted, and a fresh start (one benchmark phase at a time). */
  takeLatencies(): number[] {
    const taken = this.#latencies.splice(0).sort((a, b) => a - b);
    return taken;
  }

  stopSampling(): void {
    clearInterval(this.#sampler);
  }

  #sample(): void {
    if (this.#samples.length >= MAX_SAMPLES) return;
    this.#samples.push({ tMs: Math.round(performance.now() - this.#born), connected: this.connectedNow, acknowledged: this.acknowledgedTotal, refusals: this.refusals, reconnects: this.reconnects });
  }
}
