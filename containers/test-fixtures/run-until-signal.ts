/**
 * Test fixture: bring up a containers topology in its own process, report a few readings, say
 * "UP <runId>", then wait (bounded, 90 s) to be interrupted or killed by the test.
 */
import { ContainersTopology } from '../../topology/containers-topology.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: run-until-signal.ts DIR');
const topology = new ContainersTopology(dir);
await topology.start({ wearables: 1, path: 'terminating-gateway', gatewayMalice: [], speedup: 3000, wearableProfile: 'secure' });
await topology.report('wearable-0001', 2);
console.log(`UP ${topology.runId}`);
setTimeout(() => process.exit(3), 90_000);
