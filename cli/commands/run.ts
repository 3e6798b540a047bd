/**
 * `testbed run`: the main job. Runs the scenario suite on a topology, shows progress per
 * scenario and a summary, and leaves Cucumber HTML + JUnit in reports/ and every scenario's
 * evidence (pcaps, TLS key log, audit log, PKI) in the run directory.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import type { Command } from '../main.ts';
import { PREREQUISITES, canInstallWithApt, installCommand, installMissing, isCi } from '../prerequisites.ts';
import { parseOptions } from './options.ts';
import { addSkipReasons } from '../junit-skip-reasons.ts';
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
  usage: 'run [--topology local|containers|swarm] [--tags EXPR] [--profile default|ci]',
  async run(args) {
    const { values } = parseOptions('run', this.usage, args, {
      topology: { type: 'string', default: 'local' },
      tags: { type: 'string' },
      profile: { type: 'string', default: 'default' },
    });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}\nTag expressions follow Cucumber, e.g. --tags "@e3 and not @slow".`);
      return 0;
    }
    const topology = values.topology as string;
    if (!(TOPOLOGIES as readonly string[]).includes(topology)) throw new Error(`--topology must be one of ${TOPOLOGIES.join(', ')}, got "${topology}"`);
    if (values.profile !== 'default' && values.profile !== 'ci') throw new Error(`--profile must be default or ci, got "${values.profile}"`);

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
    mkdirSync('reports', { recursive: true });
    process.env.TESTBED_RUN_DIR = runDir;
    process.env.TESTBED_TOPOLOGY = topology;
    console.log(`testbed: running scenarios on the ${topology} topology; evidence in ${runDir}`);

    const { runConfiguration } = await loadConfiguration({ profiles: [values.profile], provided: values.tags ? { tags: values.tags } : {} });
    const { success } = await runCucumber(runConfiguration);
    addSkipReasons('reports/cucumber-junit.xml', 'reports/cucumber-messages.ndjson');
    console.log(`reports: ${resolve('reports/cucumber-report.html')} (HTML), ${resolve('reports/cucumber-junit.xml')} (JUnit)`);
    console.log(`evidence (pcaps, TLS key logs, audit logs, per-run PKI): ${runDir}/scenarios/`);
    return success ? 0 : 1;
  },
};
