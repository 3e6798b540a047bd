/**
 * bench/fleet.ts sections 4 and 5, on the local placement's layout: the wearables as one shard in
 * a worker thread (topology/fleet-shard-thread.ts), Aedes and the cloud service in the main
 * thread, so the two sides use the two cores as in the @fleet scenarios.
 *
 * 4. sustained readings with zero loss (seal, broker, cloud open): rising time compression until
 *    a reading is lost or the fleet falls behind; p50/p99 seal-to-PUBACK latency per factor;
 * 5. restart storm: the broker restarts; time until every device is back and every queued
 *    reading is opened.
 */
import { loadavg } from 'node:os';
import { performance as perf } from 'node:perf_hooks';
import { percentile } from '../emulators/fleet/fleet-counters.ts';
import { waitUntil } from '../emulators/fleet/fleet.ts';
import type { LocalFleet } from '../topology/local-fleet.ts';

const seconds = (since: number) => (performance.now() - since) / 1000;
const load = () => loadavg()[0]?.toFixed(1) ?? '?';

/** Compression factors tried, in order; the worked example's target is ×20 (3,333 readings/s at 5,000). */
export const FACTORS: readonly number[] = [20, 40, 80, 160, 320];

/** Where the rig's wearables run, against the broker and cloud in the main thread, for each line. */
function layout(rig: LocalFleet): string {
  if (rig.wearablesIn === 'main thread') return 'wearables, broker and cloud in one thread';
  if (rig.wearablesIn === 'forked process') return `wearables in a process of their own on ${rig.allocator.name}, broker and cloud in the main thread`;
  return 'wearables in a worker thread, broker and cloud in the main one';
}

/**
 * "Sustained" means kept up: every reading opened exactly once (the ledger) and the last one
 * within a tenth of the round's length (plus 0.5 s) after the round was due to end; a fleet that
 * falls behind does not count. Returns the highest factor sustained (0: none).
 */
export async function sustainedRounds(rig: LocalFleet, n: number, factors = FACTORS): Promise<number> {
  let highest = 0;
  for (const factor of factors) {
    await rig.setClock(Math.floor(Date.now() / 1000), factor);
    await rig.takeLatencies();
    const before = (await rig.ledger()).accepted;
    const mainElu = perf.eventLoopUtilization();
    const shardElu = rig.wearablesLoad();
    const t = performance.now();
    // Rounds of at least 5 s, so a backlog has time to show.
    const perDevice = Math.max(3, Math.ceil((5 * factor) / 30));
    const roundS = (perDevice * 30) / factor;
    try {
      await rig.report(perDevice, roundS * 1000 * 2 + 5_000);
      await rig.settle(60_000);
    } catch (err) {
      console.log(`sustained ×${factor} (${layout(rig)}; load ${load()}): fell behind (${(err as Error).message})`);
      // Readings that arrived outside the cloud's ±300 s window are refused and never opened:
      // wait for the queues only, not for the cloud.
      await rig.untilAcknowledged(120_000).catch(() => undefined);
      break;
    }
    const took = seconds(t);
    const ledger = await rig.ledger();
    const lat = await rig.takeLatencies();
    const opened = ledger.accepted - before;
    const lossless = ledger.gaps.length === 0 && opened === n * perDevice;
    const keptUp = took <= roundS * 1.1 + 0.5;
    const shardBusy = rig.wearablesLoad(shardElu);
    const busy = `busy: main thread ${(perf.eventLoopUtilization(mainElu).utilization * 100).toFixed(0)} %${shardBusy ? `, wearables thread ${(shardBusy.utilization * 100).toFixed(0)} %` : ''}`;
    console.log(`sustained ×${factor} (${layout(rig)}; load ${load()}): ${((n * factor) / 30).toFixed(0)} readings/s offered for ${roundS.toFixed(1)} s, ${opened} of ${n * perDevice} opened in ${took.toFixed(1)} s (${(opened / took).toFixed(0)}/s), ${ledger.gaps.length} wearables with gaps, latency seal→PUBACK p50 ${percentile(lat, 50).toFixed(0)} ms p99 ${percentile(lat, 99).toFixed(0)} ms, ${busy}${lossless ? '' : ' — LOSS'}${keptUp ? '' : ' — FELL BEHIND'}`);
    if (!lossless || !keptUp) break;
    highest = factor;
  }
  console.log(`highest compression sustained with zero loss (${layout(rig)}): ×${highest} (${((n * highest) / 30).toFixed(0)} readings/s); target ×20 ${highest >= 20 ? 'met' : 'NOT met'}`);
  return highest;
}

/**
 * The restart storm from a calm fleet (all connected, nothing queued), whatever ran before it (a
 * round that fell behind may have left readings the cloud refused as stale: they are not waited
 * for). Returns seconds until every reading of the storm's round was opened.
 */
export async function restartStorm(rig: LocalFleet, n: number): Promise<number> {
  await rig.untilAllConnected(120_000);
  await rig.untilAcknowledged(120_000);
  const openedBefore = rig.ledgerOfCloud.accepted;
  // At ×5, as @fleet-restart: at ×20 the cloud's ±300 s timestamp window is 15 s of wall time,
  // and readings queued through a storm longer than that are refused as stale (never opened).
  await rig.setClock(Math.floor(Date.now() / 1000), 5);
  const reporting = rig.report(1, 120_000);
  // Awaited below; handled now, so a failing restart reports its own error rather than this one unobserved.
  reporting.catch(() => undefined);
  const t = performance.now();
  await rig.restartBroker();
  await reporting;
  await rig.untilAllConnected(120_000);
  const reconnected = seconds(t);
  await rig.untilAcknowledged(120_000);
  await waitUntil(() => rig.ledgerOfCloud.accepted >= openedBefore + n, 120_000, () => `the cloud opened ${rig.ledgerOfCloud.accepted - openedBefore} of the ${n} readings sealed through the restart`);
  const delivered = seconds(t);
  console.log(`restart storm (${layout(rig)}; load ${load()}): ${n} wearables reconnected ${reconnected.toFixed(1)} s after the restart began, every queued reading opened after ${delivered.toFixed(1)} s (the reading round itself takes 6 s at ×5); target 30 s ${delivered <= 30 ? 'met' : 'NOT met'}`);
  return delivered;
}
