/**
 * Reads back the geometry of the report's own SVG pictures (our generators' output: one element
 * per tag, plain attributes) and lists what would make one unreadable: a label crossed by a line,
 * labels on top of each other, text outside the picture, text cut short with "…". Text boxes use
 * the same upper-bound width estimate as the layout (svg-text.ts); the PNGs rendered by Chromium
 * were checked by eye against it.
 */
import { CHAR_EM } from './svg-text.ts';

export interface Box { readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number }
export interface SvgText { readonly text: string; readonly box: Box }
export interface SvgLine { readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number }
export interface SvgGeometry { readonly width: number; readonly height: number; readonly texts: SvgText[]; readonly lines: SvgLine[] }

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
const num = (tag: string, name: string, fallback = 0): number => Number(attr(tag, name) ?? fallback);
const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

export function svgGeometry(svg: string): SvgGeometry {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const texts: SvgText[] = [];
  for (const m of svg.matchAll(/(<text\b[^>]*>)([^<]*)<\/text>/g)) {
    const tag = m[1] as string;
    const text = unescape(m[2] as string);
    const size = num(tag, 'font-size', 16);
    const x = num(tag, 'x');
    const y = num(tag, 'y');
    const w = [...text].length * size * CHAR_EM;
    const anchor = attr(tag, 'text-anchor') ?? 'start';
    const left = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    let box: Box = { x1: left, y1: y - size * 0.8, x2: left + w, y2: y + size * 0.2 };
    const rotate = /rotate\(-90 ([\d.]+) ([\d.]+)\)/.exec(attr(tag, 'transform') ?? '');
    if (rotate) {
      // rotate(-90 cx cy): (x, y) → (cx + (y - cy), cy - (x - cx))
      const [cx, cy] = [Number(rotate[1]), Number(rotate[2])];
      const at = (px: number, py: number) => ({ x: cx + (py - cy), y: cy - (px - cx) });
      const a = at(box.x1, box.y1);
      const b = at(box.x2, box.y2);
      box = { x1: Math.min(a.x, b.x), y1: Math.min(a.y, b.y), x2: Math.max(a.x, b.x), y2: Math.max(a.y, b.y) };
    }
    texts.push({ text, box });
  }
  const lines = [...svg.matchAll(/<line\b[^>]*>/g)].map((m) => ({ x1: num(m[0], 'x1'), y1: num(m[0], 'y1'), x2: num(m[0], 'x2'), y2: num(m[0], 'y2') }));
  return { width: num(root, 'width'), height: num(root, 'height'), texts, lines };
}

/** Whether the segment crosses the box (Liang–Barsky clipping). */
export function segmentHitsBox(s: SvgLine, b: Box): boolean {
  let t0 = 0;
  let t1 = 1;
  const dx = s.x2 - s.x1;
  const dy = s.y2 - s.y1;
  for (const [p, q] of [[-dx, s.x1 - b.x1], [dx, b.x2 - s.x1], [-dy, s.y1 - b.y1], [dy, b.y2 - s.y1]] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return false;
  }
  return true;
}

const overlaps = (a: Box, b: Box): boolean => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
const show = (b: Box): string => `(${b.x1.toFixed(0)},${b.y1.toFixed(0)})-(${b.x2.toFixed(0)},${b.y2.toFixed(0)})`;

/** Everything that makes the picture hard to read, one sentence each; empty when it reads well. */
export function readabilityProblems(svg: string): string[] {
  const g = svgGeometry(svg);
  const problems: string[] = [];
  for (const t of g.texts) {
    if (/…\s*$|\(…/.test(t.text)) problems.push(`"${t.text}" is cut short`);
    if (t.box.x1 < 0 || t.box.y1 < 0 || t.box.x2 > g.width || t.box.y2 > g.height) problems.push(`"${t.text}" ${show(t.box)} runs outside the ${g.width}×${g.height} picture`);
    for (const l of g.lines) if (segmentHitsBox(l, t.box)) problems.push(`"${t.text}" ${show(t.box)} is struck through by the line (${l.x1},${l.y1})-(${l.x2},${l.y2})`);
  }
  g.texts.forEach((a, i) => g.texts.slice(i + 1).forEach((b) => {
    if (overlaps(a.box, b.box)) problems.push(`"${a.text}" and "${b.text}" overlap`);
  }));
  return problems;
}

/** The picture's title: its first text. */
export const svgTitle = (svg: string): string => svgGeometry(svg).texts[0]?.text ?? '';
