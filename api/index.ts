/**
 * The testbed's TypeScript API (package.json "exports" "."): the same graph as the CLI.
 *
 *   import { up, upGraph } from 'iot-e3e4-testbed';
 *   const running = await up(upGraph({ broker: 'aedes', wearables: 1, path: 'terminating-gateway' }), { placement: 'local' });
 *   running.endpoint('gateway');  // { host: '127.0.0.1', port, serverName, … }
 *   await running.down();
 *
 * See docs/api.md and examples/.
 */
export { up, down, type UpOptions, type RunningGraph, type RoleHandle, type LinkHandle, type UpPki, type UpEvidence, type ReachableEndpoint } from './up.ts';
export { upGraph, specOfGraph, externalDeviceOf, parseMalice, parseMitm, parseImpairment, UP_RECIPES, UP_PATHS, UP_POLICIES, type UpGraphOptions, type UpPath, type UpPolicy } from './up-graph.ts';
export { clientLines, chapterSClientArgs, mosquittoArgs, tsharkLine, wiresharkLine, type ClientLines } from './client-lines.ts';
export { brokerPolicyOffer, type BrokerPolicyOffer } from './broker-policy-offer.ts';
export { sealReading, parseReading, type SealRequest, type Sealed } from './seal.ts';
export { reporting, RECIPE_NAMES } from '../topology/recipes.ts';
export { describeGraph, graphProblems, type Graph, type Role, type Link } from '../topology/graph.ts';
export { placementNamed, PLACEMENT_NAMES, type PlacementName } from '../topology/placements.ts';
export type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
export type { Observation } from '../emulators/observation-log.ts';
