/**
 * The fleet run's pictures for the HTML report (step-definitions/attachments.ts attachSvg): a
 * time series chart (connections over time, readings per second, the restart storm) drawn from
 * the fleet's 250 ms samples, with an optional marker where the broker restarted.
 */
import type { FleetSample } from '../emulators/fleet/fleet-counters.ts';

const W = 640;
const H = 240;
const LEFT = 70;
const RIGHT = 20;
const TOP = 36;
const BOTTOM = 36;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * One line over time; `markerMs` draws a vertical line (e.g. the broker restart). `axes` names
 * both axes with their units, e.g. { x: 'time since the fleet started (s)', y: 'readings/s' }.
 */
export function timeSeriesSvg(title: string, axes: { readonly x: string; readonly y: string }, points: readonly { tMs: number; value: number }[], markerMs?: { tMs: number; label: string }): string {
  const t0 = points[0]?.tMs ?? 0;
  const t1 = Math.max(t0 + 1, points[points.length - 1]?.tMs ?? 1);
  const max = Math.max(1, ...points.map((p) => p.value));
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
  const y = (v: number) => H - BOTTOM - (v / max) * (H - TOP - BOTTOM);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.tMs).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const marker = markerMs
    ? `<line x1="${x(markerMs.tMs).toFixed(1)}" y1="${TOP}" x2="${x(markerMs.tMs).toFixed(1)}" y2="${H - BOTTOM}" stroke="#a8421f" stroke-dasharray="4 3"/><text x="${(x(markerMs.tMs) + 4).toFixed(1)}" y="${TOP + 12}" font-size="11" fill="#a8421f">${escape(markerMs.label)}</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`
    + `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`
    + `<line x1="${LEFT}" y1="${H - BOTTOM}" x2="${W - RIGHT}" y2="${H - BOTTOM}" stroke="#888"/><line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${H - BOTTOM}" stroke="#888"/>`
    + `<text x="${LEFT - 6}" y="${TOP + 4}" font-size="11" text-anchor="end">${max.toFixed(0)}</text><text x="${LEFT - 6}" y="${H - BOTTOM}" font-size="11" text-anchor="end">0</text>`
    + `<text x="${LEFT}" y="${H - 12}" font-size="11">0 s</text><text x="${W - RIGHT}" y="${H - 12}" font-size="11" text-anchor="end">${((t1 - t0) / 1000).toFixed(1)} s</text>`
    + `<text x="${W / 2}" y="${H - 12}" font-size="11" text-anchor="middle">${escape(axes.x)}</text>`
    + `<text x="14" y="${(TOP + H - BOTTOM) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(TOP + H - BOTTOM) / 2})">${escape(axes.y)}</text>`
    + `<path d="${path}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>${marker}</svg>`;
}

/** Readings acknowledged per second between consecutive samples. */
export function ratePoints(samples: readonly FleetSample[]): { tMs: number; value: number }[] {
  const out: { tMs: number; value: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as FleetSample;
    const b = samples[i] as FleetSample;
    out.push({ tMs: b.tMs, value: ((b.acknowledged - a.acknowledged) * 1000) / Math.max(1, b.tMs - a.tMs) });
  }
  return out;
}
