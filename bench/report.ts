/**
 * The Cucumber HTML report's size and the time Chromium takes to open it, with the pcaps linked
 * (what `testbed run` writes now) against the same report with every linked pcap embedded as an
 * attachment (what it wrote before), both built in this run from the same run messages; and, from
 * the same messages, the linked report without the silent hook steps of step files' After hooks in
 * other features' scenarios (what tagging those hooks removed) and without every silent hook step:
 *
 *   node --import tsx bench/report.ts [--rounds N] RUN_DIR…      (default 3 rounds, at most 10)
 *
 * RUN_DIR is a runs/<time>/ directory of a finished `testbed run`; several are merged into one
 * report (e.g. the TLS and DTLS matrices and resumption: ~260 scenarios, the full-suite
 * size). Load time: from navigation until the report has drawn its first feature, median of the
 * rounds, embedded and linked alternating. Exit code 0 (informational), 2 on bad arguments.
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CucumberHtmlStream } from '@cucumber/html-formatter';
import type * as messages from '@cucumber/messages';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function usage(problem: string): never {
  console.error(`bench/report: ${problem}\nusage: node --import tsx bench/report.ts [--rounds N] RUN_DIR…   (RUN_DIR: a runs/<time>/ directory with reports/cucumber-messages.ndjson)`);
  process.exit(2);
}

function parseArgs(argv: string[]): { rounds: number; runs: string[] } {
  let rounds = 3;
  const runs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) usage(`--rounds must be a whole number from 1 to 10, got ${argv[i] ?? '(nothing)'}`);
    } else runs.push(resolve(argv[i] as string));
  }
  if (runs.length === 0) usage('name at least one run directory');
  for (const r of runs) if (!existsSync(join(r, 'reports', 'cucumber-messages.ndjson'))) usage(`${r} has no reports/cucumber-messages.ndjson (a run directory of testbed run, after the run)`);
  return { rounds, runs };
}

/** The runs' envelopes as one run: one meta and run start (the first), one run end (the last). */
function mergedEnvelopes(runs: readonly string[]): { envelope: messages.Envelope; run: string }[] {
  const out: { envelope: messages.Envelope; run: string }[] = [];
  let finished: messages.Envelope | undefined;
  runs.forEach((run, i) => {
    for (const line of readFileSync(join(run, 'reports', 'cucumber-messages.ndjson'), 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as messages.Envelope;
      if (e.testRunFinished) finished = e;
      else if (i === 0 || !(e.meta || e.testRunStarted)) out.push({ envelope: e, run });
    }
  });
  if (finished) out.push({ envelope: finished, run: runs.at(-1) as string });
  return out;
}

/** The old report: each pcap a linked attachment names, embedded beside the link as its bytes. */
function withPcapsEmbedded(all: { envelope: messages.Envelope; run: string }[]): messages.Envelope[] {
  return all.flatMap(({ envelope, run }) => {
    const a = envelope.attachment;
    if (!a || a.mediaType !== 'text/uri-list') return [envelope];
    const pcaps = a.body.split('\n').filter((l) => l.endsWith('.pcap')).map((l) => join(run, l.replace(/^run\//, ''))).filter((p) => existsSync(p));
    return [envelope, ...pcaps.map((p): messages.Envelope => ({ attachment: { ...a, body: readFileSync(p).toString('base64'), contentEncoding: 'BASE64' as messages.AttachmentContentEncoding, mediaType: 'application/vnd.tcpdump.pcap', fileName: p.split('/').at(-1) as string } }))];
  });
}

/** Which silent hook steps a variant leaves out: every one, or only those of a step file whose steps the scenario does not use. */
type HookCut = 'every silent hook' | 'hooks outside their feature';

/**
 * The same report without hook steps that left nothing to see (passed, no attachment); each is a
 * testStep in its test case plus a started and a finished message. `hooks outside their feature`
 * leaves out a hook defined in a step file (not step-definitions/hooks.ts) in a scenario that
 * uses none of that file's steps: what tagging those After hooks does (cli/step-hook-tags.test.ts
 * keeps each running wherever its file's steps are used), applied to messages written before.
 * `every silent hook` is the most merging hooks could save.
 */
function withoutSilentHooks(envelopes: messages.Envelope[], cut: HookCut): messages.Envelope[] {
  const hookFile = new Map(envelopes.flatMap((e) => (e.hook ? [[e.hook.id, e.hook.sourceReference.uri ?? '']] : [])));
  const stepFile = new Map(envelopes.flatMap((e) => (e.stepDefinition ? [[e.stepDefinition.id, e.stepDefinition.sourceReference.uri ?? '']] : [])));
  const stepFiles = new Set(stepFile.values());
  const candidates = new Set<string>();
  for (const testCase of envelopes.flatMap((e) => (e.testCase ? [e.testCase] : []))) {
    const used = new Set(testCase.testSteps.flatMap((t) => (t.stepDefinitionIds ?? []).map((id) => stepFile.get(id))));
    for (const t of testCase.testSteps) {
      const file = t.hookId === undefined ? undefined : hookFile.get(t.hookId);
      if (file === undefined) continue;
      if (cut === 'every silent hook' || (stepFiles.has(file) && !used.has(file))) candidates.add(t.id);
    }
  }
  for (const e of envelopes) {
    if (e.attachment?.testStepId) candidates.delete(e.attachment.testStepId);
    if (e.testStepFinished && e.testStepFinished.testStepResult.status !== 'PASSED') candidates.delete(e.testStepFinished.testStepId);
  }
  return envelopes.flatMap((e): messages.Envelope[] => {
    if (e.testCase) return [{ testCase: { ...e.testCase, testSteps: e.testCase.testSteps.filter((t) => !candidates.has(t.id)) } }];
    const stepId = e.testStepStarted?.testStepId ?? e.testStepFinished?.testStepId;
    return stepId !== undefined && candidates.has(stepId) ? [] : [e];
  });
}

async function writeReport(envelopes: messages.Envelope[], path: string): Promise<number> {
  await pipeline(Readable.from(envelopes), new CucumberHtmlStream(), createWriteStream(path));
  return statSync(path).size;
}

async function loadMs(browser: Awaited<ReturnType<typeof chromium.launch>>, path: string, drawn: 'a feature' | 'the search box' = 'a feature'): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  try {
    const started = performance.now();
    await page.goto(`file://${path}`, { timeout: 60_000 });
    await (drawn === 'a feature' ? page.getByText('.feature') : page.getByPlaceholder(/search/i)).first().waitFor({ timeout: 60_000 });
    return performance.now() - started;
  } finally {
    await page.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const { rounds, runs } = parseArgs(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) usage(`${CHROMIUM} is missing; install it with: apt-get install -y chromium`);
  const all = mergedEnvelopes(runs);
  const scenarios = all.filter(({ envelope }) => envelope.testCaseStarted).length;
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const linked = join(dir, 'linked.html');
    const embedded = join(dir, 'embedded.html');
    const empty = join(dir, 'empty.html');
    const quiet = join(dir, 'quiet-hooks.html');
    const tagged = join(dir, 'tagged-hooks.html');
    // The floor: the same page with no scenario, to tell the report's cost from this host's.
    const emptyBytes = await writeReport(all.map((x) => x.envelope).filter((e) => e.meta || e.testRunStarted || e.testRunFinished), empty);
    const linkedBytes = await writeReport(all.map((x) => x.envelope), linked);
    const embeddedBytes = await writeReport(withPcapsEmbedded(all), embedded);
    const taggedBytes = await writeReport(withoutSilentHooks(all.map((x) => x.envelope), 'hooks outside their feature'), tagged);
    const quietBytes = await writeReport(withoutSilentHooks(all.map((x) => x.envelope), 'every silent hook'), quiet);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const times: Record<'linked' | 'embedded' | 'empty' | 'tagged' | 'quiet', number[]> = { linked: [], embedded: [], empty: [], tagged: [], quiet: [] };
    try {
      await loadMs(browser, linked); // warm-up: Chromium's own start-up is not the report's
      for (let r = 0; r < rounds; r++) {
        times.embedded.push(await loadMs(browser, embedded));
        times.linked.push(await loadMs(browser, linked));
        times.tagged.push(await loadMs(browser, tagged));
        times.quiet.push(await loadMs(browser, quiet));
        times.empty.push(await loadMs(browser, empty, 'the search box'));
      }
    } finally {
      await browser.close();
    }
    const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    console.log(`report of ${scenarios} scenarios from ${runs.length} run(s); Chromium load until the first feature is drawn, median of ${rounds}`);
    console.log(`  pcaps embedded (baseline)       ${mb(embeddedBytes).padStart(9)}  ${s(median(times.embedded)).padStart(7)}   (${times.embedded.map(s).join(', ')})`);
    console.log(`  pcaps linked                     ${mb(linkedBytes).padStart(9)}  ${s(median(times.linked)).padStart(7)}   (${times.linked.map(s).join(', ')})`);
    console.log(`  linked, step-file hooks tagged   ${mb(taggedBytes).padStart(9)}  ${s(median(times.tagged)).padStart(7)}   (${times.tagged.map(s).join(', ')})`);
    console.log(`  linked, every silent hook cut    ${mb(quietBytes).padStart(9)}  ${s(median(times.quiet)).padStart(7)}   (${times.quiet.map(s).join(', ')})`);
    console.log(`  no scenario (floor)              ${mb(emptyBytes).padStart(9)}  ${s(median(times.empty)).padStart(7)}   (${times.empty.map(s).join(', ')})`);
    console.log(`  linked / embedded                size ${(linkedBytes / embeddedBytes).toFixed(2)}×, load ${(median(times.linked) / median(times.embedded)).toFixed(2)}×`);
    console.log(`  hooks tagged / linked            size ${(taggedBytes / linkedBytes).toFixed(2)}×, load ${(median(times.tagged) / median(times.linked)).toFixed(2)}×`);
    console.log(`  every silent hook cut / linked   size ${(quietBytes / linkedBytes).toFixed(2)}×, load ${(median(times.quiet) / median(times.linked)).toFixed(2)}×`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
