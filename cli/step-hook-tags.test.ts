/**
 * A step file's After hook that stops its rig is tagged, so that it runs (and shows as a step in
 * the HTML report) only in the scenarios of its feature: untagged, each is a step in every one of
 * the ~370 scenarios, and hook steps were most of the report's size (docs/benchmarks.md, "Report
 * size and load time"). The price of a tag is that a scenario using the file's steps without the
 * tag would leave its rig running; this test makes that a failure. From Cucumber's dry run of
 * every feature: each scenario that uses a step defined in a file must also run each tagged After
 * hook that file defines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import type * as messages from '@cucumber/messages';

const ROOT = join(import.meta.dirname, '..'); // not in step-definitions/: Cucumber imports every .ts there as support code

async function dryRunMessages(): Promise<messages.Envelope[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tb-hook-tags-'));
  const out = join(dir, 'messages.ndjson');
  try {
    const environment = { cwd: ROOT, env: { ...process.env, CUCUMBER_PUBLISH_QUIET: 'true' } };
    const { runConfiguration } = await loadConfiguration({ profiles: ['default'] }, environment);
    runConfiguration.runtime.dryRun = true;
    runConfiguration.formats = { stdout: 'summary', files: { [out]: 'message' }, publish: false, options: {} };
    await runCucumber(runConfiguration, { ...environment, stdout: process.stderr });
    return readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as messages.Envelope);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every scenario that uses a step file's steps runs that file's tagged After hooks", async () => {
  const envelopes = await dryRunMessages();
  const fileOfStep = new Map(envelopes.flatMap((e) => (e.stepDefinition ? [[e.stepDefinition.id, e.stepDefinition.sourceReference.uri ?? '']] : [])));
  const taggedHooks = envelopes.flatMap((e) => (e.hook?.tagExpression && e.hook.type === 'AFTER_TEST_CASE' ? [e.hook] : []));
  const pickles = new Map(envelopes.flatMap((e) => (e.pickle ? [[e.pickle.id, e.pickle]] : [])));
  const cases = envelopes.flatMap((e) => (e.testCase ? [e.testCase] : []));
  assert.ok(cases.length > 100, `the dry run planned only ${cases.length} scenarios`);
  assert.ok(taggedHooks.length >= 5, `only ${taggedHooks.length} tagged After hooks found`);
  const missing: string[] = [];
  for (const testCase of cases) {
    const files = new Set(testCase.testSteps.flatMap((s) => (s.stepDefinitionIds ?? []).map((id) => fileOfStep.get(id))));
    const ran = new Set(testCase.testSteps.flatMap((s) => (s.hookId ? [s.hookId] : [])));
    for (const hook of taggedHooks) {
      if (!files.has(hook.sourceReference.uri) || ran.has(hook.id)) continue;
      const pickle = pickles.get(testCase.pickleId);
      missing.push(`"${pickle?.name}" (${pickle?.uri}, tags ${pickle?.tags.map((t) => t.name).join(' ')}) uses steps of ${hook.sourceReference.uri} but not its After hook tagged "${hook.tagExpression}": widen the hook's tags`);
    }
  }
  assert.deepEqual(missing, []);
});
