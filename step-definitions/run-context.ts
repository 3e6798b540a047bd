/**
 * The run's directory and topology placement, decided by `testbed run` through the environment
 * (TESTBED_RUN_DIR, TESTBED_TOPOLOGY) so Cucumber workers agree without sharing memory.
 */
import { join } from 'node:path';
import { LocalTopology } from '../topology/local-topology.ts';
import type { Topology } from '../topology/topology.ts';

const runDir = process.env.TESTBED_RUN_DIR ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
let scenarioCount = 0;

export function scenarioDir(scenarioName: string): string {
  const slug = scenarioName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  scenarioCount += 1;
  return join(runDir, 'scenarios', `${String(scenarioCount).padStart(3, '0')}-${process.pid}-${slug}`);
}

export function createTopology(dir: string): Topology {
  const placement = process.env.TESTBED_TOPOLOGY ?? 'local';
  if (placement === 'local') return new LocalTopology(dir);
  throw new Error(`testbed: topology "${placement}" is not available in this build; use --topology local`);
}
