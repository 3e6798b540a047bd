/**
 * Summarise a V8 CPU profile (`node --cpu-prof` writes *.cpuprofile, Chrome's format): self time
 * per function and per file (or package), the top entries of each, so a profile can be read in a
 * terminal and quoted in docs/benchmarks.md.
 *
 *   node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function usage(message: string): never {
  console.error(`bench/cpuprofile-summary: ${message}\nusage: node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]`);
  process.exit(2);
}

/** Where a frame's code lives: the npm package, the project file, or Node's own module. */
function placeOf(url: string): string {
  if (!url) return '(native / VM)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  if (url.startsWith('node:')) return url;
  const project = /\/work\/[^/]+\/(.*)$/.exec(url);
  return project ? (project[1] as string) : url;
}

function summarise(profile: CpuProfile, top: number): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const place = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    const where = placeOf(f.url);
    const name = `${f.functionName || '(anonymous)'}  ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    place.set(where, (place.get(where) ?? 0) + us);
  }
  const table = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  return [`total sampled: ${(total / 1000).toFixed(0)} ms`, 'self time by place:', ...table(place), 'self time by function:', ...table(fn)];
}

const file = process.argv[2];
if (!file || file.startsWith('--')) usage('give the .cpuprofile file to read');
const i = process.argv.indexOf('--top');
const top = i < 0 ? 25 : Number(process.argv[i + 1]);
if (!Number.isInteger(top) || top < 1 || top > 1000) usage(`--top must be an integer in 1..1000, got ${JSON.stringify(process.argv[i + 1] ?? null)}`);
let profile: CpuProfile;
try {
  profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
} catch (err) {
  usage(`cannot read ${file} as a CPU profile (${(err as Error).message}); write one with node --cpu-prof`);
}
if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples)) usage(`${file} is not a V8 CPU profile (no nodes/samples); write one with node --cpu-prof`);
console.log(summarise(profile, top).join('\n'));
