/**
 * testssl.sh (Debian package `testssl.sh`, an independent scanner) against one TLS endpoint,
 * narrowed to what the policy table states: which protocol versions are offered (`-p`) and which
 * of its standard cipher categories (`-s`: NULL, anonymous, export, LOW, 3DES/IDEA, the
 * obsoleted CBC suites it calls AVERAGE, and STRONG: AEAD) the server accepts. Its
 * sockets read the ServerHello, so it needs no client certificate for this even against a
 * broker that demands one (mutual TLS fails later in the handshake). testssl is slow (a bash
 * program forking for every probe): the run is bounded in time and its cost is measured.
 */
import { readFileSync, rmSync } from 'node:fs';
import { runBounded } from '../emulators/external-clients.ts';

export const TESTSSL_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3'] as const;
export type TestsslProtocol = (typeof TESTSSL_PROTOCOLS)[number];

/**
 * testssl 3.0.8's `-s` categories, by the JSON id's suffix (`cipherlist_<name>`). AVERAGE holds
 * the CBC suites RFC 9325 §4.2 retires (SHA-1/SHA-2 HMAC, no AEAD); STRONG the AEAD suites.
 */
export const TESTSSL_CATEGORIES = ['NULL', 'aNULL', 'EXPORT', 'LOW', '3DES_IDEA', 'AVERAGE', 'STRONG'] as const;
export type TestsslCategory = (typeof TESTSSL_CATEGORIES)[number];

/** What testssl scans: `-p` protocols, `-s` standard cipher categories. */
export type TestsslCheck = 'protocols' | 'cipher-categories';
const CHECK_FLAG: Record<TestsslCheck, string> = { protocols: '-p', 'cipher-categories': '-s' };

export interface TestsslFinding {
  readonly id: string;
  readonly severity: string;
  readonly finding: string;
}

export interface TestsslReport {
  readonly commandLine: string;
  readonly findings: readonly TestsslFinding[];
  /** Protocol → offered (true) / not offered (false); absent when testssl did not get to it. */
  readonly protocols: Partial<Record<TestsslProtocol, boolean>>;
  /** Cipher category → offered / not offered (`-s`); absent when not scanned or not judged. */
  readonly categories: Partial<Record<TestsslCategory, boolean>>;
  readonly elapsedMs: number;
}

/** testssl's flat JSON (--jsonfile): an array of { id, severity, finding, … }. */
export function parseTestsslJson(text: string): TestsslFinding[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('testssl: the --jsonfile output is not a JSON array');
  return parsed.map((f: { id?: unknown; severity?: unknown; finding?: unknown }) => ({ id: String(f.id), severity: String(f.severity), finding: String(f.finding) }));
}

/** "offered", "offered (OK)", "offered (deprecated)" → true; "not offered…" → false; anything else: no verdict. */
function verdictOf(finding: string): boolean | undefined {
  if (/^not offered/.test(finding)) return false;
  if (/^offered/.test(finding)) return true;
  return undefined;
}

/**
 * With `--ssl-native` testssl asks the local OpenSSL only (no bash-parsed sockets: about half the
 * CPU), and says what that OpenSSL 3 cannot try: SSLv2/SSLv3 "not tested due to lack of local
 * support", EXPORT/LOW/3DES "not supported by local OpenSSL". Those checks are named here.
 */
export function untestedLocally(findings: readonly TestsslFinding[]): string[] {
  return findings.filter((f) => /lack of local support|not supported by local OpenSSL/.test(f.finding)).map((f) => f.id);
}

/** Verdicts of the findings whose id is `${prefix}${name}` for one of `names`. */
function verdicts<N extends string>(findings: readonly TestsslFinding[], names: readonly N[], prefix = ''): Partial<Record<N, boolean>> {
  const out: Partial<Record<N, boolean>> = {};
  for (const f of findings) {
    const name = f.id.startsWith(prefix) ? f.id.slice(prefix.length) : undefined;
    const verdict = verdictOf(f.finding);
    if (name !== undefined && (names as readonly string[]).includes(name) && verdict !== undefined) out[name as N] = verdict;
  }
  return out;
}

export function protocolsOf(findings: readonly TestsslFinding[]): Partial<Record<TestsslProtocol, boolean>> {
  return verdicts(findings, TESTSSL_PROTOCOLS);
}

export function categoriesOf(findings: readonly TestsslFinding[]): Partial<Record<TestsslCategory, boolean>> {
  return verdicts(findings, TESTSSL_CATEGORIES, 'cipherlist_');
}

/** One testssl run doing every check asked for (one start-up: testssl spends ~20 s initialising under load). */
export async function testsslScan(o: { host: string; port: number; jsonFile: string; timeoutMs: number; checks: readonly TestsslCheck[]; nativeOpenssl?: boolean }): Promise<TestsslReport> {
  if (o.checks.length === 0) throw new Error('testssl: name at least one check (protocols, cipher-categories)');
  rmSync(o.jsonFile, { force: true });
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '--openssl', '/usr/bin/openssl', '--connect-timeout', '5', '--openssl-timeout', '5', ...(o.nativeOpenssl ? ['--ssl-native'] : []), ...o.checks.map((c) => CHECK_FLAG[c]), '--jsonfile', o.jsonFile, `${o.host}:${o.port}`];
  const started = Date.now();
  const run = await runBounded('testssl', args, { timeoutMs: o.timeoutMs });
  const elapsedMs = Date.now() - started;
  if (run.timedOut) throw new Error(`testssl did not finish within ${o.timeoutMs / 1000} s (${run.command}); a loaded machine slows it (it forks for every probe)`);
  let findings: TestsslFinding[];
  try {
    findings = parseTestsslJson(readFileSync(o.jsonFile, 'utf8'));
  } catch (err) {
    throw new Error(`testssl wrote no readable ${o.jsonFile} (exit ${run.exitCode}): ${(err as Error).message}; its output: ${(run.stdout + run.stderr).trim().slice(-400)}`, { cause: err });
  }
  const fatal = findings.find((f) => f.severity === 'FATAL');
  if (fatal) throw new Error(`testssl gave up on ${o.host}:${o.port}: ${fatal.finding} (${run.command}); is the graph still up?`);
  return { commandLine: run.command, findings, protocols: protocolsOf(findings), categories: categoriesOf(findings), elapsedMs };
}
