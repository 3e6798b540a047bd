// Impairments as data: validation with the valid range, and the pipeline's plans under a fake
// clock (no timing is measured here; bench/handshake measures the relay's real precision).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DelayQueue, ImpairmentPipeline, bandwidth, baseDelayMs, duplicate, impairment, latency, loss, reorder, reset, seededRandom, symmetric,
} from './impairments.ts';

const bytes = (n: number) => new Uint8Array(n).fill(7);

test('bad values are refused with the valid range', () => {
  assert.throws(() => latency({ ms: -1 }), /latency ms must be a number in 0\.\.3600000, got -1/);
  assert.throws(() => latency({ ms: 10, jitterMs: Number.NaN }), /jitterMs must be a number in 0\.\.3600000/);
  assert.throws(() => loss({ rate: 1.5 }), /loss rate must be a number in 0\.\.1, got 1\.5/);
  assert.throws(() => duplicate({ rate: -0.1 }), /duplicate rate must be a number in 0\.\.1/);
  assert.throws(() => reorder({ rate: 0.5, holdMs: 0 }), /reorder holdMs must be a number in 1\.\.3600000/);
  assert.throws(() => bandwidth({ kbps: 0 }), /bandwidth kbps must be a number in 1\.\.100000000, got 0/);
  assert.throws(() => reset({ afterBytes: 1.5 }), /reset afterBytes must be an integer in 0\.\./);
  assert.throws(() => latency({ ms: 1e12 }), /0\.\.3600000/);
});

test('impairments are built by name, and unknown names or settings are refused with the valid ones', () => {
  assert.deepEqual(impairment('latency', { ms: 25 }), { kind: 'latency', ms: 25, jitterMs: 0 });
  assert.throws(() => impairment('corrupt', {}), /unknown impairment "corrupt"; valid impairments: latency, loss, duplicate, reorder, bandwidth, reset/);
  assert.throws(() => impairment('loss', { percent: 5 }), /loss has no setting "percent"; its settings are rate, retransmitMs/);
});

test('latency delays every chunk; jitter stays within ± jitterMs and never goes below zero', () => {
  const fixed = new ImpairmentPipeline([latency({ ms: 25 })], { transport: 'udp' });
  assert.deepEqual(fixed.plan(bytes(3), 1000).deliveries.map((d) => d.atMs), [1025]);
  const jittery = new ImpairmentPipeline([latency({ ms: 5, jitterMs: 20 })], { transport: 'udp', seed: 9 });
  const delays = Array.from({ length: 500 }, (_, i) => (jittery.plan(bytes(1), i).deliveries[0]?.atMs ?? Number.NaN) - i);
  assert.ok(delays.every((d) => d >= 0 && d <= 25), `delays out of range: ${delays.filter((d) => d < 0 || d > 25).join(', ')}`);
  assert.ok(new Set(delays.map((d) => Math.round(d))).size > 10, 'jitter should spread the delays');
});

test('on TCP, nothing overtakes what was sent before it, even with jitter', () => {
  const p = new ImpairmentPipeline([latency({ ms: 10, jitterMs: 10 })], { transport: 'tcp', seed: 3 });
  const due = Array.from({ length: 200 }, (_, i) => p.plan(bytes(1), i * 0.1).deliveries[0]?.atMs ?? 0);
  assert.deepEqual(due, [...due].sort((a, b) => a - b));
});

test('UDP loss drops; TCP loss arrives one retransmission timeout late; the choice is reproducible by seed', () => {
  const udp = new ImpairmentPipeline([loss({ rate: 1 })], { transport: 'udp' });
  assert.deepEqual(udp.plan(bytes(10), 0).deliveries, []);
  assert.match(udp.plan(bytes(10), 0).notes[0] ?? '', /lost a 10-byte datagram/);
  const tcp = new ImpairmentPipeline([loss({ rate: 1, retransmitMs: 200 })], { transport: 'tcp' });
  assert.deepEqual(tcp.plan(bytes(10), 5).deliveries.map((d) => d.atMs), [205]);
  const run = (seed: number) => {
    const p = new ImpairmentPipeline([loss({ rate: 0.3 })], { transport: 'udp', seed });
    return Array.from({ length: 200 }, () => p.plan(bytes(1), 0).deliveries.length);
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  const lost = run(42).filter((n) => n === 0).length;
  assert.ok(lost > 30 && lost < 90, `about 30% of 200 should be lost, got ${lost}`);
});

test('duplicate delivers twice and reorder holds back, on UDP only', () => {
  const dup = new ImpairmentPipeline([duplicate({ rate: 1 }), latency({ ms: 1 })], { transport: 'udp' });
  assert.equal(dup.plan(bytes(4), 0).deliveries.length, 2);
  const held = new ImpairmentPipeline([reorder({ rate: 1, holdMs: 30 })], { transport: 'udp' });
  assert.deepEqual(held.plan(bytes(4), 0).deliveries.map((d) => d.atMs), [30]);
  assert.throws(() => new ImpairmentPipeline([duplicate({ rate: 0.1 })], { transport: 'tcp' }), /duplicate is for UDP links/);
  assert.throws(() => new ImpairmentPipeline([reorder({ rate: 0.1 })], { transport: 'tcp' }), /reorder is for UDP links/);
});

test('bandwidth serialises chunks one after another at the given rate', () => {
  const p = new ImpairmentPipeline([bandwidth({ kbps: 8 })], { transport: 'tcp' }); // 1 byte per ms
  assert.deepEqual(p.plan(bytes(100), 0).deliveries.map((d) => d.atMs), [100]);
  assert.deepEqual(p.plan(bytes(50), 10).deliveries.map((d) => d.atMs), [150], 'queued behind the first chunk');
  assert.deepEqual(p.plan(bytes(10), 500).deliveries.map((d) => d.atMs), [510], 'an idle line starts at once');
});

test('reset lets the bytes before the limit through, then resets once; nothing passes afterwards', () => {
  const p = new ImpairmentPipeline([latency({ ms: 5 }), reset({ afterBytes: 10 })], { transport: 'tcp' });
  const first = p.plan(bytes(6), 0);
  assert.equal(first.resetAtMs, undefined);
  const second = p.plan(bytes(6), 1);
  assert.deepEqual(second.deliveries.map((d) => d.bytes.length), [4]);
  assert.equal(second.resetAtMs, 6);
  assert.deepEqual(p.plan(bytes(6), 2).deliveries, []);
});

test('symmetric and baseDelayMs describe a 50 ms RTT link', () => {
  const link = symmetric(latency({ ms: 25, jitterMs: 3 }), loss({ rate: 0 }));
  assert.equal(baseDelayMs(link.clientToServer) + baseDelayMs(link.serverToClient), 50);
});

test('seeded random is uniform enough and reproducible', () => {
  const r = seededRandom(7);
  const values = Array.from({ length: 10_000 }, r);
  assert.ok(values.every((v) => v >= 0 && v < 1));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.deepEqual(Array.from({ length: 5 }, seededRandom(7)), values.slice(0, 5));
});

test('the delay queue runs due actions at once and in order, later ones only when due', async () => {
  let now = 100;
  const q = new DelayQueue(() => now);
  const ran: string[] = [];
  q.at(100, () => ran.push('now'));
  assert.deepEqual(ran, ['now'], 'an action due now on an empty queue runs synchronously');
  q.at(1_000_000, () => ran.push('late'));
  // Due within 2 ms of the fake now: the queue finishes on setImmediate, no real timer involved.
  q.at(101.5, () => ran.push('b'));
  q.at(101.5, () => ran.push('c'));
  q.at(101, () => ran.push('a'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ['now'], 'nothing runs before it is due');
  now = 102;
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ['now', 'a', 'b', 'c']);
  assert.equal(q.pending, 1);
  q.close();
  assert.equal(q.pending, 0);
});
