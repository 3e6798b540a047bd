/**
 * Backpressure at the broker (features/fleet-backpressure.feature): the cloud service is away,
 * its persistent session kept, while the fleet reports; the broker holds what its queue quota
 * allows. Judged from the wearables' own records (every reading acknowledged), the broker's own
 * records (what it received, delivered to the cloud and said it dropped:
 * emulators/fleet/broker-backlog.ts) and the cloud's gap report (per wearable and sequence:
 * emulators/fleet/fleet-ledger.ts) — never from the quota that was configured.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { deadlineMs, fleetOf, startFleet } from './fleet.steps.ts';
import { checkFleetPlan } from '../emulators/fleet/fleet-capacity.ts';
import { waitUntil } from '../emulators/fleet/fleet.ts';
import { summaryTable } from '../emulators/fleet/fleet-progress.ts';
import { brokerBacklog, gapReportDisagreements, type BrokerBacklog } from '../emulators/fleet/broker-backlog.ts';
import { checkQueueQuota, cloudAbsenceUnplaced, cloudCanGoAway } from '../topology/fleet-cloud-absence.ts';
import { currentPlacement } from '../topology/placements.ts';
import { skip } from './skip.ts';
import { attachSvg } from './attachments.ts';
import { brokerBacklogChart } from '../analysis/report-charts.ts';

/** Bound on the wearables' PUBACKs and on the cloud's backlog arriving after it is back (never a fixed sleep). */
const SETTLE_MS = 120_000;

const backlogs = new WeakMap<TestbedWorld, BrokerBacklog>();
/** Readings each wearable reported while the cloud was away (the When step), for the acknowledgement count. */
const readingsPerWearable = new WeakMap<TestbedWorld, number>();

function backlogOf(world: TestbedWorld): BrokerBacklog {
  const b = backlogs.get(world);
  if (!b) throw new Error('the broker\'s account was not read yet; start the Then steps with "the broker\'s own log shows it received every reading and delivered N of them to the cloud"');
  return b;
}

/** A fleet whose cloud may go away (skipped, with the reason, where the placement cannot take it away). */
async function startFleetWithAwayCloud(world: TestbedWorld, wearables: number, speedup: number, brokerQueueQuota?: number): Promise<'skipped' | undefined> {
  const unplaced = cloudAbsenceUnplaced(currentPlacement().name);
  if (unplaced) return skip(world, unplaced);
  await startFleet(world, wearables, speedup, undefined, { cloudMayGoAway: brokerQueueQuota === undefined ? {} : { brokerQueueQuota }, capture: false });
  return undefined;
}

Given('a fleet of {int} wearables reporting every 30 s at {speed-up}, whose broker holds at most {int} queued messages for an offline subscriber', { timeout: 300_000 }, function (this: TestbedWorld, wearables: number, speedup: number, quota: number) {
  return startFleetWithAwayCloud(this, wearables, speedup, checkQueueQuota(quota));
});

Given('a fleet of {int} wearables reporting every 30 s at {speed-up}, whose broker holds every message for an offline subscriber, without a quota', { timeout: 300_000 }, function (this: TestbedWorld, wearables: number, speedup: number) {
  return startFleetWithAwayCloud(this, wearables, speedup);
});

When('the cloud service goes away, keeping its persistent session, while every wearable reports {int} readings', { timeout: 600_000 }, async function (this: TestbedWorld, count: number) {
  const f = fleetOf(this);
  const rig = cloudCanGoAway(f.rig);
  const e = checkFleetPlan({ wearables: f.wearables, readingsPerDevice: count, speedup: f.speedup });
  await rig.cloudAway();
  readingsPerWearable.set(this, count);
  await f.rig.report(count, deadlineMs(e.reportSeconds));
  // The broker's PUBACKs empty the wearables' queues whether or not it keeps the readings.
  let pending = -1;
  await waitUntil(async () => (pending = (await f.rig.fleetStats()).pending) === 0, SETTLE_MS, () => `${pending} readings still wait for the broker's PUBACK`, 100);
  const opened = (await f.rig.ledger()).accepted;
  assert.equal(opened, 0, `the cloud opened ${opened} readings while it was away: it did not go away`);
});

When('the cloud service comes back and the broker resumes its session', { timeout: 60_000 }, async function (this: TestbedWorld) {
  const { sessionPresent } = await cloudCanGoAway(fleetOf(this).rig).cloudBack();
  // MQTT 3.1.1 §3.2.2.2: session present 0 would mean the broker kept nothing for the cloud, and nothing below would be about backpressure.
  assert.equal(sessionPresent, true, 'the broker answered the cloud\'s CONNECT (clean session 0) with session present 0: it did not keep the cloud\'s session');
});

Then('every wearable had every reading acknowledged by the broker, by its own records', async function (this: TestbedWorld) {
  const f = fleetOf(this);
  const s = await f.rig.fleetStats();
  assert.equal(s.pending, 0, `${s.pending} readings are still in the wearables' store-and-forward queues, unacknowledged`);
  assert.equal(s.overflows, 0, `${s.overflows} readings were dropped from full store-and-forward queues on the wearables`);
  assert.equal(s.acknowledged, s.sealed, `the broker acknowledged ${s.acknowledged} of the ${s.sealed} readings the wearables sealed`);
  const count = readingsPerWearable.get(this);
  if (count === undefined) throw new Error('no readings were reported; start with "the cloud service goes away, keeping its persistent session, while every wearable reports N readings"');
  assert.equal(s.sealed, f.wearables * count, `the wearables sealed ${s.sealed} readings, ${f.wearables} wearables × ${count} readings is ${f.wearables * count}`);
});

Then('the broker\'s own log shows it received every reading and delivered {int} of them to the cloud', { timeout: 300_000 }, async function (this: TestbedWorld, kept: number) {
  const f = fleetOf(this);
  const rig = cloudCanGoAway(f.rig);
  const stats = await f.rig.fleetStats();
  // Bounded wait until both sides of the account reach `kept`: MQTT.js hands the cloud a message
  // (the ledger counts it) before it sends the PUBACK, and Aedes records the delivery only when
  // that PUBACK arrives (cloud-broker.ts 'ack'), so the ledger can be one reading ahead of the log.
  const target = Math.min(kept, stats.sealed);
  let accepted = 0;
  let backlog: BrokerBacklog | undefined;
  await waitUntil(
    async () => {
      [accepted, backlog] = [(await f.rig.ledger()).accepted, brokerBacklog(await rig.brokerRecords(), rig.cloudClientId)];
      return accepted >= target && backlog.delivered >= target;
    },
    SETTLE_MS,
    () => `the backlog did not reach the cloud: it opened ${accepted} readings and the broker's log shows ${backlog?.delivered ?? 0} delivered to ${rig.cloudClientId}, expected ${target} on both sides`,
    500,
  );
  if (!backlog) throw new Error("the broker's records were never read");
  backlogs.set(this, backlog);
  this.attach(`the broker's own records: ${backlog.received} readings received from ${Object.keys(backlog.receivedPer).length} wearables, ${backlog.delivered} delivered to ${rig.cloudClientId}, ${backlog.received - backlog.delivered} never delivered; ${backlog.dropRecords} record(s) of dropping messages for it`, { mediaType: 'text/plain', fileName: 'broker-backlog.txt' });
  assert.equal(backlog.received, stats.sealed, `the broker's log shows ${backlog.received} readings received, the wearables sealed ${stats.sealed}`);
  assert.equal(backlog.delivered, kept, `the broker's log shows ${backlog.delivered} of ${backlog.received} readings delivered to ${rig.cloudClientId}, expected ${kept}`);
});

Then('the cloud\'s gap report names exactly the {int} readings the broker did not deliver, per wearable and sequence', { timeout: 60_000 }, async function (this: TestbedWorld, lost: number) {
  const f = fleetOf(this);
  const backlog = backlogOf(this);
  const [stats, ledger] = await Promise.all([f.rig.fleetStats(), f.rig.ledger()]);
  f.statsAtEnd = stats;
  this.attach(summaryTable(stats, ledger, backlog), { mediaType: 'text/plain', fileName: 'fleet-summary.txt' });
  const named = ledger.gaps.reduce((n, g) => n + g.missing.length, 0);
  // Attached before this step's assertions: a gap report that disagrees with the broker's log
  // shows in the picture too. (If the broker's own account failed its checks in the step before,
  // this step does not run and there is no picture: that step's message says what disagreed.)
  attachSvg(this, brokerBacklogChart({
    acknowledged: stats.acknowledged,
    receivedByBroker: backlog.received,
    deliveredByBroker: backlog.delivered,
    openedByCloud: ledger.accepted,
    namedMissing: named,
    wearables: f.wearables,
    wearablesWithGaps: ledger.gaps.length,
  }), 'broker-backlog.svg');
  const disagreements = gapReportDisagreements(ledger.gaps, backlog);
  assert.deepEqual(disagreements, [], `the cloud's gap report and the broker's log disagree: ${disagreements.join('; ')}`);
  assert.equal(named, lost, `the cloud's gap report names ${named} missing readings across ${ledger.gaps.length} wearables, expected ${lost}`);
  assert.equal(backlog.received - backlog.delivered, lost, `the broker did not deliver ${backlog.received - backlog.delivered} readings, expected ${lost}`);
  assert.equal(ledger.accepted, backlog.delivered, `the cloud opened ${ledger.accepted} readings, the broker delivered ${backlog.delivered}`);
  assert.equal(ledger.outOfOrder, 0, `${ledger.outOfOrder} readings were opened out of order`);
  assert.deepEqual(ledger.rejectedByReason, {}, `the cloud rejected readings: ${JSON.stringify(ledger.rejectedByReason)}`);
});

Then('the broker\'s own log records that it dropped messages for the cloud\'s client', async function (this: TestbedWorld) {
  const b = backlogOf(this);
  assert.ok(b.dropRecords >= 1, `the broker's log has no record of dropping messages for the cloud's client, though it delivered ${b.delivered} of ${b.received} readings`);
});

// On Mosquitto this is its NOTICE line (containers/cloud-broker-container.ts), which it writes when it drops.
Then('the broker\'s own log has no record of dropping messages for the cloud\'s client', async function (this: TestbedWorld) {
  const b = backlogOf(this);
  assert.equal(b.dropRecords, 0, `the broker's log records dropping messages for the cloud's client ${b.dropRecords} time(s)`);
});

// Aedes has no queue quota (aedes-persistence keeps an offline client's messages without a bound),
// so it has no kind of record for a drop: its silence is no evidence, and nothing is asserted of it.
// What it kept is proven above, from its deliveries and the cloud's gap report.
Then('the broker\'s own log keeps no kind of record of dropping messages for the cloud\'s client', function (this: TestbedWorld) {
  this.attach('Aedes keeps no drop record: with no queue quota it has no kind of record for dropping a message, so none is counted', { mediaType: 'text/plain' });
});
