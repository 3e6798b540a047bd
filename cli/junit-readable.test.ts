import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { makeJUnitReadable } from './junit-readable.ts';
import { scenarioRuns } from './run-messages.ts';

const FIXTURE = join(import.meta.dirname, 'test-fixtures', 'junit-failure');

// Once per process: Cucumber imports step definitions once, a second run would find none.
let fixtureRun: Promise<{ junit: string; ndjson: string }> | undefined;
const runFixture = (): Promise<{ junit: string; ndjson: string }> => (fixtureRun ??= runFixtureOnce());

async function runFixtureOnce(): Promise<{ junit: string; ndjson: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tb-junit-failure-'));
  const [junit, ndjson] = [join(dir, 'junit.xml'), join(dir, 'messages.ndjson')];
  const { runConfiguration } = await loadConfiguration(
    { file: false, provided: { paths: [join(FIXTURE, '*.feature')], import: [join(FIXTURE, '*.steps.ts')], format: [`junit:${junit}`, `message:${ndjson}`], strict: false } },
    { cwd: process.cwd() },
  );
  await runCucumber(runConfiguration, { cwd: process.cwd(), stdout: process.stderr, stderr: process.stderr });
  return { junit, ndjson };
}

test('a failed scenario shows its failing step first in JUnit, the After hook error behind it, and outline rows by their own names', async () => {
  const { junit, ndjson } = await runFixture();
  const before = readFileSync(junit, 'utf8');
  // What Cucumber's own formatter does: the hook's ENOENT is the message CI shows.
  assert.match(before, /<failure[^>]*message="ENOENT/, `the fixture no longer reproduces the secondary error:\n${before}`);
  makeJUnitReadable(junit, ndjson);
  const xml = readFileSync(junit, 'utf8');
  const failure = /<failure\b[^>]*message="([^"]*)"[^>]*>([\s\S]*?)<\/failure>/.exec(xml);
  assert.ok(failure, xml);
  assert.match(failure[1] as string, /^the interception is reported as &quot;intercepted&quot;: the secure client completed its handshake with the MITM/, xml);
  assert.match(failure[2] as string, /also failed afterwards, in the After hook \(cli\/test-fixtures\/junit-failure\/failure.steps.ts:\d+\): ENOENT/, xml);
  assert.doesNotMatch(xml, /#\d+\.\d+/, `an outline row kept its number for a name:\n${xml}`);
  assert.match(xml, /name="A MITM presents &quot;self-signed&quot; to &quot;secure&quot;: blocked"/, xml);
  assert.match(xml, /name="A MITM presents &quot;self-signed&quot; to &quot;secure&quot;: intercepted"/, xml);
});

test('the run model keeps failures in the order they happened', async () => {
  const { ndjson } = await runFixture();
  const runs = scenarioRuns(readFileSync(ndjson, 'utf8'));
  assert.deepEqual(runs.map((r) => r.status), ['passed', 'failed']);
  assert.deepEqual(runs[1]?.failures.map((f) => f.step.startsWith('the interception') ? 'step' : 'hook'), ['step', 'hook']);
});
