import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importProblems, importedPackages, packageOf, problemLine } from './undeclared-imports.ts';

test('every package our code imports is declared in package.json (tests and benches may use devDependencies)', () => {
  const problems = importProblems(join(import.meta.dirname, '..'));
  assert.deepEqual(problems.map(problemLine), []);
});

test('a bare specifier names its package; relative paths and node modules name none', () => {
  assert.equal(packageOf('@cucumber/cucumber/api'), '@cucumber/cucumber');
  assert.equal(packageOf('mqtt-packet'), 'mqtt-packet');
  assert.equal(packageOf('node-forge/lib/x'), 'node-forge');
  for (const none of ['./a.ts', '../b.ts', 'node:fs', 'fs', 'fs/promises', '/abs.js', '#internal']) assert.equal(packageOf(none), undefined, none);
});

test('finds static, multi-line, re-export, side-effect, dynamic and require imports, not those in comments', () => {
  const source = [
    "import { a } from 'pkg-a';",
    'import {',
    '  b,',
    "} from '@s/pkg-b/deep';",
    "export * from 'pkg-c';",
    "import 'pkg-d';",
    "const e = await IMPORT('pkg-e');",
    "const f = REQUIRE(\"pkg-f\");",
    "import type { G } from 'pkg-g';",
    " * e.g. IMPORT('pkg-in-doc') or REQUIRE('pkg-in-doc')",
    "// import x from 'pkg-commented';",
    "const text = 'not an import from a string';",
  ].join('\n').replaceAll('IMPORT(', 'import(').replaceAll('REQUIRE(', 'require('); // spelt so that this file's own scan finds none of them
  assert.deepEqual([...importedPackages(source)].sort(), ['@s/pkg-b', 'pkg-a', 'pkg-c', 'pkg-d', 'pkg-e', 'pkg-f', 'pkg-g']);
});

test('in a project: an undeclared import, and a devDependency used outside tests, each get a line saying what to change', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-imports-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'p', dependencies: { declared: '1' }, devDependencies: { devtool: '1' } }));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'node_modules', 'hoisted'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'hoisted', 'index.js'), "import 'not-ours';");
  writeFileSync(join(root, 'src', 'a.ts'), "import 'declared';\nimport 'hoisted';\nimport 'devtool';\nimport 'p/sub';\n");
  writeFileSync(join(root, 'src', 'a.test.ts'), "import 'devtool';\n");
  const lines = importProblems(root).map(problemLine);
  assert.deepEqual(lines, [
    'src/a.ts imports hoisted, which package.json does not declare; add it to "dependencies" at the version in node_modules/hoisted/package.json (and to package-lock.json\'s root entry)',
    'src/a.ts imports devtool, which package.json has only in "devDependencies" (npm ci --omit=dev leaves it out); move it to "dependencies"',
  ]);
});
