/**
 * Horizontal stacked bars on one shared count axis, for the report (the drawing only: what is
 * shown and how it is labelled is decided in report-charts.ts). Each bar's caption stands in its
 * own band above the bar, so a long caption never runs across a bar or another caption; a segment
 * of 0 draws nothing, so "none dropped" is an absent colour, not a sliver. A legend under the axis
 * names each colour.
 */
import { escapeXml, svgDocument, textWidth, wrapText } from './svg-text.ts';

export interface Segment {
  readonly value: number;
  readonly colour: string;
}

export interface StackedBar {
  /** What the bar shows, with its numbers ("the broker's log: 500 delivered, 700 dropped"). */
  readonly caption: string;
  readonly segments: readonly Segment[];
}

export interface StackedBarsChart {
  readonly title: string;
  /** One sentence under the title; wrapped, never cut. */
  readonly summary: string;
  readonly bars: readonly StackedBar[];
  /** The count axis's label, with its unit. */
  readonly axisLabel: string;
  readonly legend: readonly { readonly label: string; readonly colour: string }[];
}

const MIN_WIDTH = 640;
const LEFT = 20;
const RIGHT = 40;
const CAPTION_FONT = 12;
const CAPTION_LINE = 15;
const BAR_HEIGHT = 20;
const LEGEND_SWATCH = 12;
const LEGEND_GAP = 18;

export function stackedBarsSvg(c: StackedBarsChart): string {
  // NaN would print as a caption number and an endless axis (ticks(Infinity) never ends): refuse it.
  for (const b of c.bars) {
    const bad = b.segments.find((s) => !Number.isFinite(s.value) || s.value < 0);
    if (bad) throw new Error(`stacked bars: "${b.caption}" has a part of ${bad.value}; every part must be a finite count from 0`);
  }
  const width = Math.max(MIN_WIDTH, Math.ceil(textWidth(c.title, 14) + 20));
  const plot = width - LEFT - RIGHT;
  const max = Math.max(1, ...c.bars.map((b) => total(b)));
  const scale = (v: number) => (v / max) * plot;
  const parts: string[] = [`<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(c.title)}</text>`];
  let y = 20;
  for (const line of wrapText(c.summary, width - 20, 12)) {
    y += 16;
    parts.push(`<text x="10" y="${y}" font-size="12">${escapeXml(line)}</text>`);
  }
  y += 8;
  for (const bar of c.bars) {
    for (const line of wrapText(bar.caption, plot, CAPTION_FONT)) {
      y += CAPTION_LINE;
      parts.push(`<text x="${LEFT}" y="${y}" font-size="${CAPTION_FONT}">${escapeXml(line)}</text>`);
    }
    y += 5;
    let x = LEFT;
    for (const s of bar.segments) {
      if (!(s.value > 0)) continue;
      const w = scale(s.value);
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${s.colour}" data-value="${s.value}"/>`);
      x += w;
    }
    y += BAR_HEIGHT + 10;
  }
  const axisY = y;
  parts.push(`<line x1="${LEFT}" y1="${axisY}" x2="${LEFT + plot}" y2="${axisY}" stroke="#888"/>`);
  for (const t of ticks(max)) {
    const tx = LEFT + scale(t);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${axisY}" x2="${tx.toFixed(1)}" y2="${axisY + 4}" stroke="#888"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${axisY + 16}" font-size="11" text-anchor="middle">${t.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<text x="${LEFT + plot / 2}" y="${axisY + 32}" font-size="11" text-anchor="middle">${escapeXml(c.axisLabel)}</text>`);
  let lx = LEFT;
  let legendY = axisY + 52;
  for (const l of c.legend) {
    const itemWidth = LEGEND_SWATCH + 5 + textWidth(l.label, 11);
    // An entry that would run past the right edge starts a new legend line.
    if (lx > LEFT && lx + itemWidth > width - 10) [lx, legendY] = [LEFT, legendY + 18];
    parts.push(`<rect x="${lx.toFixed(1)}" y="${legendY - LEGEND_SWATCH + 2}" width="${LEGEND_SWATCH}" height="${LEGEND_SWATCH}" fill="${l.colour}"/>`);
    parts.push(`<text x="${(lx + LEGEND_SWATCH + 5).toFixed(1)}" y="${legendY}" font-size="11">${escapeXml(l.label)}</text>`);
    lx += itemWidth + LEGEND_GAP;
  }
  const height = legendY + 14;
  return svgDocument(width, height, parts.join(''));
}

const total = (b: StackedBar): number => b.segments.reduce((n, s) => n + (s.value > 0 ? s.value : 0), 0);

/** Tick values from 0 up to `max` in round steps (1, 2, 2.5 or 5 × 10^k; at most 6 intervals). */
export function ticks(max: number): number[] {
  const raw = max / 6;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? max;
  const out: number[] = [];
  for (let t = 0; t <= max + 1e-9; t += step) out.push(Math.round(t * 100) / 100);
  return out;
}
