/**
 * The swarm placement's hang guard. Swarm schedules every task through its manager and the
 * node's agent: a task on an overlay network took 6-9 s from `service create` to running on this
 * 2-core host, and a scenario's services up 39-45 s at load 16-19 (docs/benchmarks.md, "Swarm
 * placement"). The step that first uses the topology starts them, so hooks.ts's 60 s guard
 * failed healthy starts at load 20+. Still a bound, not an assertion: scenarios judge evidence,
 * never time. Loaded after hooks.ts (files load in name order), so this default wins on swarm only.
 */
import { setDefaultTimeout } from '@cucumber/cucumber';
import { currentPlacement } from '../topology/placements.ts';

if (currentPlacement().name === 'swarm') setDefaultTimeout(150_000);
