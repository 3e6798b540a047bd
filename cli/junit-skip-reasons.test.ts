import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { addSkipReasons, skipReasonsFrom, withSkipReasons } from './junit-skip-reasons.ts';

const envelopes = [
  { pickle: { id: 'p1', name: 'A <quoted> "case" & more' } },
  { testCase: { id: 't1', pickleId: 'p1' } },
  { testCaseStarted: { id: 's1', testCaseId: 't1' } },
  { attachment: { testCaseStartedId: 's1', contentEncoding: 'IDENTITY', mediaType: 'text/plain', body: 'skipped: the containers placement cannot realize recipe "x": because' } },
].map((e) => JSON.stringify(e));

test('a skip reason attached to a scenario becomes its JUnit <skipped message>, escaped', () => {
  const reasons = skipReasonsFrom([...envelopes, '{"cut off', ''].join('\n'));
  const xml = '<testcase classname="F" name="A &lt;quoted&gt; &quot;case&quot; &amp; more" time="0.01">\n    <skipped/>\n  </testcase>\n<testcase classname="F" name="other" time="0"><skipped/></testcase>';
  const out = withSkipReasons(xml, reasons);
  assert.match(out, /<skipped message="the containers placement cannot realize recipe &quot;x&quot;: because"\/>/);
  assert.match(out, /name="other" time="0"><skipped\/>/, 'a scenario without a reason keeps its bare <skipped/>');
});

test('a Scenario Outline row, named "<outline> - [<examples> - ]#t.r: <scenario>" in JUnit, gets its reason too', () => {
  const row = [
    { pickle: { id: 'p2', name: 'A DTLS MITM presenting "self-signed" to the "secure" DTLS client is blocked' } },
    { testCase: { id: 't2', pickleId: 'p2' } },
    { testCaseStarted: { id: 's2', testCaseId: 't2' } },
    { attachment: { testCaseStartedId: 's2', contentEncoding: 'IDENTITY', mediaType: 'text/plain', body: 'skipped: go is missing' } },
  ].map((e) => JSON.stringify(e));
  const reasons = skipReasonsFrom(row.join('\n'));
  const xml = [
    '<testcase classname="F" name="A DTLS MITM presenting &quot;&lt;forged&gt;&quot; to the &quot;&lt;client&gt;&quot; DTLS client is &lt;result&gt; - #1.1: A DTLS MITM presenting &quot;self-signed&quot; to the &quot;secure&quot; DTLS client is blocked" time="0"><skipped/></testcase>',
    '<testcase classname="F" name="O &lt;x&gt; - the Mosquitto table - #2.1: A DTLS MITM presenting &quot;self-signed&quot; to the &quot;secure&quot; DTLS client is blocked" time="0"><skipped/></testcase>',
  ].join('\n');
  const out = withSkipReasons(xml, reasons);
  assert.equal(out.match(/<skipped message="go is missing"\/>/g)?.length, 2, out);
});

test("Cucumber's own JUnit file: each skipped Scenario Outline row, in either examples table, carries its reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-junit-'));
  const [junit, ndjson] = [join(dir, 'junit.xml'), join(dir, 'messages.ndjson')];
  const fixture = join(import.meta.dirname, 'test-fixtures', 'junit-outline');
  const { runConfiguration } = await loadConfiguration(
    { file: false, provided: { paths: [join(fixture, '*.feature')], import: [join(fixture, '*.steps.ts')], format: [`junit:${junit}`, `message:${ndjson}`], strict: false } },
    { cwd: process.cwd() },
  );
  await runCucumber(runConfiguration, { cwd: process.cwd(), stdout: process.stderr, stderr: process.stderr });
  addSkipReasons(junit, ndjson);
  const xml = readFileSync(junit, 'utf8');
  assert.doesNotMatch(xml, /<skipped\s*\/>/, `a row kept a bare <skipped/>:\n${xml}`);
  for (const row of ['first', 'second']) assert.match(xml, new RegExp(`<skipped message="[^"]*the ${row} row's reason"/>`), xml);
});
