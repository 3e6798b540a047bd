/**
 * The DTLS fleet's pictures for the HTML report (features/fleet-dtls.feature): what the one
 * bridge's shard measured (emulators/dtls/dtls-fleet-shard.ts), named for what it is. The TLS
 * fleet's charts (report-charts.ts) do not fit it: its acknowledgement is not a broker's PUBACK
 * but the cloud's own ack datagram, and it has no broker restart. A chart with nothing to show is
 * left out rather than drawn flat at zero.
 */
import type { DtlsFleetStats } from '../emulators/dtls/dtls-fleet-shard.ts';
import type { FleetSample } from '../emulators/fleet/fleet-counters.ts';
import { timeSeriesSvg } from './fleet-charts.ts';
import { barChartSvg } from './ladder-svg.ts';

export interface NamedChart {
  readonly fileName: string;
  readonly svg: string;
}

/** The samples' clock starts when the shard starts its bridge, before the first handshake. */
const BRIDGE_TIME = 'time since the fleet bridge started (s)';

type Series = readonly { tMs: number; value: number }[];

/** DTLS sessions the one bridge holds, over the run. */
export function dtlsSessionsChart(points: Series): string {
  return timeSeriesSvg('DTLS sessions open on the one fleet bridge over the run', { x: BRIDGE_TIME, y: 'DTLS sessions' }, points);
}

/**
 * Acknowledged readings per second over whole-second windows from the first sample (the shard
 * samples every 250 ms; a 250 ms window shows a burst four times as high as it is per second).
 * The series starts at 0 at the first sample: nothing is acknowledged before the bridge is up.
 */
export function perSecondAckRates(samples: readonly FleetSample[], windowMs = 1_000): { tMs: number; value: number }[] {
  const first = samples[0];
  if (!first) return [];
  const out = [{ tMs: first.tMs, value: 0 }];
  let from = first;
  for (const s of samples) {
    if (s.tMs - from.tMs < windowMs && s !== samples[samples.length - 1]) continue;
    if (s.tMs <= from.tMs) continue;
    out.push({ tMs: s.tMs, value: ((s.acknowledged - from.acknowledged) * 1000) / (s.tMs - from.tMs) });
    from = s;
  }
  return out;
}

/** Readings whose cloud ack reached their wearable, per second. */
export function dtlsAckRateChart(points: Series): string {
  return timeSeriesSvg('Readings acknowledged by the cloud per second (DTLS fleet)', { x: BRIDGE_TIME, y: 'acked readings/s' }, points);
}

/**
 * Percentiles of the time a wearable waited for its reading's ack (dtls-fleet-device.ts
 * onAcknowledged): from sealing, through the lossy device link, the gateway stripping DTLS, its
 * MQTT/TLS PUBLISH, the broker and the cloud opening it, and the cloud's ack back the same way.
 * Resends after a lost datagram are inside it (DTLS delivers application data no surer than UDP),
 * and so is a reading's wait, sealed, behind its wearable's unacknowledged one (one in flight).
 */
export function dtlsAckLatencyChart(l: DtlsFleetStats['latencyMs'], o: { acknowledged: number; sealed: number; resends: number }): string {
  const acked = `${o.acknowledged.toLocaleString('en-US')} of ${o.sealed.toLocaleString('en-US')} readings acked`;
  return barChartSvg(`DTLS fleet: seal to the cloud's ack at the wearable (${acked}): p50 vs p90 vs p99 vs max`,
    [{ label: 'p50 (median)', ms: l.p50 }, { label: 'p90', ms: l.p90 }, { label: 'p99', ms: l.p99 }, { label: 'maximum', ms: l.max }],
    o.resends > 0 ? 'there and back over the lossy link, resends included (ms)' : 'there and back over the lossy link, each sent once (ms)');
}

/** DTLS handshakes the bridge tried again after a failed attempt on the lossy link (cumulative). */
export function dtlsHandshakeRetriesChart(points: Series): string {
  return timeSeriesSvg('DTLS handshakes tried again after a failed attempt (cumulative)', { x: BRIDGE_TIME, y: 'handshakes retried (total)' }, points);
}

/** The charts a DTLS fleet run has something to show for, in report order. */
export function dtlsFleetCharts(stats: Pick<DtlsFleetStats, 'samples' | 'latencyMs' | 'acknowledged' | 'sealed' | 'resends' | 'reconnects'>): NamedChart[] {
  const { samples } = stats;
  if (samples.length <= 1) return [];
  const charts: NamedChart[] = [{ fileName: 'dtls-fleet-sessions.svg', svg: dtlsSessionsChart(samples.map((s) => ({ tMs: s.tMs, value: s.connected }))) }];
  if (stats.acknowledged > 0) {
    charts.push({ fileName: 'dtls-fleet-acks-per-second.svg', svg: dtlsAckRateChart(perSecondAckRates(samples)) });
    charts.push({ fileName: 'dtls-fleet-ack-latency.svg', svg: dtlsAckLatencyChart(stats.latencyMs, stats) });
  }
  if (stats.reconnects > 0) charts.push({ fileName: 'dtls-fleet-handshake-retries.svg', svg: dtlsHandshakeRetriesChart(samples.map((s) => ({ tMs: s.tMs, value: s.reconnects }))) });
  return charts;
}
