/**
 * wolfSSL with DTLS 1.3, built from Debian's own `wolfssl` source package (issue 12; the recipe
 * in the shared recipes). Debian's binary libwolfssl35 is configured without DTLS 1.3, so setup
 * fetches the source of the same version (with Debian's security patches), configures it out of
 * tree with DTLS 1.3, Connection ID and early data, and installs a static library into a
 * git-ignored prefix of the project. Static only (--disable-shared): the SONAME would be
 * libwolfssl.so.35, the same as Debian's package that lacks DTLS 1.3, so a dynamic link could
 * silently load the wrong copy.
 *
 * The deb-src entries are derived from the machine's own `deb` entries at run time: no mirror
 * host is ever written into the project (docs/architecture.md §8 The graph and its placements).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the build lives; all of it under wolfssl-bridge/build/ (git-ignored). */
export const WOLFSSL_BUILD = {
  root: join(projectRoot, 'wolfssl-bridge', 'build'),
  source: join(projectRoot, 'wolfssl-bridge', 'build', 'source'),
  objects: join(projectRoot, 'wolfssl-bridge', 'build', 'objects'),
  prefix: join(projectRoot, 'wolfssl-bridge', 'build', 'prefix'),
  /** The Debian source version the prefix was built from, written last (the cache key). */
  stamp: join(projectRoot, 'wolfssl-bridge', 'build', 'prefix', 'debian-source-version'),
} as const;

/** The command a person runs to build it (doctor and skip reasons print it). */
export const WOLFSSL_BUILD_COMMAND = 'node bin/testbed.js setup --only wolfssl   # as root, about 3 min on 2 cores';

/** Debian packages the build needs besides the source itself. */
export const WOLFSSL_BUILD_PACKAGES = ['dpkg-dev', 'autoconf', 'automake', 'libtool', 'make', 'gcc', 'libc6-dev'] as const;

/**
 * The recipe's configure flags. --enable-dtls13 also turns the stateless HelloRetryRequest
 * cookie on (RFC 9147 §5.1); --enable-dtlscid is RFC 9146/9147 Connection ID; --enable-earlydata
 * is RFC 8446 §4.2.10 0-RTT. 5.5.4 has no --enable-keylog-export: HAVE_SECRET_CALLBACK (set
 * through CPPFLAGS) gives wolfSSL_set_tls13_secret_cb, from which the bridge writes the NSS key
 * log for Wireshark.
 */
export const WOLFSSL_CONFIGURE_FLAGS = [
  '--enable-dtls', '--enable-dtls13', '--enable-tls13', '--enable-dtlscid', '--enable-earlydata',
  '--enable-session-ticket', '--enable-psk', '--enable-aesccm', '--enable-sni', '--enable-opensslextra',
  '--enable-certgen', '--enable-keygen', 'CPPFLAGS=-DHAVE_SECRET_CALLBACK',
  '--enable-static', '--disable-shared', '--disable-examples', '--disable-crypttests', '--disable-benchmark',
] as const;

/**
 * deb-src entries that mirror the machine's `deb` entries: deb822 stanzas whose Types include
 * `deb` are copied with `Types: deb-src` (URIs, Suites, Signed-By kept; Components main), and
 * one-line `deb ...` entries become `deb-src ...`. Returns '' when there is nothing to mirror.
 */
export function debSrcEntries(sources: readonly { readonly path: string; readonly text: string }[]): string {
  const out: string[] = [];
  for (const { path, text } of sources) {
    if (path.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const types = /^Types:\s*(.+)$/mi.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (!types.includes('deb') || /^Enabled:\s*no\b/mi.test(stanza)) continue;
        const kept = stanza.split('\n').filter((l) => /^(URIs|Suites|Signed-By):/i.test(l));
        if (!kept.some((l) => /^URIs:/i.test(l)) || !kept.some((l) => /^Suites:/i.test(l))) continue;
        out.push(['Types: deb-src', ...kept, 'Components: main'].join('\n'));
      }
    } else {
      for (const raw of text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim();
        if (/^deb\s/.test(line)) out.push(line.replace(/^deb\s/, 'deb-src '));
      }
    }
  }
  return out.join('\n\n');
}

function readAptSources(etcApt: string): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('testbed-')) continue; // our own derived file
      if (name.endsWith('.sources') || name.endsWith('.list')) found.push({ path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') });
    }
  }
  const list = join(etcApt, 'sources.list');
  if (existsSync(list)) found.push({ path: list, text: readFileSync(list, 'utf8') });
  return found;
}

type Say = (line: string) => void;

/** Run a command; stream a progress line every `every` ms and keep its output's tail for errors. */
function step(say: Say, label: string, cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    say(`wolfssl: ${label} ...`);
    const child = spawn(cmd, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...env } });
    let tail = '';
    let out = '';
    let lastLine = '';
    const keep = (b: Buffer): void => {
      const s = b.toString();
      out += s;
      if (out.length > 1_000_000) out = out.slice(-100_000);
      tail = (tail + s).slice(-4000);
      const lines = s.split('\n').filter((l) => l.trim());
      if (lines.length) lastLine = lines[lines.length - 1] as string;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const ticker = setInterval(() => say(`wolfssl:   ${label}: ${Math.round((Date.now() - started) / 1000)} s  ${lastLine.slice(0, 100)}`), 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(new Error(`wolfssl: ${label}: cannot run ${cmd}: ${err.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) {
        say(`wolfssl: ${label} done in ${Math.round((Date.now() - started) / 1000)} s`);
        resolvePromise(out);
      } else reject(new Error(`wolfssl: ${label} failed (${cmd} exit ${code}); output tail:\n${tail}\nFix the cause, then rerun: ${WOLFSSL_BUILD_COMMAND}`));
    });
  });
}

/**
 * The Debian source version `apt-get source` would fetch (the newest), read from the .dsc name in
 * `apt-get source --print-uris` output, e.g. 'wolfssl_5.5.4-2+deb12u3.dsc' -> 5.5.4-2+deb12u3.
 */
export function sourceVersionFrom(printUris: string): string | undefined {
  const escaped = /\bwolfssl_([^'\s/]+)\.dsc'/.exec(printUris)?.[1];
  return escaped === undefined ? undefined : decodeURIComponent(escaped); // the URI escapes '+' as %2b
}

/** The cache key: the source version and the flags (a changed flag list rebuilds too). */
export function buildStamp(version: string): string {
  return `${version} ${WOLFSSL_CONFIGURE_FLAGS.join(' ')}`;
}

/** The stamp recorded by the last successful build, if any. */
export function builtWolfsslVersion(): string | undefined {
  return existsSync(WOLFSSL_BUILD.stamp) ? readFileSync(WOLFSSL_BUILD.stamp, 'utf8').trim() : undefined;
}

/** Ensure deb-src entries exist (derived ones in a file of our own), then apt-get update. */
async function ensureDebSrc(say: Say, etcApt = '/etc/apt'): Promise<void> {
  const derived = debSrcEntries(readAptSources(etcApt));
  if (!derived) throw new Error(`wolfssl: no deb entries in ${etcApt}/sources.list(.d) to derive deb-src from; add the Debian archive to apt's sources, then rerun: ${WOLFSSL_BUILD_COMMAND}`);
  const target = join(etcApt, 'sources.list.d', 'testbed-deb-src.sources');
  const wanted = `# Written by the testbed (cli/wolfssl-build.ts): deb-src mirroring this machine's deb entries.\n${derived}\n`;
  if (!existsSync(target) || readFileSync(target, 'utf8') !== wanted) {
    writeFileSync(target, wanted, { mode: 0o644 });
    say(`wolfssl: wrote ${target} (deb-src for the machine's own deb entries)`);
  }
  await step(say, 'apt-get update', 'apt-get', ['update', '-qq'], '/');
}

/**
 * Build (or keep) the static wolfSSL with DTLS 1.3. Skips when the prefix was built from the
 * same Debian source version apt offers now.
 */
export async function buildWolfssl(say: Say): Promise<void> {
  await ensureDebSrc(say);
  await step(say, 'installing build tools', 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...WOLFSSL_BUILD_PACKAGES], '/');
  const version = sourceVersionFrom(await step(say, 'which wolfssl source apt offers', 'apt-get', ['source', '--print-uris', '-qq', 'wolfssl'], '/'));
  if (!version) throw new Error(`wolfssl: apt knows no wolfssl source package (apt-get source --print-uris wolfssl names no .dsc); check the deb-src entries, then rerun: ${WOLFSSL_BUILD_COMMAND}`);
  if (builtWolfsslVersion() === buildStamp(version) && existsSync(join(WOLFSSL_BUILD.prefix, 'lib', 'libwolfssl.a'))) {
    say(`wolfssl: ${version} already built in ${WOLFSSL_BUILD.prefix}`);
    return;
  }
  rmSync(WOLFSSL_BUILD.root, { recursive: true, force: true });
  mkdirSync(WOLFSSL_BUILD.source, { recursive: true });
  mkdirSync(WOLFSSL_BUILD.objects, { recursive: true });
  // apt-get source as root warns that _apt cannot read the directory; harmless.
  await step(say, `apt-get source wolfssl=${version}`, 'apt-get', ['source', '-qq', `wolfssl=${version}`], WOLFSSL_BUILD.source);
  const tree = readdirSync(WOLFSSL_BUILD.source).find((n) => /^wolfssl-\d/.test(n) && existsSync(join(WOLFSSL_BUILD.source, n, 'autogen.sh')));
  if (!tree) throw new Error(`wolfssl: apt-get source left no wolfssl-*/autogen.sh in ${WOLFSSL_BUILD.source}; rerun: ${WOLFSSL_BUILD_COMMAND}`);
  const src = join(WOLFSSL_BUILD.source, tree);
  await step(say, 'autogen (the tarball ships no configure)', './autogen.sh', [], src);
  await step(say, 'configure (out of tree, static, DTLS 1.3)', join(src, 'configure'), [`--prefix=${WOLFSSL_BUILD.prefix}`, ...WOLFSSL_CONFIGURE_FLAGS], WOLFSSL_BUILD.objects);
  await step(say, 'make -j2 (1-2 min)', 'make', ['-j2'], WOLFSSL_BUILD.objects);
  await step(say, 'make install', 'make', ['install'], WOLFSSL_BUILD.objects);
  const options = readFileSync(join(WOLFSSL_BUILD.prefix, 'include', 'wolfssl', 'options.h'), 'utf8');
  for (const macro of ['WOLFSSL_DTLS13', 'WOLFSSL_DTLS_CID', 'WOLFSSL_EARLY_DATA', 'HAVE_SECRET_CALLBACK']) {
    if (!new RegExp(`#define ${macro}\\b`).test(options)) throw new Error(`wolfssl: the build lacks ${macro} (options.h); the configure flags did not take; rerun: ${WOLFSSL_BUILD_COMMAND}`);
  }
  writeFileSync(WOLFSSL_BUILD.stamp, `${buildStamp(version)}\n`);
  say(`wolfssl: ${version} built with DTLS 1.3 into ${WOLFSSL_BUILD.prefix} (static)`);
}

/**
 * Whether the build is there and current: the static library and headers exist and were built
 * from the wolfssl source version apt offers now (read from apt's local lists, no network; when
 * this machine has no deb-src entries yet, the recorded build is taken as it is).
 */
export async function wolfsslBuildStatus(): Promise<{ available: boolean; version?: string; reason?: string }> {
  const stamp = builtWolfsslVersion();
  const lib = join(WOLFSSL_BUILD.prefix, 'lib', 'libwolfssl.a');
  if (!stamp || !existsSync(lib)) return { available: false, reason: `wolfssl with DTLS 1.3 is not built in ${WOLFSSL_BUILD.prefix} (needed for the DTLS 1.3 scenarios, @needs-wolfssl); build it with: ${WOLFSSL_BUILD_COMMAND}` };
  const built = stamp.split(' ')[0] as string;
  const offered = await new Promise<string | undefined>((resolvePromise) => {
    const child = spawn('apt-get', ['source', '--print-uris', '-qq', 'wolfssl'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', () => resolvePromise(undefined));
    child.on('exit', () => resolvePromise(sourceVersionFrom(out)));
  });
  if (stamp !== buildStamp(offered ?? built)) {
    return { available: false, version: built, reason: `wolfssl ${built} is built with other flags or Debian now offers ${offered ?? built}; rebuild it with: ${WOLFSSL_BUILD_COMMAND}` };
  }
  return { available: true, version: `wolfSSL ${built} (Debian source, static, DTLS 1.3) in ${WOLFSSL_BUILD.prefix}` };
}
