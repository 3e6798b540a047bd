/**
 * System prerequisites: the tools some scenarios need that npm cannot install (Debian packages).
 *
 * Where the user is root with apt (this machine kind, CI), `testbed setup` and `testbed run`
 * install what the selected scenarios need and say so, like Playwright's `install --with-deps`.
 * Elsewhere `testbed doctor` prints the exact command, and scenarios tagged `@needs-<tool>` are
 * reported as skipped with that reason — never silently. In CI a missing tool is a failure.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { jemallocLibrary } from '../topology/fleet-host-allocator.ts';
import { WOLFSSL_BUILD_COMMAND, WOLFSSL_BUILD_PACKAGES, buildWolfssl, wolfsslBuildStatus } from './wolfssl-build.ts';

const run = promisify(execFile);

/**
 * Whether this is a CI run: only CI=true or CI=1 (any case), as CI services set it. CI=false,
 * CI=0 or an empty CI is a developer's machine, where a missing tool is a skip, not a failure.
 */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(?:true|1)$/i.test((env.CI ?? '').trim());
}

/**
 * For unit tests that need a system tool: the skip reason on a developer's machine; in CI a
 * missing tool is a failure (the setup must have installed it), so this throws there.
 */
export function skipForMissingTool(reason: string, env: NodeJS.ProcessEnv = process.env): string {
  if (isCi(env)) throw new Error(`CI: ${reason} (in CI a missing tool fails the test; install it in the CI setup: npm run setup)`);
  return reason;
}

export interface Prerequisite {
  readonly name: string;
  /** Executable whose presence (and version output) proves the tool is there. */
  readonly binary: string;
  readonly versionArgs: readonly string[];
  readonly debianPackages: readonly string[];
  /**
   * A shared library rather than a program (`binary` is then unused): where it is on this
   * machine, or undefined when it is not installed.
   */
  readonly library?: () => string | undefined;
  /** Files a Debian package provides that the binary alone does not prove (e.g. Go sources). */
  readonly files?: readonly string[];
  /** Which scenarios or commands need it, for people. */
  readonly neededFor: string;
  /**
   * Built by the project rather than installed as is (wolfSSL with DTLS 1.3 from Debian's
   * source package): its own check, the command a person runs, and the build setup runs after
   * apt has installed `debianPackages` (the build tools).
   */
  readonly build?: {
    readonly command: string;
    status(): Promise<{ available: boolean; version?: string; reason?: string }>;
    run(say: (line: string) => void): Promise<void>;
  };
}

export const PREREQUISITES: readonly Prerequisite[] = [
  { name: 'tshark', binary: 'tshark', versionArgs: ['--version'], debianPackages: ['tshark'], neededFor: 'decrypting link captures with the run key log, as an analyst would in Wireshark (@needs-tshark)' },
  { name: 'tcpdump', binary: 'tcpdump', versionArgs: ['--version'], debianPackages: ['tcpdump'], neededFor: 'captures on real interfaces (@needs-tcpdump)' },
  { name: 'openssl', binary: 'openssl', versionArgs: ['version'], debianPackages: ['openssl'], neededFor: 'independent TLS/DTLS peers and certificate cross-checks (@needs-openssl)' },
  { name: 'mosquitto-clients', binary: 'mosquitto_pub', versionArgs: ['--help'], debianPackages: ['mosquitto-clients'], neededFor: 'an independent MQTT client (@needs-mosquitto-clients)' },
  { name: 'go', binary: 'go', versionArgs: ['version'], debianPackages: ['golang-go', 'golang-github-pion-dtls.v2-dev'], files: ['/usr/share/gocode/src/github.com/pion/dtls/v2'], neededFor: 'building the pion-based DTLS bridge (@needs-go)' },
  // dockerd, not docker: a lone docker CLI (e.g. /usr/local/bin/docker) cannot run containers.
  { name: 'docker', binary: 'dockerd', versionArgs: ['--version'], debianPackages: ['docker.io'], neededFor: 'the containers topology (@needs-docker)' },
  { name: 'sslscan', binary: 'sslscan', versionArgs: ['--version'], debianPackages: ['sslscan'], neededFor: 'cross-checking the broker\'s TLS versions and cipher suites with an independent scanner (@needs-sslscan)' },
  { name: 'testssl', binary: 'testssl', versionArgs: ['--help'], debianPackages: ['testssl.sh'], neededFor: 'scanning each broker policy\'s protocols with testssl.sh, an independent scanner, from this machine (@needs-testssl)' },
  { name: 'chromium', binary: 'chromium', versionArgs: ['--version'], debianPackages: ['chromium'], neededFor: 'the report test: opens the HTML report headless and checks every chart decodes (cli/html-report.test.ts)' },
  { name: 'debootstrap', binary: 'debootstrap', versionArgs: ['--version'], debianPackages: ['debootstrap'], neededFor: 'building the offline base image (@needs-debootstrap)' },
  { name: 'jemalloc', binary: '', library: jemallocLibrary, versionArgs: [], debianPackages: ['libjemalloc2'], neededFor: "the fleet's wearables process: about 15 % less memory per wearable than glibc malloc (topology/fleet-host-allocator.ts; without it the fleet runs on glibc malloc)" },
  { name: 'wolfssl', binary: 'gcc', versionArgs: ['--version'], debianPackages: WOLFSSL_BUILD_PACKAGES, neededFor: 'DTLS 1.3 and TLS 1.3 early data through wolfssl-bridge, built from Debian\'s wolfssl source package (@needs-wolfssl)', build: { command: WOLFSSL_BUILD_COMMAND, status: wolfsslBuildStatus, run: buildWolfssl } },
];

export interface PrerequisiteStatus {
  readonly prerequisite: Prerequisite;
  readonly available: boolean;
  readonly version?: string;
  /** Why it is not available, and the command that fixes it. */
  readonly reason?: string;
}

export function installCommand(prerequisites: readonly Prerequisite[]): string {
  const packages = [...new Set(prerequisites.flatMap((p) => p.debianPackages))];
  const builds = prerequisites.flatMap((p) => (p.build ? [p.build.command.replace(/\s*#.*$/, '')] : []));
  return [`apt-get update && apt-get install -y ${packages.join(' ')}`, ...builds].join(' && ');
}

export function findPrerequisite(name: string): Prerequisite {
  const p = PREREQUISITES.find((x) => x.name === name);
  if (!p) throw new Error(`prerequisites: unknown tool "${name}"; known: ${PREREQUISITES.map((x) => x.name).join(', ')}`);
  return p;
}

export async function checkPrerequisite(p: Prerequisite): Promise<PrerequisiteStatus> {
  if (p.build) {
    const built = await p.build.status();
    return { prerequisite: p, ...built };
  }
  if (p.library) {
    const path = p.library();
    return path ? { prerequisite: p, available: true, version: path } : { prerequisite: p, available: false, reason: `${p.name} is not installed (needed for ${p.neededFor}); install it with: ${installCommand([p])}` };
  }
  const absent = (p.files ?? []).filter((f) => !existsSync(f));
  if (absent.length > 0) return { prerequisite: p, available: false, reason: `${p.name}: ${absent.join(', ')} missing (needed for ${p.neededFor}); install it with: ${installCommand([p])}` };
  try {
    const { stdout, stderr } = await run(p.binary, [...p.versionArgs], { timeout: 10_000 });
    const lines = (stdout || stderr).split('\n').filter((l) => l.trim());
    const version = (lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0])?.trim();
    return { prerequisite: p, available: true, ...(version ? { version } : {}) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    // mosquitto_pub --help exits non-zero but proves the binary runs.
    if (e.code !== 'ENOENT' && (e.stdout || e.stderr)) {
      const lines = (e.stdout || e.stderr || '').split('\n');
      return { prerequisite: p, available: true, version: (lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0] ?? '').trim() };
    }
    return { prerequisite: p, available: false, reason: `${p.name} is not installed (needed for ${p.neededFor}); install it with: ${installCommand([p])}` };
  }
}

const cache = new Map<string, Promise<PrerequisiteStatus>>();

/** Cached check by name, for steps and hooks. */
export function prerequisite(name: string): Promise<PrerequisiteStatus> {
  let status = cache.get(name);
  if (!status) {
    status = checkPrerequisite(findPrerequisite(name));
    cache.set(name, status);
  }
  return status;
}

export function canInstallWithApt(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

/**
 * Install the missing prerequisites with apt, saying what is installed and why. Returns the
 * ones still missing afterwards.
 */
export async function installMissing(names: readonly string[], say: (line: string) => void): Promise<PrerequisiteStatus[]> {
  const statuses = await Promise.all(names.map((n) => checkPrerequisite(findPrerequisite(n))));
  const missing = statuses.filter((s) => !s.available);
  if (missing.length === 0) return [];
  if (!canInstallWithApt()) return missing;
  const packages = [...new Set(missing.flatMap((s) => s.prerequisite.debianPackages))];
  say(`Installing system prerequisites with apt: ${packages.join(' ')}`);
  for (const s of missing) say(`  - ${s.prerequisite.name}: for ${s.prerequisite.neededFor}`);
  const apt = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      let tail = '';
      const keep = (b: Buffer) => (tail = (tail + b.toString()).slice(-4000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} failed (exit ${code}):\n${tail}`))));
    });
  await apt(['update', '-qq']);
  await apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  for (const s of missing) if (s.prerequisite.build) await s.prerequisite.build.run(say);
  for (const n of names) cache.delete(n);
  const after = await Promise.all(names.map((n) => checkPrerequisite(findPrerequisite(n))));
  return after.filter((s) => !s.available);
}
