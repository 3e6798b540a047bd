/**
 * Report pictures for the handshake scenarios, as plain SVG (attached to the Cucumber HTML
 * report): a ladder diagram of the captured flights, and a bar chart of connect times.
 */
import type { HandshakeAnalysis } from './handshake-analyser.ts';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Device on the left, server on the right, one arrow per flight, sloped by the capture times. */
export function ladderSvg(title: string, a: HandshakeAnalysis): string {
  const width = 760;
  const left = 120;
  const right = width - 120;
  const top = 60;
  const t0 = a.roundTrips[0]?.startMicros ?? a.flights[0]?.startMicros ?? 0n;
  const events: { y: number; label: string; toServer: boolean }[] = [];
  let y = top;
  if (a.roundTrips[0]?.layer === 'tcp') {
    events.push({ y, label: 'SYN', toServer: true }, { y: (y += 28), label: 'SYN-ACK', toServer: false });
  }
  for (const f of a.flights) {
    y += 28;
    const what = f.records.map((r) => (r.handshakeMessages.length ? r.handshakeMessages.join(', ') : r.contentTypeName)).join(', ');
    const ms = Number(f.startMicros - t0) / 1000;
    events.push({ y, label: `${ms.toFixed(1)} ms  ${what} (${f.wireBytes} B)`, toServer: f.direction === 'client-to-server' });
  }
  const height = y + 50;
  const arrows = events.map((e) => {
    const [x1, x2] = e.toServer ? [left, right] : [right, left];
    return `<line x1="${x1}" y1="${e.y - 10}" x2="${x2}" y2="${e.y + 8}" stroke="${e.toServer ? '#1f5fa8' : '#a8421f'}" marker-end="url(#arrow)"/>`
      + `<text x="${width / 2}" y="${e.y - 4}" font-size="11" text-anchor="middle">${escape(e.label.length > 95 ? `${e.label.slice(0, 92)}…` : e.label)}</text>`;
  });
  const summary = `${a.protocol} ${a.kind}${a.helloRetryRequest ? ' + HelloRetryRequest' : ''}: ${a.roundTripsToFirstApplicationByte ?? '?'} round trips, `
    + `${a.timeToFirstApplicationByteMs?.toFixed(1) ?? '?'} ms to the first application byte`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`
    + '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>'
    + `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`
    + `<text x="10" y="38" font-size="12">${escape(summary)}</text>`
    + `<text x="${left}" y="${top - 8}" text-anchor="middle" font-size="12">device</text><text x="${right}" y="${top - 8}" text-anchor="middle" font-size="12">cloud broker</text>`
    + `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - 20}" stroke="#888"/><line x1="${right}" y1="${top}" x2="${right}" y2="${height - 20}" stroke="#888"/>`
    + `${arrows.join('')}</svg>`;
}

/** Horizontal bars, one per labelled value in ms. */
export function barChartSvg(title: string, bars: readonly { label: string; ms: number }[]): string {
  const width = 560;
  const max = Math.max(1, ...bars.map((b) => b.ms));
  const rows = bars.map((b, i) => {
    const y = 40 + i * 30;
    const w = Math.round((b.ms / max) * 300);
    return `<text x="10" y="${y + 14}" font-size="12">${escape(b.label)}</text>`
      + `<rect x="200" y="${y}" width="${w}" height="20" fill="${i % 2 ? '#a8421f' : '#1f5fa8'}"/>`
      + `<text x="${205 + w}" y="${y + 14}" font-size="12">${b.ms.toFixed(1)} ms</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${50 + bars.length * 30}" font-family="sans-serif">`
    + `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>${rows.join('')}</svg>`;
}
