/**
 * The memory allocator of a process that hosts a fleet's wearables (issue 11, "memory: at most
 * 100 KiB RSS per connected wearable").
 *
 * Each wearable holds its own TLS context and one mutual-TLS connection; most of that is OpenSSL's
 * and node:tls's native memory, allocated and freed in many small pieces during every handshake.
 * Under glibc malloc a process with 5,000 connected wearables held ~116 KiB RSS per wearable, and
 * bare node:tls clients ~108 KiB: freed handshake memory stays fragmented in glibc's heap. On
 * jemalloc, with its defaults, the same process held ~100 KiB per wearable and bare clients ~96 KiB,
 * and 94-98 KiB once each device trusted the root only (docs/benchmarks.md "Fleet memory on
 * jemalloc"). Tuning (one arena, no thread caches, freed pages
 * returned at once) went lower still but made loading 2,000 credentials several times slower, so
 * the defaults stay.
 *
 * jemalloc is Debian's libjemalloc2 (`testbed setup` installs it on the host; the base image has
 * it for the shard containers). A process gets it through LD_PRELOAD at its start, so only a
 * process we start (the forked fleet host, a fleet shard container or swarm task) can have it;
 * the local placement's worker thread shares the testbed's own process and its glibc malloc.
 * Without the library the host runs on glibc malloc and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface HostAllocator {
  readonly name: 'jemalloc' | 'glibc malloc';
  /** Environment to add to the host process's own. */
  readonly env: Readonly<Record<string, string>>;
  /** For people: which allocator, and why not jemalloc when it is not. */
  readonly note: string;
}

/** ldconfig's name for a 64-bit architecture, as `ldconfig -p` prints it in parentheses; others take the first entry. */
const LDCONFIG_ARCH: Readonly<Record<string, string>> = { x64: 'x86-64', arm64: 'AArch64' };

/**
 * The path of libjemalloc.so.2 for this architecture from `ldconfig -p` output, if listed:
 * lines like "libjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2".
 */
export function jemallocFromLdconfig(listing: string, arch: string = process.arch): string | undefined {
  const wanted = LDCONFIG_ARCH[arch];
  for (const line of listing.split('\n')) {
    const m = /^\s*libjemalloc\.so\.2 \(([^)]*)\) => (\S+)\s*$/.exec(line);
    if (m && (wanted === undefined || (m[1] ?? '').includes(wanted))) return m[2];
  }
  return undefined;
}

let found: string | undefined;

/** Where this machine's libjemalloc.so.2 is, or undefined (once found, not looked up again: setup may install it meanwhile). */
export function jemallocLibrary(): string | undefined {
  if (found === undefined) {
    let listing = '';
    for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
      try {
        listing = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] });
        break;
      } catch {
        // the next place, then none
      }
    }
    const path = jemallocFromLdconfig(listing);
    found = path && existsSync(path) ? path : undefined;
  }
  return found;
}

/** The allocator a fleet host process should start with: jemalloc where the machine has it (`library`: null, none). */
export function fleetHostAllocator(library: string | null = jemallocLibrary() ?? null): HostAllocator {
  if (!library) return { name: 'glibc malloc', env: {}, note: 'glibc malloc (libjemalloc2 is not installed; `testbed setup` installs it: about 15 % less memory per wearable)' };
  // A user's own LD_PRELOAD is kept, after ours.
  const preload = [library, ...(process.env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((p) => p && p !== library)].join(':');
  return { name: 'jemalloc', env: { LD_PRELOAD: preload }, note: `jemalloc (${library})` };
}

/** Debian's multiarch directory in the base image, which is built for this machine's architecture (containers/base-image.ts). */
const MULTIARCH: Readonly<Record<string, string>> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/** The allocator of a fleet shard container or swarm task: the base image's libjemalloc2 (containers/base-image.ts BASE_PACKAGES). */
export function imageFleetAllocator(arch: string = process.arch): HostAllocator {
  const dir = MULTIARCH[arch];
  if (!dir) return { name: 'glibc malloc', env: {}, note: `glibc malloc (no known Debian multiarch directory for ${arch})` };
  const library = `/usr/lib/${dir}/libjemalloc.so.2`;
  return { name: 'jemalloc', env: { LD_PRELOAD: library }, note: `jemalloc (${library} in the base image)` };
}

/** glibc malloc on purpose: the same-run comparison in bench/fleet-memory.ts. */
export const GLIBC_MALLOC: HostAllocator = { name: 'glibc malloc', env: {}, note: 'glibc malloc' };
