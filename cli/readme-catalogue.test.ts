/**
 * The README is where users look first: its CLI block must list every `testbed` subcommand with
 * every flag its usage line takes, and its tags table every tag a feature uses. This fails when a
 * command, a flag or a tag is added without a README line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCommands } from './main.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text of one `## ` section of the README. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README.md has no "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

const CLI = section('The CLI');
const COMMANDS = await loadCommands();
const CLI_BLOCK = /```\n([\s\S]*?)```/.exec(CLI)?.[1] ?? '';

test('the README CLI block lists every testbed subcommand', () => {
  const missing = Object.keys(COMMANDS).filter((name) => !new RegExp(`^testbed ${name}\\b`, 'm').test(CLI_BLOCK));
  assert.deepEqual(missing, [], `README.md "The CLI" does not list: ${missing.map((m) => `testbed ${m}`).join(', ')}`);
  assert.match(CLI_BLOCK, /^testbed --version/m, 'README.md "The CLI" does not list testbed --version');
});

test('the README CLI block lists every flag of every subcommand', () => {
  const missing: string[] = [];
  for (const [name, command] of Object.entries(COMMANDS)) {
    for (const flag of new Set(command.usage.match(/--[a-z][a-z0-9-]*/g) ?? [])) {
      if (!CLI_BLOCK.includes(flag)) missing.push(`testbed ${name} ${flag}`);
    }
  }
  assert.deepEqual(missing, [], `README.md "The CLI" lacks these flags: ${missing.join(', ')}`);
});

test('the README tags table lists every tag a feature uses', () => {
  const dir = join(ROOT, 'features');
  const used = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.feature'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!/^\s*@/.test(line)) continue;
      for (const tag of line.match(/@[a-z0-9-]+/g) ?? []) if (!used.has(tag)) used.set(tag, file);
    }
  }
  assert.ok(used.size > 10, `only ${used.size} tags found in features/`);
  const listed = new Set([...CLI.matchAll(/^\| `(@[a-z0-9-]+)` \|/gm)].map((m) => m[1]));
  const missing = [...used].filter(([tag]) => !listed.has(tag)).map(([tag, file]) => `${tag} (${file})`);
  assert.deepEqual(missing, [], `README.md's tags table (under "The CLI") lacks: ${missing.join(', ')}; add a row "| \`@tag\` | what it selects |"`);
});
