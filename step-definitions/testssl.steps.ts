/**
 * testssl.sh against the broker of graphs started by api/up.ts `up()` with a broker policy
 * (features/testssl-policy.feature): the graph `testbed up --policy` starts, scanned from this
 * machine at the endpoint `up` prints.
 */
import { After, Given, Then, When, type DataTable } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestbedWorld } from './world.ts';
import { up, type RunningGraph } from '../api/up.ts';
import { UP_POLICIES, upGraph, type UpPolicy } from '../api/up-graph.ts';
import { serverPolicy } from '../emulators/tls-server-policy.ts';
import { currentPlacement } from '../topology/placements.ts';
import { TESTSSL_PROTOCOLS, testsslScan, untestedLocally, type TestsslCategory, type TestsslProtocol, type TestsslReport } from '../analysis/testssl.ts';

interface PolicyScan {
  readonly policy: UpPolicy;
  readonly graph: RunningGraph;
  report?: TestsslReport;
}

const scans = new WeakMap<TestbedWorld, PolicyScan[]>();
const PROTOCOL_OF: Readonly<Record<string, TestsslProtocol>> = { 'TLS 1': 'TLS1', 'TLS 1.1': 'TLS1_1', 'TLS 1.2': 'TLS1_2', 'TLS 1.3': 'TLS1_3' };
/** Node's and OpenSSL's version names, in order, as testssl names them. */
const VERSION_ORDER: Readonly<Record<string, TestsslProtocol>> = { TLSv1: 'TLS1', 'TLSv1.1': 'TLS1_1', 'TLSv1.2': 'TLS1_2', 'TLSv1.3': 'TLS1_3' };
/** The table's columns of cipher categories → testssl's `-s` categories (analysis/testssl.ts). */
const CATEGORY_COLUMNS: Readonly<Record<string, readonly TestsslCategory[]>> = {
  'CBC suites': ['AVERAGE'],
  'AEAD suites': ['STRONG'],
  'NULL, anonymous, export, LOW, 3DES': ['NULL', 'aNULL', 'EXPORT', 'LOW', '3DES_IDEA'],
};
/** Each scan is bounded; three run at once on a 2-core host (7 min at load 16 measured), so the bound is generous. */
const SCAN_TIMEOUT_MS = 600_000;

function scanned(world: TestbedWorld): PolicyScan[] {
  const s = scans.get(world);
  if (!s) throw new Error('no testbed is up in this scenario; start with "Given the testbed is up once for each of the … broker policies"');
  return s;
}

function reportOf(s: PolicyScan): TestsslReport {
  if (!s.report) throw new Error(`the "${s.policy}" broker was not scanned; run "When testssl.sh scans each broker's protocols and cipher categories, all at once" first`);
  return s.report;
}

function protocolList(text: string): TestsslProtocol[] {
  return text.split(',').map((p) => {
    const name = PROTOCOL_OF[p.trim()];
    if (!name) throw new Error(`unknown protocol "${p.trim()}" in the policy table; write TLS 1, TLS 1.1, TLS 1.2 or TLS 1.3`);
    return name;
  });
}

function offeredWord(text: string, column: string): boolean {
  if (text === 'offered') return true;
  if (text === 'not offered') return false;
  throw new Error(`the policy table's "${column}" column says "${text}"; write offered or not offered`);
}

Given('the testbed is up once for each of the {string}, {string} and {string} broker policies', { timeout: 360_000 }, async function (this: TestbedWorld, first: string, second: string, third: string) {
  const policies = [first, second, third];
  const placement = currentPlacement();
  const list: PolicyScan[] = [];
  scans.set(this, list);
  // One after the other: three container graphs starting at once overrun the roles' ready timeouts on a loaded host.
  for (const policy of policies) {
    if (!(UP_POLICIES as readonly string[]).includes(policy)) throw new Error(`unknown broker policy "${policy}"; use ${UP_POLICIES.join(', ')}`);
    const graph = upGraph({ broker: placement.defaultBroker, wearables: 1, path: 'terminating-gateway', policy: policy as UpPolicy });
    list.push({ policy: policy as UpPolicy, graph: await up(graph, { placement: placement.name, dir: join(this.dir, policy), readings: 0 }) });
  }
  this.attach(list.map((s) => `${s.policy}: ${s.graph.endpoint('cloud-broker').host}:${s.graph.endpoint('cloud-broker').port} (${s.graph.endpoint('cloud-broker').what})`).join('\n'), { mediaType: 'text/plain', fileName: 'brokers.txt' });
});

When("testssl.sh scans each broker's protocols and cipher categories, all at once", { timeout: SCAN_TIMEOUT_MS + 30_000 }, async function (this: TestbedWorld) {
  const list = scanned(this);
  await Promise.all(list.map(async (s) => {
    const e = s.graph.endpoint('cloud-broker');
    s.report = await testsslScan({ host: e.host, port: e.port, jsonFile: join(this.dir, `testssl-${s.policy}.json`), timeoutMs: SCAN_TIMEOUT_MS, checks: ['protocols', 'cipher-categories'] });
  }));
  this.attach(list.map((s) => {
    const r = reportOf(s);
    return `== ${s.policy}: ${r.commandLine}\ntook ${(r.elapsedMs / 1000).toFixed(1)} s\n${r.findings.map((f) => `${f.id}: ${f.finding}`).join('\n')}`;
  }).join('\n\n'), { mediaType: 'text/plain', fileName: 'testssl.txt' });
});

Then("testssl.sh's findings on this placement's broker match the policy table:", function (this: TestbedWorld, table: DataTable) {
  const list = scanned(this);
  const broker = currentPlacement().defaultBroker;
  const rows = table.hashes().filter((r) => r.broker === 'any' || r.broker === broker);
  const problems: string[] = [];
  for (const s of list) {
    const row = rows.find((r) => r.policy === s.policy);
    if (!row) throw new Error(`the policy table has no row for policy "${s.policy}" on broker ${broker} (nor "any")`);
    const report = reportOf(s);
    // --ssl-native: the local OpenSSL 3 cannot try SSLv2/SSLv3, EXPORT, LOW or 3DES, and neither can the brokers' (node's, Mosquitto's) OpenSSL 3.
    const untested = new Set(untestedLocally(report.findings));
    const unjudged = TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === undefined && !untested.has(p));
    if (unjudged.length) problems.push(`${s.policy}: testssl gave no verdict on ${unjudged.join(', ')}`);
    const offered = TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === true);
    const want = protocolList(row['protocols offered'] ?? '');
    if (offered.join() !== want.join()) problems.push(`${s.policy}: testssl found ${offered.join(', ') || 'no protocol'} offered, the table says ${want.join(', ')}`);
    for (const [column, categories] of Object.entries(CATEGORY_COLUMNS)) {
      const expected = offeredWord(row[column] ?? '', column);
      const tried = categories.filter((c) => !untested.has(`cipherlist_${c}`));
      const found = tried.map((c) => report.categories[c]);
      if (tried.length === 0) problems.push(`${s.policy}: testssl could try none of ${categories.join(', ')} with the local OpenSSL`);
      else if (found.some((v) => v === undefined)) problems.push(`${s.policy}: testssl gave no verdict on ${tried.filter((_, i) => found[i] === undefined).join(', ')}`);
      // A column is "offered" when any of its categories is; "not offered" when none is.
      else if (found.some(Boolean) !== expected) problems.push(`${s.policy}: testssl found ${column} (${tried.join(', ')}) ${found.some(Boolean) ? 'offered' : 'not offered'}, the table says ${expected ? 'offered' : 'not offered'}`);
    }
  }
  assert.deepEqual(problems, [], `testssl's findings differ from the policy table:\n  ${problems.join('\n  ')}`);
});

Then("every protocol testssl.sh reports offered lies within its broker's policy versions", function (this: TestbedWorld) {
  const order = Object.values(VERSION_ORDER);
  const outside = scanned(this).flatMap((s) => {
    const policy = serverPolicy(s.policy);
    const [min, max] = [order.indexOf(VERSION_ORDER[policy.minVersion] as TestsslProtocol), order.indexOf(VERSION_ORDER[policy.maxVersion] as TestsslProtocol)];
    const report = reportOf(s);
    return TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === true && !(order.indexOf(p) >= min && order.indexOf(p) <= max)).map((p) => `the "${s.policy}" broker offers ${p}, outside its policy's ${policy.minVersion}..${policy.maxVersion}`);
  });
  assert.deepEqual(outside, [], outside.join('; '));
});

Then('the policy offer testbed up printed beside each broker names the versions testssl.sh found', function (this: TestbedWorld) {
  const wrong = scanned(this).flatMap((s) => {
    const offers = s.graph.endpoint('cloud-broker').offers;
    if (!offers) return [`up printed no policy offer beside the "${s.policy}" broker`];
    const printed = offers.versions.map((v) => VERSION_ORDER[v]);
    const found = TESTSSL_PROTOCOLS.filter((p) => reportOf(s).protocols[p] === true);
    return printed.join() === found.join() ? [] : [`up printed ${offers.versions.join(', ')} for the "${s.policy}" broker; testssl found ${found.join(', ')}`];
  });
  assert.deepEqual(wrong, [], wrong.join('; '));
});

After({ tags: '@testssl' }, async function (this: TestbedWorld) {
  const list = scans.get(this);
  if (!list) return;
  scans.delete(this);
  await Promise.all(list.map((s) => s.graph.down().catch(() => undefined)));
});
