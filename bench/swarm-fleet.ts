/**
 * The fleet figure of bench/swarm.ts (issue 11 item 6): the same fleet (features/fleet.feature's
 * roles) on the containers placement (the baseline: fleet shard containers, Mosquitto, the fleet
 * cloud container) and on a one-node swarm (topology/swarm-fleet.ts: one replicated shard
 * service, Mosquitto's store on a bind mount, the fleet cloud service), in the same run:
 *   - up: the whole start() (PKI, provisioning, services or containers, every role answering);
 *   - connect: every wearable connected with mutual TLS (the fleet's own figure);
 *   - readings/s: R readings per wearable on the compressed interval, until the cloud's ledger
 *     holds them (accepted only; bounded by what the fleet offers: wearables × speed-up / 30 s);
 *   - restart storm: from the broker restart (docker restart / a task restart by
 *     `docker service update --force`) until every wearable is connected again;
 *   - down: stop() and removal by label.
 * Bounded: each step has its deadline; a side that does not complete is reported, not fatal.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainersFleet } from '../topology/containers-fleet.ts';
import { SwarmFleet } from '../topology/swarm-fleet.ts';
import type { FleetRig } from '../topology/fleet-rig.ts';

export interface FleetFigures {
  readonly upMs: number;
  readonly connectMs: number;
  readonly readingsPerSecond: number;
  readonly accepted: number;
  readonly gaps: number;
  readonly restartStormMs: number;
  readonly downMs: number;
}

const STORM_DEADLINE_MS = 120_000;

async function measureFleet(rig: FleetRig, wearables: number, readings: number, speedup: number): Promise<FleetFigures> {
  let t = Date.now();
  try {
    await rig.start({ wearables, speedup, capture: false });
    const upMs = Date.now() - t;
    t = Date.now();
    await rig.connectAll(300_000);
    const connectMs = Date.now() - t;
    t = Date.now();
    await rig.report(readings, 600_000);
    await rig.settle(120_000);
    const ledger = await rig.ledger();
    const readingsPerSecond = ledger.accepted / ((Date.now() - t) / 1000);
    const before = (await rig.fleetStats()).reconnects;
    t = Date.now();
    await rig.restartBroker();
    for (;;) {
      const s = await rig.fleetStats();
      if (s.connected === wearables && s.reconnects - before >= wearables) break;
      if (Date.now() - t > STORM_DEADLINE_MS) throw new Error(`restart storm: ${s.connected} of ${wearables} connected again after ${STORM_DEADLINE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const restartStormMs = Date.now() - t;
    t = Date.now();
    await rig.stop();
    return { upMs, connectMs, readingsPerSecond, accepted: ledger.accepted, gaps: ledger.gaps.length, restartStormMs, downMs: Date.now() - t };
  } finally {
    await rig.stop().catch(() => undefined);
  }
}

/** Swarm first, then the containers baseline; prints one Markdown table with the ratios. */
export async function fleetFigures(wearables: number, readings: number, speedup: number): Promise<void> {
  console.log(`fleet: ${wearables} wearables, ${readings} readings each, speed-up ${speedup} (offered ${((wearables * speedup) / 30).toFixed(0)} readings/s)`);
  const attempt = async (what: string, rig: FleetRig): Promise<FleetFigures | undefined> => measureFleet(rig, wearables, readings, speedup).catch((err: Error) => void console.log(`${what}: did not complete: ${err.message.split('\n')[0]}`));
  const swarm = new SwarmFleet(mkdtempSync(join(tmpdir(), 'tb-bench-swarm-fleet-s-')));
  const onSwarm = await attempt('swarm fleet', swarm);
  const baseline = await attempt('containers fleet', new ContainersFleet(mkdtempSync(join(tmpdir(), 'tb-bench-swarm-fleet-c-'))));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const cell = (f: FleetFigures | undefined, pick: (f: FleetFigures) => string) => (f ? pick(f) : '–');
  const ratio = (pick: (f: FleetFigures) => number) => (onSwarm && baseline ? `${(pick(onSwarm) / pick(baseline)).toFixed(2)}×` : '–');
  const row = (what: string, pick: (f: FleetFigures) => number, show: (f: FleetFigures) => string) => console.log(`| ${what} | ${cell(baseline, show)} | ${cell(onSwarm, show)} | ${ratio(pick)} |`);
  console.log(`\n| fleet figure | containers (baseline) | swarm (${Math.ceil(wearables / swarm.shardSize)} shard tasks) | swarm / containers |\n| --- | ---: | ---: | ---: |`);
  row('up (whole start)', (f) => f.upMs, (f) => s(f.upMs));
  row(`${wearables} mutual-TLS connections`, (f) => f.connectMs, (f) => s(f.connectMs));
  row(`readings/s (accepted; wearables with gaps)`, (f) => f.readingsPerSecond, (f) => `${f.readingsPerSecond.toFixed(0)} (${f.accepted}; ${f.gaps})`);
  row('broker restart → every wearable connected again', (f) => f.restartStormMs, (f) => s(f.restartStormMs));
  row('down', (f) => f.downMs, (f) => s(f.downMs));
}
