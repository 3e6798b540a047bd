/**
 * The offline base image (docs/architecture.md §8 The graph and its placements): no registry is reachable here, so the base is a minimal
 * Debian bootstrapped from the machine's own apt mirror, plus this machine's Node binary, and
 * `docker import`ed. Role images are built FROM it (see role-images.ts). The tag carries a hash
 * of every input, so the image is rebuilt only when the package list, the suite, the mirror's
 * suite or the Node binary change.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { docker, dockerFromPipe } from './docker-cli.ts';
import { readAptMirror, type AptMirror } from './apt-mirror.ts';

/** What every role needs besides Node: TLS tooling, captures, namespaces and NAT, the real broker. */
// mosquitto-clients and sslscan: independent clients and scanners run as roles inside the graph.
// libjemalloc2: the fleet shards' allocator (topology/fleet-host-allocator.ts).
export const BASE_PACKAGES = ['openssl', 'tcpdump', 'iproute2', 'iptables', 'mosquitto', 'mosquitto-clients', 'sslscan', 'ca-certificates', 'libjemalloc2'] as const;
export const BASE_REPOSITORY = 'testbed-base';
/** The tag the role Dockerfiles default to (`ARG BASE=testbed-base:local`). */
export const BASE_IMAGE = `${BASE_REPOSITORY}:local`;
/** Bump when the recipe below changes in a way the inputs do not show. */
const RECIPE_VERSION = 1;
const DEBOOTSTRAP_TIMEOUT_MS = 10 * 60_000;
const IMPORT_TIMEOUT_MS = 5 * 60_000;

export interface BaseImage {
  readonly tag: string;
  readonly id: string;
  readonly built: boolean;
  readonly seconds: number;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function baseImageInputsHash(mirror: AptMirror, nodeBinary: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ RECIPE_VERSION, packages: BASE_PACKAGES, suite: mirror.suite, arch: process.arch }));
  hash.update(await sha256File(nodeBinary));
  return hash.digest('hex').slice(0, 16);
}

export async function imageId(tag: string): Promise<string | undefined> {
  try {
    return (await docker(['image', 'inspect', '--format', '{{.Id}}', tag], { timeoutMs: 15_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

function runBounded(file: string, args: string[], timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer) => (tail = (tail + b.toString()).slice(-3000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? `containers: ${file} is not installed; run \`npm run setup\` (installs debootstrap) or: apt-get install -y debootstrap` : `containers: ${what}: ${e.message}`)),
    );
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`containers: ${what} failed (${signal ?? `exit ${code}`}); last output:\n${tail}`));
    });
  });
}

/**
 * Build (or find, by input hash) the base image and tag it BASE_IMAGE. Needs root, debootstrap
 * and a reachable apt mirror the first time; afterwards it is a cache hit.
 */
export async function ensureBaseImage(say: (line: string) => void = () => undefined, nodeBinary = process.execPath): Promise<BaseImage> {
  const started = Date.now();
  const mirror = readAptMirror();
  const tag = `${BASE_REPOSITORY}:${await baseImageInputsHash(mirror, nodeBinary)}`;
  const existing = await imageId(tag);
  if (existing) {
    if ((await imageId(BASE_IMAGE)) !== existing) await docker(['tag', tag, BASE_IMAGE]);
    return { tag, id: existing, built: false, seconds: (Date.now() - started) / 1000 };
  }
  say(`containers: building the base image ${tag}: debootstrap ${mirror.suite} (minbase + ${BASE_PACKAGES.join(', ')}) from the mirror in ${mirror.source}, plus ${nodeBinary}`);
  const root = mkdtempSync(join(tmpdir(), 'testbed-rootfs-'));
  try {
    await runBounded('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, mirror.suite, root, mirror.uri], DEBOOTSTRAP_TIMEOUT_MS, 'debootstrap');
    // The host's Node, so the image runs exactly the Node the unit tests ran with.
    copyFileSync(nodeBinary, join(root, 'usr/local/bin/node'));
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    // Keep the image small: package caches and docs are not needed to run the roles.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/locale']) {
      rmSync(join(root, dir), { recursive: true, force: true });
    }
    const id = await dockerFromPipe(
      { file: 'tar', args: ['-C', root, '--numeric-owner', '-c', '.'] },
      ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'LABEL org.testbed.image=base', '--change', 'CMD ["/bin/bash"]', '-', tag],
      IMPORT_TIMEOUT_MS,
    );
    await docker(['tag', tag, BASE_IMAGE]);
    say(`containers: base image ${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { tag, id, built: true, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
