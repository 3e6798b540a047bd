import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discardReports, linkLatestReports, publishReports, redirectReports } from './report-files.ts';

const FORMATS = { 'reports/cucumber-junit.xml': 'junit', 'reports/cucumber-report.html': 'html', 'elsewhere/x.ndjson': 'message' };

test('reports are written under temporary names in the run and renamed into place only when published', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-reports-'));
  const run = join(root, 'runs', 't1');
  const { files, pending } = redirectReports(FORMATS, run);
  assert.equal(files['elsewhere/x.ndjson'], 'message', 'a target outside reports/ is left alone');
  const temps = Object.keys(files).filter((f) => f.startsWith(run));
  assert.equal(temps.length, 2);
  for (const t of temps) assert.match(t, /\/runs\/t1\/reports\/\.partial-cucumber-/);
  for (const t of temps) writeFileSync(t, 'written');
  assert.deepEqual(publishReports(pending).sort(), [join(run, 'reports', 'cucumber-junit.xml'), join(run, 'reports', 'cucumber-report.html')]);
  assert.equal(readFileSync(join(run, 'reports', 'cucumber-junit.xml'), 'utf8'), 'written');
  assert.equal(readlinkSync(join(run, 'reports', 'run')), '..', 'the report directory links back to its run, for evidence links');
});

test('a run that never ran leaves neither a partial nor an empty report', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-reports-'));
  const run = join(root, 'runs', 't2');
  const { files, pending } = redirectReports(FORMATS, run);
  for (const t of Object.keys(files).filter((f) => f.startsWith(run))) writeFileSync(t, '');
  discardReports(pending);
  assert.ok(!existsSync(join(run, 'reports')), `left behind: ${existsSync(join(run, 'reports')) ? readdirSync(join(run, 'reports')).join(', ') : ''}`);
});

test('reports points at the latest run; a reports/ directory of an older version is kept in runs/', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-reports-'));
  mkdirSync(join(root, 'reports'));
  writeFileSync(join(root, 'reports', 'cucumber-junit.xml'), 'old');
  for (const t of ['t1', 't2']) {
    redirectReports(FORMATS, join(root, 'runs', t));
    linkLatestReports(root, join(root, 'runs', t));
    assert.equal(readlinkSync(join(root, 'reports')), join('runs', t, 'reports'));
  }
  const kept = readdirSync(join(root, 'runs')).filter((d) => d.endsWith('-earlier'));
  assert.equal(kept.length, 1);
  assert.equal(readFileSync(join(root, 'runs', kept[0] as string, 'reports', 'cucumber-junit.xml'), 'utf8'), 'old');
});
