/**
 * The report's pictures read well, judged on their geometry (analysis/svg-geometry.ts): no label
 * is crossed by an arrow or another line, none overlaps another or leaves the picture, none is
 * cut short with "…"; chart titles say what they compare and are all different; axes name
 * their units. The flights below are the longest ones a TLS 1.2 full handshake with a client
 * certificate produced in a real run (the ones the old drawing cut with "(…").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtls13LadderSvg, dtlsLadderSvg, ladderDiagramSvg, ladderSvg, barChartSvg } from './ladder-svg.ts';
import { fleetConnectionsChart, fleetLatencyChart, fleetReadingRateChart, fleetReconnectsChart, nagleConnectTimesChart, resumptionConnectTimesChart } from './report-charts.ts';
import { timeSeriesSvg } from './fleet-charts.ts';
import { readabilityProblems, segmentHitsBox, svgGeometry, svgTitle } from './svg-geometry.ts';
import type { HandshakeAnalysis } from './handshake-analyser.ts';
import type { DtlsHandshakeAnalysis } from './dtls-handshake.ts';
import type { Dtls13HandshakeAnalysis } from './dtls13-handshake.ts';

const T0 = 1_700_000_000_000_000n;
const at = (ms: number): bigint => T0 + BigInt(Math.round(ms * 1000));
const endpoint = (port: number) => ({ address: '127.0.0.1', port });

function record(direction: 'client-to-server' | 'server-to-client', ms: number, name: string, handshakeMessages: string[], wireBytes: number) {
  return { direction, timestampMicros: at(ms), contentType: 22, contentTypeName: name, version: 0x0303, wireBytes, handshakeMessages };
}

function tls12Full(): HandshakeAnalysis {
  const flights = [
    ['client-to-server', 50, [record('client-to-server', 50, 'handshake', ['ClientHello'], 216)]],
    ['server-to-client', 102, [record('server-to-client', 102, 'handshake', ['ServerHello', 'Certificate', 'ServerKeyExchange', 'CertificateRequest', 'ServerHelloDone'], 1901)]],
    ['client-to-server', 105.9, [record('client-to-server', 105.9, 'handshake', ['Certificate', 'ClientKeyExchange', 'CertificateVerify'], 1300), record('client-to-server', 105.9, 'change_cipher_spec', [], 6), record('client-to-server', 105.9, 'handshake', [], 45)]],
    ['server-to-client', 161, [record('server-to-client', 161, 'handshake', ['NewSessionTicket'], 850), record('server-to-client', 161, 'change_cipher_spec', [], 6), record('server-to-client', 161, 'handshake', [], 45)]],
    ['client-to-server', 170.3, [record('client-to-server', 170.3, 'application_data', [], 89)]],
    ['server-to-client', 224.3, [record('server-to-client', 224.3, 'application_data', [], 33)]],
  ] as const;
  return {
    client: endpoint(40000), server: endpoint(8883), protocol: 'TLS 1.2', kind: 'full', helloRetryRequest: false, clientOfferedResumption: false,
    serverName: 'cloud.testbed.local', serverCertificateInClear: true, records: flights.flatMap((f) => f[2]),
    flights: flights.map(([direction, ms, records]) => ({ direction, records, wireBytes: records.reduce((n, r) => n + r.wireBytes, 0), startMicros: at(ms), endMicros: at(ms) })),
    roundTrips: [{ layer: 'tcp', startMicros: at(0), answerMicros: at(50), summary: 'SYN → SYN-ACK' }],
    roundTripsToFirstApplicationByte: 4, firstApplicationFlight: 5, timeToFirstApplicationByteMs: 224.3,
    bytes: { clientToServer: 1656, serverToClient: 2835 }, handshakeBytes: { clientToServer: 1567, serverToClient: 2802 }, problems: [],
  } as unknown as HandshakeAnalysis;
}

function dtls12Full(): DtlsHandshakeAnalysis {
  const f = (direction: 'client-to-server' | 'server-to-client', ms: number, messages: string[], wireBytes: number, datagrams = 1) => ({ direction, messages, datagrams, wireBytes, startMicros: at(ms) });
  return {
    client: endpoint(40001), server: endpoint(5684), kind: 'full', helloVerifyRequest: true, serverCertificateInClear: true,
    flights: [
      f('client-to-server', 0, ['ClientHello'], 165), f('server-to-client', 50, ['HelloVerifyRequest'], 60), f('client-to-server', 50.5, ['ClientHello'], 197),
      f('server-to-client', 101, ['ServerHello', 'Certificate', 'ServerKeyExchange', 'CertificateRequest', 'ServerHelloDone'], 1400, 3),
      f('client-to-server', 102, ['Certificate', 'ClientKeyExchange', 'CertificateVerify', 'change_cipher_spec', 'Finished (encrypted)'], 1200, 2),
      f('server-to-client', 152, ['change_cipher_spec', 'Finished (encrypted)'], 67),
    ],
    roundTrips: 3, handshakeMs: 152, handshakeBytes: { clientToServer: 1562, serverToClient: 1527 }, problems: [],
  };
}

function dtls13Resumed(): Dtls13HandshakeAnalysis {
  const f = (direction: 'client-to-server' | 'server-to-client', ms: number, messages: string[], wireBytes: number) => ({ direction, messages, hellos: [], datagrams: 1, wireBytes, startMicros: at(ms) });
  return {
    client: endpoint(40002), server: endpoint(5684),
    flights: [f('client-to-server', 0, ['ClientHello', 'early data'], 644), f('server-to-client', 51.2, ['ServerHello', 'encrypted handshake', 'encrypted handshake'], 288), f('client-to-server', 52.6, ['encrypted handshake'], 66)],
    selectedVersion: 0xfefc, helloRetryRequest: false, pskOffered: true, resumed: true, earlyDataRecords: 1, roundTripsBeforeData: 0, handshakeRoundTrips: 1, msBeforeData: 0, clientHellos: 1, problems: [],
  };
}

const assertReadable = (svg: string, what: string) => assert.deepEqual(readabilityProblems(svg), [], `${what} does not read well`);

test('the geometry check itself: a line through a box is found, one beside it is not', () => {
  const box = { x1: 10, y1: 10, x2: 50, y2: 20 };
  assert.equal(segmentHitsBox({ x1: 0, y1: 0, x2: 60, y2: 30 }, box), true);
  assert.equal(segmentHitsBox({ x1: 0, y1: 25, x2: 60, y2: 30 }, box), false);
  assert.deepEqual(readabilityProblems('<svg width="100" height="40"><text x="50" y="20" font-size="11" text-anchor="middle">a label (…</text><line x1="0" y1="17" x2="100" y2="17"/></svg>').length, 2);
});

test('TLS ladder: every flight label whole, beside its arrow and not crossed by any line', () => {
  const svg = ladderSvg('Connection 1: TLS 1.2 full handshake over a 50 ms RTT link', tls12Full());
  assertReadable(svg, 'the TLS 1.2 ladder');
  const texts = svgGeometry(svg).texts.map((t) => t.text).join(' ');
  for (const m of ['ServerHelloDone (1901 B)', 'CertificateRequest', 'CertificateVerify', 'NewSessionTicket']) assert.ok(texts.includes(m), `"${m}" is missing from the ladder`);
  assert.equal(svgGeometry(svg).lines.filter((l) => l.y1 !== l.y2 && l.x1 !== l.x2).length, 8, 'one arrow per flight plus SYN and SYN-ACK');
});

test('DTLS 1.2 ladder: the cookie exchange and multi-datagram flights read whole', () => {
  const svg = dtlsLadderSvg('Handshake 1: DTLS 1.2 full over a 50 ms RTT link', dtls12Full());
  assertReadable(svg, 'the DTLS 1.2 ladder');
  assert.match(svg, /HelloVerifyRequest \(60 B\)/);
  assert.match(svg, /in 3 datagrams\)/);
});

test('DTLS 1.3 ladder: early data and collapsed repeats read whole', () => {
  const svg = dtls13LadderSvg('Handshake 2: DTLS 1.3 resumed over a 50 ms RTT link', dtls13Resumed());
  assertReadable(svg, 'the DTLS 1.3 ladder');
  assert.match(svg, /ServerHello, encrypted handshake ×2 \(288 B\)/);
});

test('a label far longer than the lanes is wrapped onto lines, never cut', () => {
  const label = Array.from({ length: 30 }, (_, i) => `Message${i}`).join(', ');
  const svg = ladderDiagramSvg({ title: 't', summary: 's', client: 'device', server: 'server', arrows: [{ toServer: true, atMs: 0, label }, { toServer: false, atMs: 1, label }] });
  assertReadable(svg, 'a ladder with very long labels');
  const shown = svgGeometry(svg).texts.map((t) => t.text).filter((t) => t.includes('Message')).join(' ');
  assert.ok(shown.includes('Message29') && shown.split('Message0,').length === 3, 'every message of both labels is shown');
});

test('charts: titles say what they compare and are all different, axes carry units, nothing overlaps', () => {
  const series = Array.from({ length: 40 }, (_, i) => ({ tMs: i * 250, value: i * 12.5 }));
  const marker = { tMs: 5000, label: 'broker restart' };
  const charts = {
    resumption: resumptionConnectTimesChart({ fullMs: 224.3, resumedMs: 154.1, rttMs: 50 }),
    nagle: nagleConnectTimesChart({ noDelayMs: 8.2, nagleMs: 47.9 }),
    latency: fleetLatencyChart({ p50: 12, p90: 30, p99: 80, max: 1240.5 }),
    connections: fleetConnectionsChart(series, marker),
    rate: fleetReadingRateChart(series, marker),
    reconnects: fleetReconnectsChart(series, undefined),
  };
  for (const [name, svg] of Object.entries(charts)) assertReadable(svg, `the ${name} chart`);
  const titles = Object.values(charts).map(svgTitle);
  assert.equal(new Set(titles).size, titles.length, `two charts share a title: ${titles.join(' | ')}`);
  for (const name of ['resumption', 'nagle', 'latency'] as const) assert.match(svgTitle(charts[name]), / vs /, `the ${name} chart's title does not say what it compares`);
  for (const [name, svg] of Object.entries(charts)) {
    const axisTitles = svgGeometry(svg).texts.map((t) => t.text).filter((t) => /\((ms|s)\)$|readings\/s|wearables connected|reconnects \(total\)/.test(t));
    assert.ok(axisTitles.length >= 1, `the ${name} chart has no axis label with a unit`);
  }
  assert.equal(svgGeometry(charts.connections).texts.filter((t) => t.text === 'wearables connected').length, 1, 'the y axis is named');
});

test('bar chart and time series stay readable with long labels and values', () => {
  assertReadable(barChartSvg('Time to CONNACK: a broker with a very long descriptive name vs another', [{ label: 'a broker with a rather long descriptive label', ms: 12345.6 }, { label: 'b', ms: Number.NaN }]), 'a bar chart with long labels');
  assertReadable(timeSeriesSvg('Readings per second', { x: 'time (s)', y: 'readings/s' }, [{ tMs: 0, value: 99999 }, { tMs: 1000, value: 5 }]), 'a time series with large values');
});
