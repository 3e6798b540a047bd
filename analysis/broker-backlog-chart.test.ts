/**
 * The backpressure chart (report-charts.ts brokerBacklogChart) from small accounts: each bar's
 * parts are as long as the record's numbers say, its captions carry those numbers, and an account
 * with nothing dropped draws no drop at all. Read back from the SVG's own geometry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerBacklogChart, type BacklogAccount } from './report-charts.ts';
import { readabilityProblems, svgGeometry, svgTitle } from './svg-geometry.ts';

const REACHED_CLOUD = '#1f5fa8';
const NEVER_REACHED = '#a8421f';

interface DrawnSegment { readonly x: number; readonly y: number; readonly width: number; readonly fill: string }

/** The bars' segments (the rects that carry a data-value: not the background, not the legend's swatches), grouped into rows top to bottom. */
function rows(svg: string): DrawnSegment[][] {
  const segments = [...svg.matchAll(/<rect\b[^>]*data-value="[^"]*"[^>]*>/g)].map(([tag]) => {
    const a = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? '';
    return { x: Number(a('x')), y: Number(a('y')), width: Number(a('width')), fill: a('fill') };
  });
  const ys = [...new Set(segments.map((s) => s.y))].sort((p, q) => p - q);
  return ys.map((y) => segments.filter((s) => s.y === y).sort((p, q) => p.x - q.x));
}

const texts = (svg: string) => svgGeometry(svg).texts.map((t) => t.text);
const widthsOf = (row: DrawnSegment[] | undefined) => (row ?? []).map((s) => ({ fill: s.fill, width: s.width }));

/** Widths a bar of `values` (reached the cloud, never reached) should have, where `fullWidth` is drawn for `max` readings. */
function expected(values: readonly [string, number][], fullWidth: number, max: number) {
  return values.filter(([, v]) => v > 0).map(([fill, v]) => ({ fill, width: Number(((v / max) * fullWidth).toFixed(1)) }));
}

const mosquitto500: BacklogAccount = { acknowledged: 1200, receivedByBroker: 1200, deliveredByBroker: 500, openedByCloud: 500, namedMissing: 700, wearables: 300, wearablesWithGaps: 300 };

test('Mosquitto with a 500-message quota: the broker bar and the cloud bar each show 500 reached and 700 dropped, against 1,200 acknowledged', () => {
  const svg = brokerBacklogChart(mosquitto500);
  assert.deepEqual(readabilityProblems(svg), [], 'the chart does not read well');
  assert.equal(svgTitle(svg), 'The cloud away: readings acknowledged by the broker vs delivered vs dropped');
  const t = texts(svg);
  for (const caption of [
    "the wearables' own records: 1,200 acknowledged by the broker (PUBACK)",
    "the broker's log: 500 delivered to the cloud, 700 dropped (never delivered)",
    'the cloud: 500 opened, 700 named missing by its gap report',
  ]) assert.ok(t.includes(caption), `no caption "${caption}" among: ${t.join(' | ')}`);
  assert.ok(t.some((s) => s.includes('dropped 700 of them')) && t.some((s) => s.includes('names 700 missing, across 300 wearables')), `the summary does not state the drop: ${t.join(' | ')}`);
  assert.ok(t.includes('1,200') && t.includes('0'), 'the axis runs from 0 to 1,200 readings');
  const [acknowledged, broker, cloud] = rows(svg);
  assert.equal(acknowledged?.length, 1, 'the acknowledged bar is one whole part');
  const full = acknowledged?.[0]?.width ?? 0;
  assert.ok(full > 500, `the acknowledged bar is ${full} px wide: it should span the plot`);
  assert.deepEqual(widthsOf(broker), expected([[REACHED_CLOUD, 500], [NEVER_REACHED, 700]], full, 1200), "the broker's bar is not 500 delivered then 700 dropped");
  assert.deepEqual(widthsOf(cloud), expected([[REACHED_CLOUD, 500], [NEVER_REACHED, 700]], full, 1200), "the cloud's bar is not 500 opened then 700 named missing");
  // Stacked: the drop starts where the delivered part ends.
  assert.ok(Math.abs((broker?.[1]?.x ?? 0) - ((broker?.[0]?.x ?? 0) + (broker?.[0]?.width ?? 0))) < 0.2, 'the dropped part does not follow the delivered part');
});

test('a quota sized for the backlog (or Aedes, no quota): nothing dropped draws no drop segment anywhere', () => {
  const svg = brokerBacklogChart({ acknowledged: 1200, receivedByBroker: 1200, deliveredByBroker: 1200, openedByCloud: 1200, namedMissing: 0, wearables: 300, wearablesWithGaps: 0 });
  assert.deepEqual(readabilityProblems(svg), [], 'the chart does not read well');
  const [acknowledged, broker, cloud] = rows(svg);
  const full = acknowledged?.[0]?.width ?? 0;
  assert.deepEqual(rows(svg).flat().filter((s) => s.fill === NEVER_REACHED), [], 'a drop segment is drawn for an account that dropped nothing');
  assert.deepEqual(widthsOf(broker), [{ fill: REACHED_CLOUD, width: full }], "the broker's bar is not wholly delivered");
  assert.deepEqual(widthsOf(cloud), [{ fill: REACHED_CLOUD, width: full }], "the cloud's bar is not wholly opened");
  const t = texts(svg);
  assert.ok(t.includes("the broker's log: 1,200 delivered to the cloud, 0 dropped (never delivered)"), t.join(' | '));
  assert.ok(t.some((s) => s.includes('dropped none')) && t.some((s) => s.includes('names none missing')), `the summary does not say nothing was dropped: ${t.join(' | ')}`);
});

test('each bar is drawn from its own record: a gap report that disagrees with the broker looks different', () => {
  const svg = brokerBacklogChart({ ...mosquitto500, openedByCloud: 510, namedMissing: 690 });
  const [acknowledged, broker, cloud] = rows(svg);
  const full = acknowledged?.[0]?.width ?? 0;
  assert.deepEqual(widthsOf(broker), expected([[REACHED_CLOUD, 500], [NEVER_REACHED, 700]], full, 1200));
  assert.deepEqual(widthsOf(cloud), expected([[REACHED_CLOUD, 510], [NEVER_REACHED, 690]], full, 1200));
  assert.ok(texts(svg).includes('the cloud: 510 opened, 690 named missing by its gap report'));
});

test('each bar comes from its own record: three records that all disagree draw three different bars', () => {
  // Acknowledged 1,200 but the broker's log received 1,190; it delivered 500 (so dropped 690); the
  // cloud opened 498 and names 695 missing. A bar drawn from another record's numbers shows here.
  const svg = brokerBacklogChart({ acknowledged: 1200, receivedByBroker: 1190, deliveredByBroker: 500, openedByCloud: 498, namedMissing: 695, wearables: 300, wearablesWithGaps: 280 });
  const t = texts(svg);
  for (const caption of [
    "the wearables' own records: 1,200 acknowledged by the broker (PUBACK)",
    "the broker's log: 500 delivered to the cloud, 690 dropped (never delivered)",
    'the cloud: 498 opened, 695 named missing by its gap report',
  ]) assert.ok(t.includes(caption), `no caption "${caption}" among: ${t.join(' | ')}`);
  const [acknowledged, broker, cloud] = rows(svg);
  const full = acknowledged?.[0]?.width ?? 0;
  assert.deepEqual(widthsOf(broker), expected([[REACHED_CLOUD, 500], [NEVER_REACHED, 690]], full, 1200), "the broker's bar is not its log's 500 delivered then 690 dropped");
  assert.deepEqual(widthsOf(cloud), expected([[REACHED_CLOUD, 498], [NEVER_REACHED, 695]], full, 1200), "the cloud's bar is not its own 498 opened then 695 named missing");
});

test('a count that is not a finite number is refused with one line, not drawn', () => {
  assert.throws(() => brokerBacklogChart({ ...mosquitto500, deliveredByBroker: Number.NaN }), /stacked bars: "the broker's log[^"]*" has a part of NaN; every part must be a finite count from 0/);
  assert.throws(() => brokerBacklogChart({ ...mosquitto500, acknowledged: Number.POSITIVE_INFINITY }), /has a part of Infinity/);
});
