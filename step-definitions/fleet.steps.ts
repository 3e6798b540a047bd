/**
 * The worked example's fleet (features/fleet.feature): thousands of wearables with their own
 * identities, the broker restarting under them, the key epoch rolling over. Every Then reads the
 * cloud's ledger (what it opened, per device), the broker's side of the handshakes, or the
 * devices' own records — never a setting.
 */
import { After, Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { attachSvg } from './attachments.ts';
import { createFleetRig } from '../topology/fleet-rigs.ts';
import type { FleetRig, FleetSpec } from '../topology/fleet-rig.ts';
import { checkFleetPlan, estimateFleet } from '../emulators/fleet/fleet-capacity.ts';
import { FleetProgress, summaryTable } from '../emulators/fleet/fleet-progress.ts';
import type { FleetStats } from '../emulators/fleet/fleet-counters.ts';
import type { LedgerReport } from '../emulators/fleet/fleet-ledger.ts';
import { readingsNeverHandedOn, whereSealedReadingsAre } from '../emulators/fleet/fleet-accounting.ts';
import { ratePoints } from '../analysis/fleet-charts.ts';
import { fleetConnectionsChart, fleetLatencyChart, fleetReadingRateChart, fleetReconnectsChart } from '../analysis/report-charts.ts';
import { E3_EPOCH_SECONDS } from '../crypto/e3-packet.ts';
import { FLEET_CONNECT_TIMEOUT_MS, waitUntil } from '../emulators/fleet/fleet.ts';

export interface FleetScenario {
  readonly rig: FleetRig;
  readonly wearables: number;
  readonly speedup: number;
  progress?: FleetProgress;
  /** Fleet sample time (ms) at which the broker restart began, for the charts. */
  restartAtMs?: number;
  /** Reconnects counted before the restart. */
  reconnectsBefore?: number;
  /** Resumed handshakes the devices counted before the restart. */
  resumedBefore?: number;
  statsAtEnd?: FleetStats;
  /** Simulated time at the first reading, when the scenario places it (the key epoch roll-over). */
  reportFromSec?: number;
}

const scenarios = new WeakMap<TestbedWorld, FleetScenario>();

export function fleetOf(world: TestbedWorld): FleetScenario {
  const s = scenarios.get(world);
  if (!s) throw new Error('no fleet in this scenario; start with "Given a fleet of N wearables reporting every 30 s at S× speed"');
  return s;
}

/**
 * Bounds from the machine's estimate (fleet-capacity.ts, figures of a loaded shared host), three
 * times over: generous, never open-ended.
 */
export function deadlineMs(seconds: number): number {
  return Math.ceil(Math.max(120, seconds * 3) * 1000);
}

export async function startFleet(world: TestbedWorld, wearables: number, speedup: number, reportFromSec?: number, extra: Pick<FleetSpec, 'revocable' | 'capture' | 'cloudMayGoAway'> = {}): Promise<void> {
  checkFleetPlan({ wearables, readingsPerDevice: 1, speedup });
  const rig = createFleetRig(world.dir, wearables);
  const scenario: FleetScenario = { rig, wearables, speedup, ...(reportFromSec !== undefined ? { reportFromSec } : {}) };
  scenarios.set(world, scenario);
  await rig.start({ wearables, speedup, ...extra });
  scenario.progress = new FleetProgress(() => rig.fleetStats());
}

Given('a fleet of {int} wearables reporting every 30 s at {speed-up}', { timeout: 300_000 }, async function (this: TestbedWorld, wearables: number, speedup: number) {
  await startFleet(this, wearables, speedup);
});

Given('a fleet of {int} wearables reporting every 30 s at {speed-up}, from {int} simulated seconds before the 24 h key epoch ends', { timeout: 300_000 }, async function (this: TestbedWorld, wearables: number, speedup: number, before: number) {
  const now = Math.floor(Date.now() / 1000);
  const boundary = (Math.floor(now / E3_EPOCH_SECONDS) + 1) * E3_EPOCH_SECONDS;
  await startFleet(this, wearables, speedup, boundary - before);
});

When('every wearable connects to the broker with mutual TLS', { timeout: 600_000 }, async function (this: TestbedWorld) {
  const f = fleetOf(this);
  const e = estimateFleet({ wearables: f.wearables, readingsPerDevice: 1, speedup: f.speedup });
  const { seconds } = await f.rig.connectAll(deadlineMs(e.connectSeconds));
  this.attach(`${f.wearables} mutual-TLS connections in ${seconds.toFixed(1)} s (${(f.wearables / seconds).toFixed(0)}/s)`, { mediaType: 'text/plain', fileName: 'connect.txt' });
});

When('every wearable reports {int} readings', { timeout: 600_000 }, async function (this: TestbedWorld, count: number) {
  const f = fleetOf(this);
  const e = checkFleetPlan({ wearables: f.wearables, readingsPerDevice: count, speedup: f.speedup });
  // Simulated time is placed when reporting starts, so how long connecting took does not move it.
  if (f.reportFromSec !== undefined) await f.rig.setClock(f.reportFromSec);
  await f.rig.report(count, deadlineMs(e.reportSeconds));
});

/** Beyond one attempt's timeout: the longest backoff (2 s, fleet-device.ts) and the next handshake. */
const RECONNECT_MARGIN_MS = 15_000;
/** How long statsOnceConnected waits for the last wearables: one whole attempt, then the margin. */
const RECONNECT_WAIT_MS = FLEET_CONNECT_TIMEOUT_MS + RECONNECT_MARGIN_MS;
/**
 * What a step does besides that wait: the broker's log, a device's record, the last stats across
 * shards. 90 s, so the bound is never below swarm's 150 s default (swarm.hooks.ts), where
 * `docker service logs` of a loaded one-node swarm is the slow read.
 */
const STEP_READS_MS = 90_000;
/**
 * The Cucumber bound of a step that calls statsOnceConnected. hooks.ts's 60 s default equals the
 * wait, so Cucumber's "function timed out" would fire before the wait says how many wearables
 * are not back; this bound lies beyond the wait and the step's other reads.
 */
export const RECONNECT_STEP_TIMEOUT_MS = RECONNECT_WAIT_MS + STEP_READS_MS;

/**
 * The fleet's stats once `expected` wearables are connected; at the bound, fail saying how many
 * are not, against `who` should be. Reconnecting after a broker restart can take a whole attempt:
 * one begun while no broker answered can hang until the attempt timeout (seen on swarm:
 * wearable-0113, all its readings acknowledged before the restart, was still not connected 11 s
 * after the new task listened, and so failed "198 of 200"), and only then does the device dial
 * again. The property is that it comes back, not how soon. The step calling this takes
 * RECONNECT_STEP_TIMEOUT_MS.
 */
export async function statsOnceConnected(world: TestbedWorld, f: FleetScenario, expected: number, who: string): Promise<FleetStats> {
  const started = performance.now();
  let first: number | undefined;
  let s: FleetStats | undefined;
  await waitUntil(
    async () => {
      s = await f.rig.fleetStats();
      first ??= s.connected;
      return s.connected >= expected;
    },
    RECONNECT_WAIT_MS,
    () => (s ? `${s.connected} of ${f.wearables} wearables are connected, ${expected - s.connected} short of ${who} (refusals: ${JSON.stringify(s.refusalReasons)})` : `the fleet's stats were never read`),
    250,
  );
  const back = s as FleetStats;
  // Said when the wait mattered, so a run shows how long the last wearables took to come back.
  if (first !== undefined && first < expected) world.attach(`${first} of ${expected} wearables were connected when the step began; ${back.connected} after ${((performance.now() - started) / 1000).toFixed(1)} s`, { mediaType: 'text/plain', fileName: 'reconnect-wait.txt' });
  return back;
}

/** The first few devices whose readings at the cloud are not exactly 1..sealed. */
export function describeGaps(gaps: LedgerReport['gaps']): string {
  return gaps.slice(0, 5).map((g) => `${g.deviceId}: sealed ${g.sealed}, opened ${g.accepted}, highest ${g.highest}`).join('; ') || 'none';
}

/**
 * Said before the cloud is judged: every reading the wearables sealed was handed on, i.e. the
 * broker acknowledged it, it still waits in a queue, or a full queue dropped it, counted
 * (emulators/fleet/fleet-accounting.ts). A reading missing at the cloud is then the broker's or
 * the cloud's; one that fails this never left its wearable, whatever the broker did.
 */
export function assertSealedReadingsHandedOn(stats: FleetStats, gaps: LedgerReport['gaps']): void {
  const lost = readingsNeverHandedOn(stats);
  assert.equal(lost, 0, `${lost} readings never left the wearables that sealed them (${whereSealedReadingsAre(stats)}; missing at the cloud: ${describeGaps(gaps)}): sealed outside FleetDevice.read, so no broker lost them; a containers or swarm task runs the tree as it stood when the task started, so look for an edit under emulators/ made around the run`);
}

/**
 * Every wearable reports `count` readings; once half of them are sealed, `midway` runs (a broker
 * restart, a revocation) with the fleet's counters at that moment. Bounded by the plan's estimate.
 */
export async function reportWithEventAtHalf(f: FleetScenario, count: number, what: string, midway: (s: FleetStats) => Promise<void>): Promise<void> {
  const e = checkFleetPlan({ wearables: f.wearables, readingsPerDevice: count, speedup: f.speedup });
  const reporting = f.rig.report(count, deadlineMs(e.reportSeconds));
  reporting.catch(() => undefined);
  const half = (f.wearables * count) / 2;
  const until = performance.now() + deadlineMs(e.reportSeconds);
  for (;;) {
    const s = await f.rig.fleetStats();
    if (s.sealed >= half) {
      await midway(s);
      break;
    }
    if (performance.now() > until) throw new Error(`only ${s.sealed} of ${half} readings were sealed before ${what} was due`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await reporting;
}

When('every wearable reports {int} readings while the broker restarts once half of them are sealed', { timeout: 600_000 }, async function (this: TestbedWorld, count: number) {
  const f = fleetOf(this);
  await reportWithEventAtHalf(f, count, 'the restart', async (s) => {
    f.restartAtMs = s.samples[s.samples.length - 1]?.tMs ?? 0;
    f.reconnectsBefore = s.reconnects;
    f.resumedBefore = s.resumedHandshakes;
    await f.rig.restartBroker();
  });
});

Then('the cloud opens every reading exactly once and in order for every wearable', { timeout: 300_000 }, async function (this: TestbedWorld) {
  const f = fleetOf(this);
  await f.rig.settle(120_000).catch(() => undefined); // the ledger below says what is missing
  const [stats, ledger] = await Promise.all([f.rig.fleetStats(), f.rig.ledger()]);
  f.statsAtEnd = stats;
  this.attach(summaryTable(stats, ledger), { mediaType: 'text/plain', fileName: 'fleet-summary.txt' });
  assert.equal(ledger.devices, f.wearables, `the ledger covers ${ledger.devices} wearables, the fleet has ${f.wearables}`);
  assertSealedReadingsHandedOn(stats, ledger.gaps);
  assert.equal(ledger.gaps.length, 0, `${ledger.gaps.length} wearables have readings missing or extra at the cloud (${describeGaps(ledger.gaps)}); rejected by the cloud: ${JSON.stringify(ledger.rejectedByReason)}; on the wearables: ${whereSealedReadingsAre(stats)}`);
  assert.equal(ledger.accepted, stats.sealed, `the cloud opened ${ledger.accepted} readings, the devices sealed ${stats.sealed}`);
  assert.equal(ledger.outOfOrder, 0, `${ledger.outOfOrder} readings were opened out of order`);
  assert.ok(ledger.accepted >= f.wearables, `the cloud opened only ${ledger.accepted} readings from ${f.wearables} wearables`);
});

Then('no reading was dropped from a full device queue', async function (this: TestbedWorld) {
  const s = (fleetOf(this).statsAtEnd ?? (await fleetOf(this).rig.fleetStats()));
  assert.equal(s.overflows, 0, `${s.overflows} readings were dropped from full store-and-forward queues`);
  assert.equal(s.pending, 0, `${s.pending} readings are still waiting for a PUBACK`);
});

Then('every wearable reconnected after the broker restart', { timeout: RECONNECT_STEP_TIMEOUT_MS }, async function (this: TestbedWorld) {
  const f = fleetOf(this);
  // Fails, saying how many are not, unless every wearable is connected.
  const s = await statsOnceConnected(this, f, f.wearables, 'every wearable');
  const reconnects = s.reconnects - (f.reconnectsBefore ?? 0);
  assert.ok(reconnects >= f.wearables, `only ${reconnects} reconnects after the restart for ${f.wearables} wearables (refusals: ${JSON.stringify(s.refusalReasons)})`);
});

Then('the broker resumed the TLS session of {word} reconnecting wearable', async function (this: TestbedWorld, share: string) {
  const f = fleetOf(this);
  const h = await f.rig.brokerHandshakes();
  const s = f.statsAtEnd ?? (await f.rig.fleetStats());
  const reconnects = s.reconnects - (f.reconnectsBefore ?? 0);
  const deviceResumed = s.resumedHandshakes - (f.resumedBefore ?? 0);
  const seen = h.full + h.resumed + h.unreadable;
  this.attach(`since the restart, ${h.source}: ${h.full} full, ${h.resumed} resumed, ${h.unreadable} not readable; the devices' own records: ${reconnects} reconnects, ${deviceResumed} of them resumed`, { mediaType: 'text/plain', fileName: 'handshakes.txt' });
  // The broker's side must have seen the reconnects, or "none resumed" would pass on an empty
  // record. A capture on a loaded 2-core host loses packets (a restart storm lost a fifth of the
  // SYN-ACKs), so at least half of them; the broker's own log (Aedes) holds every one.
  assert.ok(seen >= reconnects / 2, `${h.source}: only ${seen} handshakes since the restart for ${reconnects} reconnects`);
  if (share === 'every') {
    assert.ok(h.resumed >= Math.min(seen, reconnects) && h.full === 0, `${h.source}: ${h.resumed} resumed and ${h.full} full handshakes since the restart, for ${reconnects} reconnects`);
    assert.equal(deviceResumed, reconnects, `the devices resumed ${deviceResumed} of ${reconnects} reconnects`);
  } else if (share === 'no') {
    assert.equal(h.resumed, 0, `${h.source}: ${h.resumed} handshakes resumed since the restart`);
    assert.equal(deviceResumed, 0, `the devices' own records show ${deviceResumed} resumed reconnects`);
  }
  else throw new Error(`say "every" or "no" reconnecting wearable, not "${share}"`);
});

Then('the cloud opened readings under {int} key epochs and rejected none', async function (this: TestbedWorld, epochs: number) {
  const ledger = await fleetOf(this).rig.ledger();
  const per = Object.entries(ledger.acceptedPerEpoch);
  assert.equal(per.length, epochs, `readings were opened under ${per.length} key epochs (${per.map(([e, n]) => `epoch ${e}: ${n}`).join(', ')}), expected ${epochs}`);
  assert.deepEqual(ledger.rejectedByReason, {}, `the cloud rejected readings: ${JSON.stringify(ledger.rejectedByReason)}`);
});

Then('no nonce was used twice under one key', async function (this: TestbedWorld) {
  // Nonce = salt ‖ sequence (docs/architecture.md §4 The E3 packet): a nonce repeats under one key only if a device's
  // sequence repeats within an epoch. The ledger counts, per device, readings opened and the
  // highest sequence: equal and with nothing out of order means every sequence once.
  const f = fleetOf(this);
  const ledger = await f.rig.ledger();
  assert.equal(ledger.gaps.length, 0, `${ledger.gaps.length} wearables' sequences are not exactly 1..n`);
  assert.equal(ledger.outOfOrder, 0, `${ledger.outOfOrder} sequences arrived out of order`);
  assert.equal(ledger.rejectedByReason.replay ?? 0, ledger.duplicatesRefused, 'replays were refused for readings of no known device');
});

After({ tags: '@fleet' }, async function (this: TestbedWorld) {
  const f = scenarios.get(this);
  if (!f) return;
  f.progress?.stop();
  const stats = await f.rig.fleetStats().catch(() => undefined);
  if (stats) attachFleetCharts(this, stats, f.restartAtMs !== undefined ? { tMs: f.restartAtMs, label: 'broker restart' } : undefined);
  await f.rig.stop();
});

/**
 * A TLS fleet run's charts in the report (connections, readings/s, reconnects, latency), when it
 * sampled anything. The reconnects chart only where something reconnected or a restart is marked:
 * drawn flat at 0 it says nothing. (The DTLS fleet has its own: analysis/dtls-fleet-charts.ts.)
 */
export function attachFleetCharts(world: TestbedWorld, stats: FleetStats, marker?: { tMs: number; label: string }): void {
  if (stats.samples.length <= 1) return;
  attachSvg(world, fleetConnectionsChart(stats.samples.map((s) => ({ tMs: s.tMs, value: s.connected })), marker), 'fleet-connections.svg');
  attachSvg(world, fleetReadingRateChart(ratePoints(stats.samples), marker), 'fleet-readings-per-second.svg');
  if (marker || stats.samples.some((s) => s.reconnects > 0)) attachSvg(world, fleetReconnectsChart(stats.samples.map((s) => ({ tMs: s.tMs, value: s.reconnects })), marker), 'fleet-reconnects.svg');
  attachSvg(world, fleetLatencyChart(stats.latencyMs), 'fleet-latency.svg');
}
