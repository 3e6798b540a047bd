/**
 * `testbed run` habits, driven as a user drives them (bin/testbed.js in a child process, each
 * bounded): bad tag expressions, no matching scenario, the wrong directory, --list, --dry-run.
 * None of them runs a scenario.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'testbed.js');

function testbed(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const link = (): string | undefined => (existsSync(join(ROOT, 'reports')) ? readlinkSync(join(ROOT, 'reports'), { encoding: 'utf8' }) : undefined);

test('a broken tag expression: exit 2, one line with its cause, and no report written', () => {
  const before = link();
  const r = testbed(['run', '--tags', '@((']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--tags "@\(\(" is no valid tag expression \(syntax error: Expected operator\)/);
  assert.doesNotMatch(r.stderr, /pickles:filter/);
  assert.equal(link(), before, 'the reports link moved although no scenario ran');
});

test('no matching scenario is an error unless --allow-empty', () => {
  const r = testbed(['run', '--tags', '@no-such-tag-anywhere', '--list']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no scenario matches --tags "@no-such-tag-anywhere".*--allow-empty/);
  const allowed = testbed(['run', '--tags', '@no-such-tag-anywhere', '--list', '--allow-empty']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /^0 scenarios$/m);
});

test('outside the project root it says where to run it', () => {
  const r = testbed(['run', '--list'], mkdtempSync(join(tmpdir(), 'tb-elsewhere-')));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /run it from the project root \(where features\/ is\)/);
  assert.doesNotMatch(r.stderr, /ENOENT/);
});

test('--list prints each scenario with its feature and tags, and runs none', () => {
  const r = testbed(['run', '--list', '--tags', '@resumption and not @dtls']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-1) as string, /^\d+ scenarios?$/);
  assert.ok(lines.length > 2, r.stdout);
  for (const line of lines.slice(0, -1)) assert.match(line, /^features\/[\w-]+\.feature:\d+ {2}.+ — .+ {2}(@[\w-]+ ?)+$/, line);
  assert.ok(lines.some((l) => l.includes('@resumption')), r.stdout);
  assert.doesNotMatch(r.stdout, /@dtls\b/);
});

test('--dry-run names the steps no definition matches, and runs nothing', () => {
  const project = mkdtempSync(join(tmpdir(), 'tb-dry-run-'));
  mkdirSync(join(project, 'features'));
  writeFileSync(join(project, 'features', 'x.feature'), 'Feature: X\n  Scenario: a step nobody defined\n    Given a step nobody defined yet\n');
  writeFileSync(join(project, 'cucumber.json'), JSON.stringify({ default: { paths: ['features/*.feature'], import: [], format: [] } }));
  const r = testbed(['run', '--dry-run'], project);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /undefined step: "a step nobody defined yet" \(in "a step nobody defined"\)/);
  assert.match(r.stdout, /dry run: 1 undefined step/);
  assert.ok(!existsSync(join(project, 'runs')), 'a dry run wrote a run directory');
});
