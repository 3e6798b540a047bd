/**
 * TLS 1.3 0-RTT for MQTT (features/zero-rtt-mqtt.feature): a wearable's wolfSSL client reports
 * through a wolfSSL-terminated front of the broker, on a delaying link captured beside the device.
 * Round trips come from the capture (analysis/reading-flight.ts), acceptance from the cloud's
 * audit, the replay verdicts from the front's events, the broker's own record and the audit.
 */
import { After, Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readingFlights, type ReadingFlightCount } from '../analysis/reading-flight.ts';
import { barChartSvg } from '../analysis/ladder-svg.ts';
import { deviceProfile, handshakeCost, round } from '../emulators/energy-model.ts';
import { ensureWolfsslBridge } from '../emulators/dtls/wolfssl-bridge.ts';
import { LocalZeroRttRig } from '../topology/zero-rtt-rig.ts';
import { ContainersZeroRttRig } from '../topology/containers-zero-rtt.ts';
import { currentPlacement } from '../topology/placements.ts';
import type { ReportOutcome, ZeroRttRig } from '../topology/zero-rtt-report.ts';
import { attachSvg } from './attachments.ts';
import type { TestbedWorld } from './world.ts';

type ConnectionKind = 'full' | 'resumed' | '0-RTT';

interface ZeroRttState {
  rig: ZeroRttRig;
  rttMs: number;
  reports: { kind: ConnectionKind; outcome: ReportOutcome }[];
  flights?: ReadingFlightCount[];
  replay?: { frontEventsBefore: number; answeredBytes: number };
}
const states = new WeakMap<TestbedWorld, ZeroRttState>();
function state(world: TestbedWorld): ZeroRttState {
  const s = states.get(world);
  if (!s) throw new Error('no wolfSSL front declared; start with "Given a wolfSSL-terminated front of the broker that takes 0-RTT early data with single-use tickets, …"');
  return s;
}

After({ tags: '@zero-rtt-mqtt' }, async function (this: TestbedWorld) {
  await states.get(this)?.rig.stop();
});

/** Bringing up a rig and three handshakes at 50 ms take a few seconds; a loaded host, more. */
const RIG_STEP = { timeout: 120_000 };

Given('a wolfSSL-terminated front of the broker that takes 0-RTT early data {ticket policy}, {device} behind an emulated link with a {int} ms round trip', RIG_STEP, async function (this: TestbedWorld, singleUseTickets: boolean, device: string, rttMs: number) {
  await ensureWolfsslBridge();
  const spec = { dir: this.dir, deviceId: device, rttMs, singleUseTickets };
  const rig = currentPlacement().name === 'containers' ? new ContainersZeroRttRig(spec) : new LocalZeroRttRig(spec);
  states.set(this, { rig, rttMs, reports: [] });
  await rig.start();
});

async function report(world: TestbedWorld, kind: ConnectionKind): Promise<void> {
  const s = state(world);
  const outcome = await s.rig.report(kind === '0-RTT' ? 'early-data' : 'after-handshake');
  s.reports.push({ kind, outcome });
  world.attach(`${kind} connection: ${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`, { mediaType: 'text/plain' });
  assert.ok(outcome.handshakeOk, `the ${kind} connection's handshake failed: ${outcome.failure ?? ''}`);
  assert.ok(outcome.pubackReceived, `the ${kind} connection got no PUBACK for reading #${outcome.sequence}: ${outcome.failure ?? ''}`);
}

When('{device} reports a reading in a full handshake, resumes to report the next after the handshake, then resumes to report a third as early data', RIG_STEP, async function (this: TestbedWorld, _device: string) {
  await report(this, 'full');
  await report(this, 'resumed');
  await report(this, '0-RTT');
});

When('{device} reports a reading in a full handshake, then resumes to report the next as early data', RIG_STEP, async function (this: TestbedWorld, _device: string) {
  await report(this, 'full');
  await report(this, '0-RTT');
});

When("an on-path attacker replays the 0-RTT connection's recorded first flight from a connection of its own", RIG_STEP, async function (this: TestbedWorld) {
  const s = state(this);
  const index = s.reports.findIndex((r) => r.kind === '0-RTT');
  assert.ok(index >= 0, 'no 0-RTT connection was made to record');
  const flight = s.rig.recorder.flights[index];
  assert.ok(flight && flight.length > 0, `the attacker recorded no first flight of connection ${index + 1}`);
  const frontEventsBefore = s.rig.front.log.all().length;
  // Held open for a few round trips: the copy's early data is read as it arrives, its Finished never comes.
  const { answeredBytes } = await s.rig.recorder.replay(index, Math.max(1_500, 10 * s.rttMs));
  s.replay = { frontEventsBefore, answeredBytes };
  this.attach(`replayed ${flight.length} bytes (ClientHello + early data) of connection ${index + 1}; the front answered ${answeredBytes} bytes`, { mediaType: 'text/plain' });
});

Then("the device's bridge saw a full handshake, a resumed one, and a resumed one whose early data was accepted", function (this: TestbedWorld) {
  const [full, resumed, early] = state(this).reports.map((r) => r.outcome);
  assert.ok(full && resumed && early, 'expected three connections');
  assert.equal(full.resumed, false, 'the first handshake resumed: there was no ticket yet');
  assert.equal(resumed.resumed, true, 'the second handshake did not resume with the ticket');
  assert.equal(resumed.earlyDataBytes, 0, 'the second connection was to send after the handshake, but sent early data');
  assert.equal(early.resumed, true, 'the 0-RTT handshake did not resume');
  assert.equal(early.earlyDataStatus, 'accepted', `the front did not accept the early data (wolfSSL says "${early.earlyDataStatus}")`);
  assert.equal(early.earlyDataBytes, early.payloadBytes, `${early.earlyDataBytes} of the reading's ${early.payloadBytes} bytes went as early data`);
});

async function auditOf(world: TestbedWorld) {
  const s = state(world);
  const audit = await s.rig.audit();
  return {
    audit,
    accepted: (seq: bigint) => audit.filter((e) => e.verdict === 'accepted' && e.sequence === seq).length,
    replays: audit.filter((e) => e.verdict === 'rejected' && e.reason === 'replay'),
    text: audit.map((e) => `${e.verdict}${e.reason ? ` (${e.reason})` : ''} seq ${String(e.sequence)}`).join('; ') || 'nothing',
  };
}

Then("the cloud's audit accepted each reading exactly once", async function (this: TestbedWorld) {
  const s = state(this);
  const { accepted, text } = await auditOf(this);
  for (const { kind, outcome } of s.reports) assert.equal(accepted(outcome.sequence), 1, `the ${kind} connection's reading #${outcome.sequence} was accepted ${accepted(outcome.sequence)} times; the audit: ${text}`);
});

function flights(world: TestbedWorld): ReadingFlightCount[] {
  const s = state(world);
  const payload = s.reports[0]?.outcome.payloadBytes;
  assert.ok(payload, 'no reading was reported');
  s.flights ??= readingFlights(s.rig.capturePath, payload);
  return s.flights;
}

Then('the capture counts {int} round trips before the reading left on the full connection, {int} on the resumed one and {int} on the 0-RTT one, TCP included', function (this: TestbedWorld, full: number, resumed: number, zero: number) {
  const counted = flights(this);
  const lines = counted.map((f, i) => `${state(this).reports[i]?.kind ?? '?'}: ${f.roundTripsBeforeReading} round trips, reading ${f.msFromSynToReading.toFixed(1)} ms after the SYN${f.inFirstTlsFlight ? ' (in the ClientHello flight)' : ''}`);
  this.attach(lines.join('\n'), { mediaType: 'text/plain', fileName: 'reading-flights.txt' });
  assert.deepEqual(counted.map((f) => f.roundTripsBeforeReading), [full, resumed, zero], lines.join('\n'));
});

Then("on the 0-RTT connection the reading left in the ClientHello's flight, sooner after the SYN than on the resumed one, in this run", function (this: TestbedWorld) {
  const [, resumed, zero] = flights(this);
  assert.ok(resumed && zero, 'expected three connections in the capture');
  assert.equal(zero.inFirstTlsFlight, true, 'the 0-RTT reading did not travel in the ClientHello flight');
  assert.equal(resumed.inFirstTlsFlight, false, 'the resumed connection sent its reading before any answer');
  attachSvg(this, barChartSvg('SYN to the reading leaving the device, from the capture', [{ label: 'full', ms: flights(this)[0]?.msFromSynToReading ?? 0 }, { label: 'resumed', ms: resumed.msFromSynToReading }, { label: '0-RTT', ms: zero.msFromSynToReading }]), 'reading-times.svg');
  assert.ok(zero.msFromSynToReading < resumed.msFromSynToReading, `0-RTT: ${zero.msFromSynToReading.toFixed(1)} ms, resumed: ${resumed.msFromSynToReading.toFixed(1)} ms from SYN to the reading`);
});

// The chapter counts TLS round trips only (§17.7 step 1): TCP's is taken off, as in session-resumption.
Then('on the {string} profile the energy model prices the measured round trips, and 0-RTT costs the least', function (this: TestbedWorld, profileName: string) {
  const [full, resumed, zero] = flights(this);
  assert.ok(full && resumed && zero);
  const profile = deviceProfile(profileName);
  const rtt = state(this).rttMs;
  const tls = (f: ReadingFlightCount) => f.roundTripsBeforeReading - 1;
  const costs = [
    { kind: 'full', cost: handshakeCost(profile, 'tls13-full', tls(full), rtt) },
    { kind: 'resumed', cost: handshakeCost(profile, 'tls13-resumed', tls(resumed), rtt) },
    { kind: '0-RTT', cost: handshakeCost(profile, 'tls13-resumed', tls(zero), rtt) },
  ];
  const table = [`profile ${profile.name} (${profile.source}), ${rtt} ms RTT, TLS round trips before the reading measured on the wire`, ...costs.map(({ kind, cost }) => `${kind}: ${cost.roundTrips} RTT + ${cost.cryptoMs} ms crypto = ${round(cost.totalMs)} ms, ${round(cost.millijoules)} mJ`)];
  this.attach(table.join('\n'), { mediaType: 'text/plain', fileName: 'energy.txt' });
  const [f, r, z] = costs.map((c) => c.cost.millijoules) as [number, number, number];
  assert.ok(z < r && r <= f, table.join('\n'));
});

Then('the front {front verdict} the replayed early data', async function (this: TestbedWorld, accepted: boolean) {
  const s = state(this);
  const replay = s.replay;
  assert.ok(replay, 'nothing was replayed');
  const after = s.rig.front.log.all().slice(replay.frontEventsBefore);
  const early = after.filter((o) => o.kind === 'early-data').reduce((n, o) => n + Number(o.detail.bytes), 0);
  const refused = after.filter((o) => o.kind === 'ticket-refused').length;
  const summary = `after the replay the front reported ${refused} refused ticket(s) and ${early} bytes of early data`;
  this.attach(summary, { mediaType: 'text/plain' });
  if (accepted) {
    assert.equal(refused, 0, `${summary}: without single-use tickets nothing should be refused`);
    assert.ok(early > 0, `${summary}: the TLS layer should have accepted the copy's early data`);
  } else {
    assert.ok(refused >= 1, `${summary}: the replayed ticket was not refused`);
    assert.equal(early, 0, `${summary}: early data of the copy got through`);
  }
});

Then("the broker's own record shows the 0-RTT reading's PUBLISH {int} time(s)", async function (this: TestbedWorld, times: number) {
  const s = state(this);
  const expected = s.reports.length - 1 + times; // one PUBLISH per genuine connection, the 0-RTT one `times` times
  const seen = await waitForCount(() => s.rig.publishesReceived(), expected);
  assert.equal(seen, expected, `the broker (${s.rig.brokerRecordName}) recorded ${seen} PUBLISH packets on the device's topic; ${s.reports.length} genuine readings and the 0-RTT one ${times} time(s) make ${expected}`);
});

Then('the cloud\'s audit accepted the 0-RTT reading once and rejected {int} cop(y)(ies) of it as "replay"', async function (this: TestbedWorld, copies: number) {
  const s = state(this);
  const zero = s.reports.find((r) => r.kind === '0-RTT');
  assert.ok(zero);
  await waitForCount(async () => (await auditOf(this)).audit.length, s.reports.length + copies);
  const { accepted, replays, text } = await auditOf(this);
  assert.equal(accepted(zero.outcome.sequence), 1, `reading #${zero.outcome.sequence} accepted ${accepted(zero.outcome.sequence)} times; the audit: ${text}`);
  assert.equal(replays.length, copies, `the audit holds ${replays.length} "replay" rejection(s); ${text}`);
  for (const r of replays) assert.equal(r.sequence, zero.outcome.sequence, `a "replay" rejection of another reading: ${text}`);
});

/** Polls a count until it reaches `expected` or 3 s pass (the broker and cloud record asynchronously); returns the last count. */
async function waitForCount(count: () => Promise<number>, expected: number): Promise<number> {
  const deadline = Date.now() + 3_000;
  let n = await count();
  while (n < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await count();
  }
  // Let a surplus show: a little longer, so "twice" is not read as "once" too early.
  await new Promise((r) => setTimeout(r, 300));
  return count();
}
