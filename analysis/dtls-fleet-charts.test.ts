/**
 * The DTLS fleet's charts (dtls-fleet-charts.ts) from the stats two recorded @fleet-dtls scenarios
 * returned (dtls-fleet-stats.recorded.json): what each chart says it measured, the series it
 * draws, and which charts are left out for having nothing to show. No timing: the stats are data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { DtlsFleetStats } from '../emulators/dtls/dtls-fleet-shard.ts';
import { dtlsFleetCharts, perSecondAckRates, type NamedChart } from './dtls-fleet-charts.ts';
import { fleetConnectionsChart, fleetLatencyChart, fleetReadingRateChart, fleetReconnectsChart } from './report-charts.ts';
import { readabilityProblems, svgGeometry, svgTitle } from './svg-geometry.ts';

const recorded = JSON.parse(readFileSync(new URL('./dtls-fleet-stats.recorded.json', import.meta.url), 'utf8')) as { withResends: DtlsFleetStats; withoutResends: DtlsFleetStats };

const texts = (svg: string) => svgGeometry(svg).texts.map((t) => t.text);
const chart = (charts: NamedChart[], fileName: string): string => {
  const found = charts.find((c) => c.fileName === fileName);
  assert.ok(found, `no ${fileName} among ${charts.map((c) => c.fileName).join(', ')}`);
  return found.svg;
};
/** The polyline's y values, in plot coordinates (higher value = smaller y). */
const pathYs = (svg: string) => [...(/<path d="([^"]*)"/.exec(svg)?.[1] ?? '').matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));

test('the recorded 1,000-wearable run: sessions, acks per second and ack latency, each saying what it measured', () => {
  const stats = recorded.withResends;
  const charts = dtlsFleetCharts(stats);
  // No handshake was tried again in that run: that chart would be flat at 0, so it is left out.
  assert.deepEqual(charts.map((c) => c.fileName), ['dtls-fleet-sessions.svg', 'dtls-fleet-acks-per-second.svg', 'dtls-fleet-ack-latency.svg'], 'the run retried no handshake, so its charts are sessions, acks per second and latency, and no retries chart drawn flat at 0');
  for (const c of charts) {
    assert.deepEqual(readabilityProblems(c.svg), [], `${c.fileName} does not read well`);
    assert.doesNotMatch(c.svg, /PUBACK|restart/i, `${c.fileName} speaks of the TLS fleet's broker: ${svgTitle(c.svg)}`);
  }
  const sessions = chart(charts, 'dtls-fleet-sessions.svg');
  assert.equal(svgTitle(sessions), 'DTLS sessions open on the one fleet bridge over the run');
  assert.ok(texts(sessions).includes('1000'), 'the sessions axis tops at the 1,000 sessions the run reached');
  assert.ok(texts(sessions).includes('time since the fleet bridge started (s)'));
  const latency = chart(charts, 'dtls-fleet-ack-latency.svg');
  assert.match(svgTitle(latency), /seal to the cloud's ack at the wearable \(2,000 of 2,000 readings acked\)/);
  assert.ok(texts(latency).some((t) => /^there and back over the lossy link, resends included \(ms\)$/.test(t)), texts(latency).join(' | '));
  assert.deepEqual(['1194.0 ms', '7374.0 ms', '15118.0 ms', '19060.0 ms'].filter((v) => !texts(latency).includes(v)), [], 'every recorded percentile is drawn');
  const rate = chart(charts, 'dtls-fleet-acks-per-second.svg');
  assert.ok(texts(rate).includes('acked readings/s'));
  // The first point is the bridge's start at 0/s; the plot is not flat.
  const ys = pathYs(rate);
  assert.ok(ys.length > 10 && new Set(ys).size > 2, `the rate series has ${ys.length} points, ${new Set(ys).size} distinct`);
  const titles = [...charts.map((c) => svgTitle(c.svg)), ...[fleetLatencyChart(stats.latencyMs), fleetConnectionsChart([], undefined), fleetReadingRateChart([], undefined), fleetReconnectsChart([], undefined)].map(svgTitle)];
  assert.equal(new Set(titles).size, titles.length, `a DTLS chart shares a title with a TLS fleet chart: ${titles.join(' | ')}`);
});

test('the recorded run without resends: its latency says each reading was sent once and only the acked ones count', () => {
  const stats = recorded.withoutResends;
  const latency = chart(dtlsFleetCharts(stats), 'dtls-fleet-ack-latency.svg');
  assert.match(svgTitle(latency), /\(158 of 200 readings acked\)/);
  assert.ok(texts(latency).some((t) => /^there and back over the lossy link, each sent once \(ms\)$/.test(t)), texts(latency).join(' | '));
});

test('acks per second: whole-second windows that add up to every acknowledged reading', () => {
  const { samples } = recorded.withResends;
  const rates = perSecondAckRates(samples);
  assert.deepEqual(rates[0], { tMs: samples[0]?.tMs, value: 0 });
  let total = 0;
  for (let i = 1; i < rates.length; i++) {
    const a = rates[i - 1] as { tMs: number; value: number };
    const b = rates[i] as { tMs: number; value: number };
    if (i < rates.length - 1) assert.ok(b.tMs - a.tMs >= 1_000, `window ${i} is ${b.tMs - a.tMs} ms`);
    total += (b.value * (b.tMs - a.tMs)) / 1000;
  }
  const last = samples[samples.length - 1];
  assert.equal(Math.round(total), (last?.acknowledged ?? 0) - (samples[0]?.acknowledged ?? 0));
  assert.deepEqual(perSecondAckRates([]), []);
});

test('charts with nothing to show are left out; handshake retries are drawn when there were some', () => {
  const stats = recorded.withResends;
  assert.deepEqual(dtlsFleetCharts({ ...stats, samples: stats.samples.slice(0, 1) }), [], 'one sample is no time series');
  assert.deepEqual(dtlsFleetCharts({ ...stats, acknowledged: 0 }).map((c) => c.fileName), ['dtls-fleet-sessions.svg'], 'nothing acknowledged: no rate, no latency');
  const retried = stats.samples.map((s, i) => ({ ...s, reconnects: Math.floor(i / 20) }));
  const retries = chart(dtlsFleetCharts({ ...stats, samples: retried, reconnects: retried[retried.length - 1]?.reconnects ?? 0 }), 'dtls-fleet-handshake-retries.svg');
  assert.equal(svgTitle(retries), 'DTLS handshakes tried again after a failed attempt (cumulative)');
  assert.deepEqual(readabilityProblems(retries), []);
});
