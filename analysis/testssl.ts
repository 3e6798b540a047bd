/**
 * testssl.sh (Debian package `testssl.sh`, an independent scanner) against one TLS endpoint,
 * narrowed to what the policy table states: which protocol versions are offered (`-p`). Its
 * sockets read the ServerHello, so it needs no client certificate for this even against a
 * broker that demands one (mutual TLS fails later in the handshake). testssl is slow (a bash
 * program forking for every probe): the run is bounded in time and its cost is measured.
 */
import { readFileSync, rmSync } from 'node:fs';
import { runBounded } from '../emulators/external-clients.ts';

export const TESTSSL_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3'] as const;
export type TestsslProtocol = (typeof TESTSSL_PROTOCOLS)[number];

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
  readonly elapsedMs: number;
}

/** testssl's flat JSON (--jsonfile): an array of { id, severity, finding, … }. */
export function parseTestsslJson(text: string): TestsslFinding[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('testssl: the --jsonfile output is not a JSON array');
  return parsed.map((f: { id?: unknown; severity?: unknown; finding?: unknown }) => ({ id: String(f.id), severity: String(f.severity), finding: String(f.finding) }));
}

/** "offered", "offered (OK)", "offered (deprecated)" → true; "not offered…" → false. */
export function protocolsOf(findings: readonly TestsslFinding[]): Partial<Record<TestsslProtocol, boolean>> {
  const out: Partial<Record<TestsslProtocol, boolean>> = {};
  for (const f of findings) {
    if ((TESTSSL_PROTOCOLS as readonly string[]).includes(f.id)) {
      if (/^not offered/.test(f.finding)) out[f.id as TestsslProtocol] = false;
      else if (/^offered/.test(f.finding)) out[f.id as TestsslProtocol] = true;
    }
  }
  return out;
}

export async function testsslProtocols(o: { host: string; port: number; jsonFile: string; timeoutMs: number }): Promise<TestsslReport> {
  rmSync(o.jsonFile, { force: true });
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '--openssl', '/usr/bin/openssl', '--connect-timeout', '5', '--openssl-timeout', '5', '-p', '--jsonfile', o.jsonFile, `${o.host}:${o.port}`];
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
  return { commandLine: run.command, findings, protocols: protocolsOf(findings), elapsedMs };
}
