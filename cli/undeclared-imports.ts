/**
 * Packages our code imports without declaring them in package.json. Such an import works only
 * while another dependency happens to bring the package along (npm hoists it to node_modules/),
 * and breaks without a word when that dependency drops or moves it. Also: packages that code
 * outside the tests imports while package.json has them only as devDependencies, which
 * `npm ci --omit=dev` would leave out.
 *
 * Run it: `node --import tsx cli/undeclared-imports.ts` (one line per finding, exit 1 if any);
 * cli/undeclared-imports.test.ts runs it on the project.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories that hold no source of ours: installed packages, run output, third-party builds. */
const SKIPPED_DIRS = new Set(['node_modules', 'runs', 'reports', 'build']);
const SOURCE = /\.(?:[cm]?[jt]s)$/;
/** Test and bench files, developer tools (tools/: e.g. report screenshots) and the tools' configuration may use devDependencies. */
const DEV_ONLY = /(?:\.test\.[cm]?[jt]s$|^bench\/|^tools\/|^eslint\.config\.[cm]?js$|(?:^|\/)test-fixtures\/)/;

/** `import … from 'x'`, `export … from 'x'` (across lines), `import 'x'`, `import('x')`, `require('x')`. */
const SPECIFIERS = [
  /(?:^|\n)[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"\n]+)['"]/g,
  /(?:^|\n)[ \t]*import\s*['"]([^'"\n]+)['"]/g,
  /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"\n]+)['"]\s*\)/g,
];

const BUILTINS = new Set(builtinModules);

/** The package a bare specifier names ('@scope/name/sub' → '@scope/name', 'name/sub' → 'name'); undefined for relative paths and node's own modules. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier.startsWith('#')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  return BUILTINS.has(name) ? undefined : name;
}

/** The packages one source text imports. */
export function importedPackages(source: string): Set<string> {
  const found = new Set<string>();
  // Comment lines may show an import as an example; they import nothing.
  const code = source.split('\n').filter((line) => !/^\s*(?:\/\/|\/?\*)/.test(line)).join('\n');
  for (const pattern of SPECIFIERS) {
    for (const m of code.matchAll(pattern)) {
      const name = packageOf(m[1] as string);
      if (name !== undefined) found.add(name);
    }
  }
  return found;
}

/** Our source files, relative to the project root. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path);
      } else if (entry.isFile() && SOURCE.test(entry.name)) files.push(relative(root, path));
    }
  };
  walk(root);
  return files.sort();
}

export interface ImportProblem {
  readonly file: string;
  readonly pkg: string;
  readonly problem: 'undeclared' | 'dev-only';
}

/** Every import of a package package.json does not declare (or declares for development only, from non-test code). */
export function importProblems(root: string): ImportProblem[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const runtime = new Set(Object.keys(manifest.dependencies ?? {}));
  const dev = new Set(Object.keys(manifest.devDependencies ?? {}));
  const problems: ImportProblem[] = [];
  for (const file of sourceFiles(root)) {
    for (const pkg of importedPackages(readFileSync(join(root, file), 'utf8'))) {
      if (pkg === manifest.name || runtime.has(pkg)) continue;
      if (!dev.has(pkg)) problems.push({ file, pkg, problem: 'undeclared' });
      else if (!DEV_ONLY.test(file)) problems.push({ file, pkg, problem: 'dev-only' });
    }
  }
  return problems;
}

export function problemLine(p: ImportProblem): string {
  return p.problem === 'undeclared'
    ? `${p.file} imports ${p.pkg}, which package.json does not declare; add it to "${DEV_ONLY.test(p.file) ? 'devDependencies' : 'dependencies'}" at the version in node_modules/${p.pkg}/package.json (and to package-lock.json's root entry)`
    : `${p.file} imports ${p.pkg}, which package.json has only in "devDependencies" (npm ci --omit=dev leaves it out); move it to "dependencies"`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = importProblems(join(import.meta.dirname, '..'));
  for (const p of problems) console.log(problemLine(p));
  console.log(problems.length === 0 ? 'every imported package is declared in package.json' : `${problems.length} import${problems.length === 1 ? '' : 's'} to fix`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
