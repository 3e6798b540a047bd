/**
 * The run's directory and topology placement, decided by `testbed run` through the environment
 * (TESTBED_RUN_DIR, TESTBED_TOPOLOGY) so Cucumber workers agree without sharing memory.
 */
import { join } from 'node:path';
import { LocalTopology } from '../topology/local-topology.ts';
import { ContainersTopology } from '../topology/containers-topology.ts';
import { ContainersDtlsTopology } from '../topology/containers-dtls-topology.ts';
import { SwarmTopology } from '../topology/swarm-topology.ts';
import { LocalDtlsTopology, isDtlsPath } from '../topology/local-dtls-topology.ts';
import type { Path, Topology } from '../topology/topology.ts';

const runDir = process.env.TESTBED_RUN_DIR ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
let scenarioCount = 0;

export function runDirectory(): string {
  return runDir;
}

export function scenarioDir(scenarioName: string): string {
  const slug = scenarioName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  scenarioCount += 1;
  return join(runDir, 'scenarios', `${String(scenarioCount).padStart(3, '0')}-${process.pid}-${slug}`);
}

export function createTopology(dir: string, path?: Path): Topology {
  const placement = process.env.TESTBED_TOPOLOGY ?? 'local';
  if (placement === 'local') return path !== undefined && isDtlsPath(path) ? new LocalDtlsTopology(dir) : new LocalTopology(dir);
  if (placement === 'containers') return path !== undefined && isDtlsPath(path) ? new ContainersDtlsTopology(dir) : new ContainersTopology(dir);
  // DTLS paths are skipped on swarm before any step (placements.ts SWARM_UNPLACED).
  if (placement === 'swarm') return new SwarmTopology(dir);
  throw new Error(`testbed: topology "${placement}" is not available in this build; use --topology local`);
}
