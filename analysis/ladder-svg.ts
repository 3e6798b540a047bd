/**
 * Report pictures for the handshake scenarios, as plain SVG (attached to the Cucumber HTML
 * report): ladder diagrams of the captured flights (TLS, DTLS 1.2, DTLS 1.3) and bar charts.
 *
 * Layout rules, so a person can read them (checked by ladder-svg.test.ts on the geometry):
 * each flight's label sits in its own band above its arrow, never across it; a label too long for
 * the space between the lanes is wrapped at its commas, never cut; the time of each flight stands
 * in the margin beside the lane that sent it.
 */
import type { HandshakeAnalysis } from './handshake-analyser.ts';
import type { DtlsHandshakeAnalysis } from './dtls-handshake.ts';
import type { Dtls13HandshakeAnalysis } from './dtls13-handshake.ts';
import { escapeXml, svgDocument, textWidth, wrapText } from './svg-text.ts';

/** One arrow of a ladder: a flight, its time since the first packet, and what it carried. */
export interface LadderArrow {
  readonly toServer: boolean;
  readonly atMs?: number;
  readonly label: string;
}

export interface Ladder {
  readonly title: string;
  readonly summary: string;
  readonly client: string;
  readonly server: string;
  readonly arrows: readonly LadderArrow[];
}

const WIDTH = 820;
const LEFT = 120;
const RIGHT = WIDTH - 120;
const LABEL_FONT = 11;
const LINE_HEIGHT = 14;
/** How far an arrow falls from its sending lane to the receiving one (time passes). */
const ARROW_DROP = 14;
const BLUE = '#1f5fa8';
const RUST = '#a8421f';

/** The ladder as SVG: the device's lane on the left, the server's on the right. */
export function ladderDiagramSvg(l: Ladder): string {
  const summaryLines = wrapText(l.summary, WIDTH - 20, 12);
  const top = 46 + summaryLines.length * 16;
  const parts: string[] = [];
  let y = top + 10;
  for (const a of l.arrows) {
    const lines = wrapText(a.label, RIGHT - LEFT - 24, LABEL_FONT);
    for (const text of lines) {
      y += LINE_HEIGHT;
      parts.push(`<text x="${WIDTH / 2}" y="${y}" font-size="${LABEL_FONT}" text-anchor="middle">${escapeXml(text)}</text>`);
    }
    const y1 = y + 6;
    const y2 = y1 + ARROW_DROP;
    const [x1, x2] = a.toServer ? [LEFT, RIGHT] : [RIGHT, LEFT];
    parts.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${a.toServer ? BLUE : RUST}" stroke-width="1.3" marker-end="url(#arrow)"/>`);
    if (a.atMs !== undefined) {
      // The time beside the sending lane, at the arrow's start, outside the lanes.
      const [tx, anchor] = a.toServer ? [LEFT - 8, 'end'] : [RIGHT + 8, 'start'];
      parts.push(`<text x="${tx}" y="${y1 + 4}" font-size="${LABEL_FONT}" text-anchor="${anchor}" fill="#555">${a.atMs.toFixed(1)} ms</text>`);
    }
    y = y2 + 10;
  }
  const height = y + 20;
  return svgDocument(WIDTH, height, '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>'
    + `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(l.title)}</text>`
    + summaryLines.map((s, i) => `<text x="10" y="${38 + i * 16}" font-size="12">${escapeXml(s)}</text>`).join('')
    + `<text x="${LEFT}" y="${top - 2}" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(l.client)}</text>`
    + `<text x="${RIGHT}" y="${top - 2}" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(l.server)}</text>`
    + `<line x1="${LEFT}" y1="${top + 4}" x2="${LEFT}" y2="${height - 10}" stroke="#888"/><line x1="${RIGHT}" y1="${top + 4}" x2="${RIGHT}" y2="${height - 10}" stroke="#888"/>`
    + parts.join(''));
}

const msSince = (t0: bigint, t: bigint): number => Number(t - t0) / 1000;

/** A TLS connection's ladder (TCP's SYN/SYN-ACK when captured, then each flight of records, repeats collapsed: "application_data ×4"). */
export function ladderSvg(title: string, a: HandshakeAnalysis): string {
  const t0 = a.roundTrips[0]?.startMicros ?? a.flights[0]?.startMicros ?? 0n;
  const arrows: LadderArrow[] = [];
  const tcp = a.roundTrips[0]?.layer === 'tcp' ? a.roundTrips[0] : undefined;
  if (tcp) arrows.push({ toServer: true, atMs: 0, label: 'TCP SYN' }, { toServer: false, atMs: msSince(t0, tcp.answerMicros), label: 'TCP SYN-ACK' });
  for (const f of a.flights) {
    const what = collapse(f.records.flatMap((r) => (r.handshakeMessages.length ? r.handshakeMessages : [r.contentTypeName]))).join(', ');
    arrows.push({ toServer: f.direction === 'client-to-server', atMs: msSince(t0, f.startMicros), label: `${what} (${f.wireBytes} B)` });
  }
  const summary = `${a.protocol} ${a.kind}${a.helloRetryRequest ? ' + HelloRetryRequest' : ''}: ${a.roundTripsToFirstApplicationByte ?? '?'} round trips, `
    + `${a.timeToFirstApplicationByteMs?.toFixed(1) ?? '?'} ms to the first application byte; ${a.handshakeBytes.serverToClient} handshake bytes from the server`;
  return ladderDiagramSvg({ title, summary, client: 'device', server: 'cloud broker', arrows });
}

/** A DTLS 1.2 handshake's ladder (RFC 6347), one arrow per flight of datagrams. */
export function dtlsLadderSvg(title: string, a: DtlsHandshakeAnalysis): string {
  const t0 = a.flights[0]?.startMicros ?? 0n;
  const arrows = a.flights.map((f) => ({
    toServer: f.direction === 'client-to-server',
    atMs: msSince(t0, f.startMicros),
    label: `${f.messages.join(', ')} (${f.wireBytes} B${f.datagrams > 1 ? ` in ${f.datagrams} datagrams` : ''})`,
  }));
  const summary = `DTLS 1.2 ${a.kind}${a.helloVerifyRequest ? ' with the HelloVerifyRequest cookie' : ''}: ${a.roundTrips ?? '?'} round trips, `
    + `${a.handshakeMs?.toFixed(1) ?? '?'} ms to the server's Finished; ${a.handshakeBytes.serverToClient} handshake bytes from the server`;
  return ladderDiagramSvg({ title, summary, client: 'device', server: 'cloud DTLS endpoint', arrows });
}

/** A DTLS 1.3 handshake's ladder (RFC 9147), repeated messages collapsed ("encrypted handshake ×4"). */
export function dtls13LadderSvg(title: string, a: Dtls13HandshakeAnalysis): string {
  const t0 = a.flights[0]?.startMicros ?? 0n;
  const arrows = a.flights.map((f) => ({ toServer: f.direction === 'client-to-server', atMs: msSince(t0, f.startMicros), label: `${collapse(f.messages).join(', ')} (${f.wireBytes} B)` }));
  const summary = `DTLS 1.3 ${a.resumed ? 'resumed' : 'full'}${a.helloRetryRequest ? ' + HelloRetryRequest' : ''}${a.earlyDataRecords ? `, ${a.earlyDataRecords} early-data record(s)` : ''}: `
    + `${a.roundTripsBeforeData ?? '?'} round trips, ${a.msBeforeData?.toFixed(1) ?? '?'} ms before the first data`;
  return ladderDiagramSvg({ title, summary, client: 'device', server: 'cloud DTLS endpoint', arrows });
}

function collapse(messages: readonly string[]): string[] {
  const out: { name: string; count: number }[] = [];
  for (const m of messages) {
    const last = out.at(-1);
    if (last?.name === m) last.count++;
    else out.push({ name: m, count: 1 });
  }
  return out.map((m) => (m.count > 1 ? `${m.name} ×${m.count}` : m.name));
}

/**
 * Horizontal bars, one per labelled value, with a value axis carrying its unit. The title must
 * say what the bars compare (two charts in one report must not share a title).
 */
export function barChartSvg(title: string, bars: readonly { label: string; ms: number }[], axisLabel = 'time (ms)'): string {
  const labelWidth = Math.max(120, ...bars.map((b) => textWidth(b.label, 12) + 20));
  const plot = 300;
  const width = Math.max(labelWidth + plot + 90, textWidth(title, 14) + 20);
  const max = Math.max(1, ...bars.map((b) => (Number.isFinite(b.ms) ? b.ms : 0)));
  const rows = bars.map((b, i) => {
    const y = 40 + i * 30;
    const w = Number.isFinite(b.ms) ? Math.round((b.ms / max) * plot) : 0;
    return `<text x="10" y="${y + 14}" font-size="12">${escapeXml(b.label)}</text>`
      + `<rect x="${labelWidth}" y="${y}" width="${w}" height="20" fill="${i % 2 ? RUST : BLUE}"/>`
      + `<text x="${labelWidth + w + 5}" y="${y + 14}" font-size="12">${Number.isFinite(b.ms) ? `${b.ms.toFixed(1)} ms` : 'not measured'}</text>`;
  });
  const axisY = 40 + bars.length * 30;
  const height = axisY + 40;
  return svgDocument(width, height, `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>${rows.join('')}`
    + `<line x1="${labelWidth}" y1="${axisY}" x2="${labelWidth + plot}" y2="${axisY}" stroke="#888"/>`
    + `<text x="${labelWidth}" y="${axisY + 14}" font-size="11" text-anchor="middle">0</text>`
    + `<text x="${labelWidth + plot}" y="${axisY + 14}" font-size="11" text-anchor="middle">${max.toFixed(1)}</text>`
    + `<text x="${labelWidth + plot / 2}" y="${axisY + 30}" font-size="11" text-anchor="middle">${escapeXml(axisLabel)}</text>`);
}
