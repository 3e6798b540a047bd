/**
 * `testbed run`: the main job. Runs the scenario suite on a topology, shows progress per
 * scenario and a summary, and leaves in the run directory runs/<time>/ every scenario's evidence
 * (pcaps, TLS key log, audit log, PKI), the Cucumber HTML + JUnit reports (reports/, which
 * `reports` at the project root points at) and a summary page (index.html).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfiguration, loadSources, runCucumber } from '@cucumber/cucumber/api';
import type { Command } from '../main.ts';
import { PREREQUISITES, canInstallWithApt, installCommand, installMissing, isCi } from '../prerequisites.ts';
import { UsageError, parseOptions } from './options.ts';
import { addSkipReasons } from '../junit-skip-reasons.ts';
import { makeJUnitReadable } from '../junit-readable.ts';
import { discardReports, linkLatestReports, publishReports, redirectReports } from '../report-files.ts';
import { writeRunSummary } from '../run-summary.ts';
import { DEFAULT_KEEP_RUNS, KEEP_RUNS_ENV, keepRunsSetting, markWriting, pruneLine, pruneRuns } from '../run-retention.ts';
import { listLines, tagExpressionProblem } from '../scenario-list.ts';
import { scenarioRuns } from '../run-messages.ts';
import { ContainersTopology } from '../../topology/containers-topology.ts';
import { SwarmTopology } from '../../topology/swarm-topology.ts';

const TOPOLOGIES = ['local', 'containers', 'swarm'] as const;

/** Tools the feature files ask for with @needs-<tool> tags. */
export function neededTools(featureDir: string): string[] {
  const tools = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.feature')) for (const m of readFileSync(path, 'utf8').matchAll(/@needs-([a-z0-9-]+)/g)) tools.add(m[1] as string);
    }
  };
  walk(featureDir);
  const known = new Set(PREREQUISITES.map((p) => p.name));
  for (const t of tools) if (!known.has(t)) throw new Error(`a feature is tagged @needs-${t}, but "${t}" is no known prerequisite; known: ${[...known].join(', ')}`);
  return [...tools].sort();
}

export const runCommand: Command = {
  summary: 'run the scenario suite (the main job)',
  usage: 'run [--topology local|containers|swarm] [--tags EXPR] [--profile default|ci] [--list] [--dry-run] [--allow-empty] [--keep-runs N]',
  async run(args) {
    const { values } = parseOptions('run', this.usage, args, {
      topology: { type: 'string', default: 'local' },
      tags: { type: 'string' },
      profile: { type: 'string', default: 'default' },
      list: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'allow-empty': { type: 'boolean', default: false },
      'keep-runs': { type: 'string' },
    });
    if (values.help) {
      console.log([
        `usage: testbed ${this.usage}`, this.summary, 'Tag expressions follow Cucumber, e.g. --tags "@e3 and not @slow".',
        '  --list         the scenarios that would run (feature, name, tags); nothing runs',
        "  --dry-run      Cucumber's dry run: which scenarios would run and which steps are undefined",
        '  --allow-empty  a tag expression that matches no scenario is no error',
        `  --keep-runs N  after the run, keep the newest N runs/<time>/ directories and remove older ones (default ${DEFAULT_KEEP_RUNS}, or ${KEEP_RUNS_ENV})`,
      ].join('\n'));
      return 0;
    }
    const topology = values.topology as string;
    if (!(TOPOLOGIES as readonly string[]).includes(topology)) throw new UsageError(`--topology must be one of ${TOPOLOGIES.join(', ')}, got "${topology}"`);
    if (values.profile !== 'default' && values.profile !== 'ci') throw new UsageError(`--profile must be default or ci, got "${values.profile}"`);
    const keepRuns = keepRunsSetting(values['keep-runs']);
    if (!existsSync('features') || !existsSync('cucumber.json')) {
      console.error(`testbed run: no features/ directory or cucumber.json in ${process.cwd()}; run it from the project root (where features/ is)`);
      return 2;
    }
    const tagProblem = values.tags !== undefined ? tagExpressionProblem(values.tags) : undefined;
    if (tagProblem) {
      console.error(`testbed run: ${tagProblem}`);
      return 2;
    }
    const { runConfiguration } = await loadConfiguration({ profiles: [values.profile], provided: values.tags ? { tags: values.tags } : {} });
    const { plan, errors } = await loadSources(runConfiguration.sources);
    if (errors.length > 0) {
      console.error(`testbed run: a feature file does not parse: ${errors.map((e) => `${e.uri}${e.location ? `:${e.location.line}` : ''}: ${e.message.split('\n')[0]}`).join('; ')}`);
      return 2;
    }
    if (plan.length === 0 && !values['allow-empty']) {
      console.error(`testbed run: no scenario matches --tags "${values.tags ?? ''}"; check the tags (testbed run --list shows each scenario's), or pass --allow-empty if an empty run is what you want`);
      return 2;
    }
    if (values.list) {
      for (const line of listLines(plan)) console.log(line);
      console.log(`${plan.length} scenario${plan.length === 1 ? '' : 's'}`);
      return 0;
    }
    if (values['dry-run']) {
      console.log('dry run: each planned scenario with its steps matched to definitions; nothing runs, no report is written');
      return dryRun(runConfiguration);
    }

    const tools = neededTools('features');
    const missing = await installMissing(tools, (line) => console.log(line));
    if (missing.length > 0) {
      const fix = installCommand(missing.map((m) => m.prerequisite));
      if (isCi()) throw new Error(`missing prerequisites in CI: ${missing.map((m) => m.prerequisite.name).join(', ')}; install them with: ${fix}`);
      console.log(`Some prerequisites are missing; scenarios that need them will be reported as skipped.${canInstallWithApt() ? '' : ` As root, run: ${fix}`}`);
      for (const m of missing) console.log(`  - ${m.reason}`);
    }

    if (topology === 'containers') {
      // Docker up, images found or built, leftovers of killed runs removed: before the first
      // scenario, so no step timeout has to cover an image build (containers/).
      await installMissing(['docker', 'debootstrap'], (line) => console.log(line));
      await ContainersTopology.prepare((line) => console.log(line));
    }
    if (topology === 'swarm') {
      // The same images, and this node a swarm manager (`docker swarm init` if in no swarm).
      await installMissing(['docker', 'debootstrap'], (line) => console.log(line));
      await SwarmTopology.prepare((line) => console.log(line));
    }
    const runDir = resolve('runs', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const doneWriting = markWriting(runDir);
    process.env.TESTBED_RUN_DIR = runDir;
    process.env.TESTBED_TOPOLOGY = topology;
    console.log(`testbed: running scenarios on the ${topology} topology; evidence in ${runDir}`);

    // Reports go to runs/<time>/reports/ under temporary names, renamed once Cucumber is done.
    const { files, pending } = redirectReports(runConfiguration.formats.files, runDir);
    runConfiguration.formats.files = files;
    let success: boolean;
    try {
      ({ success } = await runCucumber(runConfiguration));
    } catch (err) {
      discardReports(pending);
      doneWriting();
      throw err;
    }
    publishReports(pending);
    const reportsDir = pending.dir;
    addSkipReasons(join(reportsDir, 'cucumber-junit.xml'), join(reportsDir, 'cucumber-messages.ndjson'));
    makeJUnitReadable(join(reportsDir, 'cucumber-junit.xml'), join(reportsDir, 'cucumber-messages.ndjson'));
    linkLatestReports(process.cwd(), runDir);
    const summary = writeRunSummary(runDir, join(reportsDir, 'cucumber-messages.ndjson'), topology);
    console.log(`reports: ${join(reportsDir, 'cucumber-report.html')} (HTML), ${join(reportsDir, 'cucumber-junit.xml')} (JUnit); reports/ points at them`);
    console.log(`evidence (pcaps, TLS key logs, audit logs, per-run PKI): ${runDir}/scenarios/`);
    if (summary) console.log(`run summary (matrices, pictures, scenarios): ${summary}`);
    doneWriting();
    const pruned = pruneLine(pruneRuns(process.cwd(), keepRuns, runDir));
    if (pruned) console.log(pruned);
    return success ? 0 : 1;
  },
};

/**
 * Cucumber's dry run: every planned scenario through the progress formatter, steps matched but
 * not run, then the steps no definition matches. No report is kept and `reports` is not moved.
 */
async function dryRun(runConfiguration: Awaited<ReturnType<typeof loadConfiguration>>['runConfiguration']): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'testbed-dry-run-'));
  const messages = join(dir, 'messages.ndjson');
  try {
    runConfiguration.runtime.dryRun = true;
    runConfiguration.formats.files = { [messages]: 'message' };
    const { success } = await runCucumber(runConfiguration);
    const undefinedSteps = scenarioRuns(readFileSync(messages, 'utf8')).flatMap((r) => r.undefinedSteps.map((step) => `undefined step: "${step}" (in "${r.name}")`));
    for (const line of undefinedSteps) console.log(line);
    console.log(undefinedSteps.length === 0 ? 'dry run: every step has a definition' : `dry run: ${undefinedSteps.length} undefined step${undefinedSteps.length === 1 ? '' : 's'}; define them in step-definitions/`);
    return success && undefinedSteps.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
