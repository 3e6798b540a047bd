/**
 * Every chart the scenarios attach, by name: each title says what the chart compares (two charts
 * in one report never share a title) and each axis carries its unit. Drawing is in ladder-svg.ts
 * (bars) and fleet-charts.ts (time series); this module decides only what is shown and how it
 * is labelled.
 */
import { barChartSvg } from './ladder-svg.ts';
import { timeSeriesSvg } from './fleet-charts.ts';

type Series = readonly { tMs: number; value: number }[];
type Marker = { tMs: number; label: string } | undefined;

const FLEET_TIME = 'time since the fleet started (s)';

/** Full vs resumed handshake, one connection each, from the capture beside the device. */
export function resumptionConnectTimesChart(o: { fullMs: number; resumedMs: number; rttMs: number }): string {
  return barChartSvg(`Time to MQTT CONNACK: full vs resumed handshake (${o.rttMs} ms RTT link)`,
    [{ label: 'full handshake', ms: o.fullMs }, { label: 'resumed handshake', ms: o.resumedMs }],
    'time from the first packet to CONNACK, read from the capture (ms)');
}

/** The same full handshake against a broker with noDelay and one with Nagle's algorithm on. */
export function nagleConnectTimesChart(o: { noDelayMs: number; nagleMs: number }): string {
  return barChartSvg('Median time to MQTT CONNACK: broker with noDelay vs broker with Nagle on',
    [{ label: 'broker with noDelay', ms: o.noDelayMs }, { label: 'broker with Nagle on', ms: o.nagleMs }],
    'median time from the first packet to CONNACK, read from the capture (ms)');
}

/** Latency percentiles of the fleet's readings, from sealing to the broker's PUBACK. */
export function fleetLatencyChart(l: { p50: number; p90: number; p99: number; max: number }): string {
  return barChartSvg('Fleet reading latency, seal to PUBACK: median vs p90 vs p99 vs maximum',
    [{ label: 'p50 (median)', ms: l.p50 }, { label: 'p90', ms: l.p90 }, { label: 'p99', ms: l.p99 }, { label: 'maximum', ms: l.max }],
    'latency from sealing a reading to its PUBACK (ms)');
}

export function fleetConnectionsChart(points: Series, marker: Marker): string {
  return timeSeriesSvg('Connected wearables over the fleet run', { x: FLEET_TIME, y: 'wearables connected' }, points, marker);
}

export function fleetReadingRateChart(points: Series, marker: Marker): string {
  return timeSeriesSvg('Readings acknowledged per second over the fleet run', { x: FLEET_TIME, y: 'readings/s' }, points, marker);
}

export function fleetReconnectsChart(points: Series, marker: Marker): string {
  return timeSeriesSvg('Reconnects over the fleet run (cumulative): the restart storm', { x: FLEET_TIME, y: 'reconnects (total)' }, points, marker);
}
