/**
 * Containers placement benchmark (issue 6 "Speed"): the base image from nothing, the role
 * images, a five-role topology up (broker, cloud service, gateway, two capture sidecars and the
 * wearable fleet), and the suite on the containers topology. Prints figures and the targets.
 *
 *   node --import tsx bench/containers.ts [--from-scratch] [--suite]
 *
 * --from-scratch removes the testbed images first (the base is rebuilt: needs debootstrap and
 * the machine's apt mirror); --suite also runs the whole suite on each placement and prints
 * them side by side.
 */
import { cpus, release } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { docker } from '../containers/docker-cli.ts';
import { ensureDockerDaemon } from '../containers/docker-daemon.ts';
import { ensureBaseImage } from '../containers/base-image.ts';
import { ensureRoleImages } from '../containers/role-images.ts';
import { ContainersTopology } from '../topology/containers-topology.ts';

const args = new Set(process.argv.slice(2));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const line = (what: string, s: string, target?: string) => console.log(`${what.padEnd(44)} ${s.padStart(7)} s${target ? `   (target ${target})` : ''}`);

console.log(`containers bench — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Linux ${release()}, Node ${process.version}`);
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
const daemon = await ensureDockerDaemon((l) => console.log(l));
console.log(`dockerd ${daemon.serverVersion}`);

if (args.has('--from-scratch')) {
  // Role images first: the base cannot go while images built FROM it exist.
  const listed = async (filter: string) => [...new Set((await docker(['images', '-q', '--filter', filter])).stdout.split('\n').filter(Boolean))];
  const base = await listed('label=org.testbed.image=base');
  const roles = (await listed('label=org.testbed.image')).filter((id) => !base.includes(id));
  for (const ids of [roles, base]) if (ids.length > 0) await docker(['rmi', '-f', ...ids], { timeoutMs: 120_000 });
  console.log(`removed ${roles.length + base.length} testbed images`);
}
let t = Date.now();
const base = await ensureBaseImage();
line(`base image (${base.built ? 'built from nothing' : 'cached'})`, seconds(Date.now() - t), base.built ? '< 180 s' : undefined);
t = Date.now();
const roles = await ensureRoleImages();
line(`role images (${roles.built.length} built, ${5 - roles.built.length} cached)`, seconds(Date.now() - t));

const ups: number[] = [];
for (let i = 0; i < 3; i++) {
  const topology = new ContainersTopology(mkdtempSync(join(tmpdir(), 'tb-bench-')));
  t = Date.now();
  await topology.start({ wearables: 1, path: 'terminating-gateway', gatewayMalice: [], speedup: 600, wearableProfile: 'secure' });
  ups.push(Date.now() - t);
  t = Date.now();
  await topology.stop();
  line(`topology up (run ${i + 1})`, `${seconds(ups[i] as number)}`, i === 0 ? '< 10 s' : undefined);
  line('  topology down (captures flushed, removed)', seconds(Date.now() - t));
}
line('topology up, median of 3', seconds([...ups].sort((a, b) => a - b)[1] as number), '< 10 s');

/** One `testbed run` on a placement: wall time and its summary line ("N passed, N failed, N skipped"). */
function suiteOn(placement: 'local' | 'containers'): { ms: number; summary: string } {
  const start = Date.now();
  const r = spawnSync(process.execPath, ['bin/testbed.js', 'run', '--profile', 'ci', '--topology', placement], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CI: 'false' } });
  const summary = r.stdout.toString().split('\n').find((l) => l.startsWith('scenarios:'))?.replace('scenarios: ', '') ?? `exit ${r.status}`;
  return { ms: Date.now() - start, summary };
}

if (args.has('--suite')) {
  // The whole suite per placement, side by side, measured in the same run (issue: < 15 min in containers).
  const local = suiteOn('local');
  const containers = suiteOn('containers');
  console.log('\n| placement | scenarios | wall time | vs local |\n| --- | --- | ---: | ---: |');
  console.log(`| local | ${local.summary} | ${seconds(local.ms)} s | 1.00× |`);
  console.log(`| containers | ${containers.summary} | ${seconds(containers.ms)} s | ${(containers.ms / local.ms).toFixed(2)}× |`);
  line('whole suite on containers', seconds(containers.ms), '< 900 s on 2 cores');
}
