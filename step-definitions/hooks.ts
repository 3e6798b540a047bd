/**
 * Scenario lifecycle: a fresh directory (and per-run PKI) for every scenario; after it, stop
 * every role — also after a failure — and attach the evidence an analyst opens in Wireshark.
 */
import { After, Before, setDefaultTimeout, Status } from '@cucumber/cucumber';
import { TestbedWorld } from './world.ts';
import { isCi, prerequisite } from '../cli/prerequisites.ts';
import { currentPlacement } from '../topology/placements.ts';
import { graphForTags, RECIPE_NAMES } from '../topology/recipes.ts';
import { skip } from './skip.ts';
import { finishAndAttachEvidence } from './evidence.hooks.ts';

// A role that hangs fails its step; nothing waits longer than this.
setDefaultTimeout(60_000);

Before(function (this: TestbedWorld, { pickle }) {
  this.dir = TestbedWorld.newScenarioDir(pickle.name);
});

// Every feature names its recipe (@recipe-<name>); the run's placement judges the graph that
// recipe builds before any step runs, and a graph it cannot realize is skipped with its reason
// (console, HTML report, JUnit <skipped message>), never run somewhere else and reported as its.
Before(function (this: TestbedWorld, { pickle }) {
  const placement = currentPlacement();
  const graph = graphForTags(pickle.tags.map((t) => t.name), placement.defaultBroker);
  if (!graph) throw new Error(`the feature of "${pickle.name}" names no recipe; tag it with one of ${RECIPE_NAMES.map((r) => `@recipe-${r}`).join(', ')}`);
  const reason = placement.cannotRealize(graph);
  if (!reason) return undefined;
  return skip(this, reason);
});

// A scenario tagged @needs-<tool> is skipped, with the reason and the fix, when the tool is
// missing; in CI a missing tool is a failure (the setup must have installed it).
Before(async function (this: TestbedWorld, { pickle }) {
  for (const tag of pickle.tags.map((t) => t.name).filter((n) => n.startsWith('@needs-'))) {
    const status = await prerequisite(tag.slice('@needs-'.length));
    if (status.available) continue;
    if (isCi()) throw new Error(`CI: ${status.reason}`);
    return skip(this, status.reason ?? `${tag.slice(7)} is missing`);
  }
  return undefined;
});

After(async function (this: TestbedWorld, { result }) {
  // Normally attached under the last step already (evidence.hooks.ts); this stops what is left.
  await finishAndAttachEvidence(this, result?.status === Status.FAILED);
});
