import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summaryTable } from './fleet-progress.ts';
import type { FleetStats } from './fleet-counters.ts';

const stats: FleetStats = {
  devices: 2, connected: 2, fullHandshakes: 2, resumedHandshakes: 0, reconnects: 0, disconnects: 0, refusals: 0, refusalReasons: {}, refusedDevices: [],
  sealed: 8, acknowledged: 8, pending: 0, overflows: 0, latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 }, samples: [],
};
const ledger = { accepted: 5, duplicatesRefused: 0, gaps: [{}, {}], rejectedByReason: {} };

test("the fleet summary shows what the broker dropped where its account was read, and no such row otherwise", () => {
  assert.match(summaryTable(stats, ledger, { received: 8, delivered: 5 }), /^dropped by the broker \(never delivered\) +3$/m);
  assert.doesNotMatch(summaryTable(stats, ledger), /dropped by the broker/);
});
