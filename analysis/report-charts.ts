/**
 * Every chart the scenarios attach, by name: each title says what the chart compares (two charts
 * in one report never share a title) and each axis carries its unit. Drawing is in ladder-svg.ts
 * (bars), fleet-charts.ts (time series) and stacked-bars-svg.ts (stacked bars); this module decides
 * only what is shown and how it is labelled.
 */
import { barChartSvg } from './ladder-svg.ts';
import { timeSeriesSvg } from './fleet-charts.ts';
import { stackedBarsSvg } from './stacked-bars-svg.ts';

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

/**
 * What became of the readings the fleet sent while the cloud was away (features/
 * fleet-backpressure.feature), from three records that do not consult each other: the wearables'
 * own (PUBACKs), the broker's log (emulators/fleet/broker-backlog.ts) and the cloud's ledger with
 * its gap report (emulators/fleet/fleet-ledger.ts).
 */
export interface BacklogAccount {
  readonly acknowledged: number;
  readonly receivedByBroker: number;
  readonly deliveredByBroker: number;
  readonly openedByCloud: number;
  /** Readings the cloud's gap report names missing, summed over wearables. */
  readonly namedMissing: number;
  readonly wearables: number;
  readonly wearablesWithGaps: number;
}

const ACKNOWLEDGED = '#6b7785';
const REACHED_CLOUD = '#1f5fa8';
const NEVER_REACHED = '#a8421f';
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The broker's silent drop at a glance: one bar per record on one axis of readings. A PUBACK is
 * hop by hop (MQTT 3.1.1 §4.3.2), so the acknowledged bar is whole even when Mosquitto dropped
 * past max_queued_messages (mosquitto.conf(5)); the drop shows as the rust part of the broker's
 * bar, and the cloud's bar shows it found the same hole on its own. With nothing dropped there is
 * no rust at all. Each bar is drawn from its own record, so records that disagree look different.
 */
export function brokerBacklogChart(a: BacklogAccount): string {
  const dropped = a.receivedByBroker - a.deliveredByBroker;
  const named = a.namedMissing > 0 ? `${count(a.namedMissing)} missing, across ${count(a.wearablesWithGaps)} wearables` : 'none missing';
  const summary = `${count(a.wearables)} wearables: the broker acknowledged ${count(a.acknowledged)} readings and dropped ${dropped > 0 ? `${count(dropped)} of them` : 'none'}; the cloud's gap report names ${named}.`;
  return stackedBarsSvg({
    title: 'The cloud away: readings acknowledged by the broker vs delivered vs dropped',
    summary,
    bars: [
      { caption: `the wearables' own records: ${count(a.acknowledged)} acknowledged by the broker (PUBACK)`, segments: [{ value: a.acknowledged, colour: ACKNOWLEDGED }] },
      {
        caption: `the broker's log: ${count(a.deliveredByBroker)} delivered to the cloud, ${count(dropped)} dropped (never delivered)`,
        segments: [{ value: a.deliveredByBroker, colour: REACHED_CLOUD }, { value: dropped, colour: NEVER_REACHED }],
      },
      {
        caption: `the cloud: ${count(a.openedByCloud)} opened, ${count(a.namedMissing)} named missing by its gap report`,
        segments: [{ value: a.openedByCloud, colour: REACHED_CLOUD }, { value: a.namedMissing, colour: NEVER_REACHED }],
      },
    ],
    axisLabel: 'readings the wearables sent while the cloud was away',
    legend: [
      { label: 'acknowledged (PUBACK)', colour: ACKNOWLEDGED },
      { label: 'reached the cloud', colour: REACHED_CLOUD },
      { label: 'dropped: never reached the cloud', colour: NEVER_REACHED },
    ],
  });
}
