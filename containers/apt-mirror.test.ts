import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseDeb822, parseOneLine, readAptMirror } from './apt-mirror.ts';

// Example hosts only: the code never carries a mirror; these stand for what a machine has.
const DEB822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

test('deb822: the release suite of the first deb stanza, not -updates or -security', () => {
  assert.deepEqual(parseDeb822(DEB822, 'x.sources'), [{ uri: 'http://mirror.example/debian', suite: 'bookworm', source: 'x.sources' }]);
});

test('deb822: disabled stanzas and deb-src are ignored', () => {
  assert.deepEqual(parseDeb822('Types: deb-src\nURIs: http://a.example/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://b.example/debian\nSuites: bookworm\n', 's'), []);
});

test('one-line sources: options in brackets and comments are handled', () => {
  assert.deepEqual(parseOneLine('# deb http://old.example/debian buster main\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n', 'l'), [{ uri: 'http://m.example/debian', suite: 'bookworm', source: 'l' }]);
});

test('readAptMirror prefers a Debian archive and says how to fix an empty configuration', () => {
  const etc = mkdtempSync(join(tmpdir(), 'apt-'));
  mkdirSync(join(etc, 'sources.list.d'));
  writeFileSync(join(etc, 'sources.list.d', 'a-other.list'), 'deb http://repo.example/node nodistro main\n');
  writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), DEB822);
  assert.equal(readAptMirror(etc).uri, 'http://mirror.example/debian');
  const empty = mkdtempSync(join(tmpdir(), 'apt-'));
  assert.throws(() => readAptMirror(empty), /containers: no usable Debian mirror in .*sources.list.*; add one to apt's sources/);
});
