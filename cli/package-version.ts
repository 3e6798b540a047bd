/** The testbed's version, read from its package.json (one source of truth for `testbed --version`). */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
  return `${manifest.name ?? 'testbed'} ${manifest.version ?? '(no version in package.json)'}`;
}
