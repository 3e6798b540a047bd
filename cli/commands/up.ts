/**
 * `testbed up` / `testbed status` / `testbed down` (docs/architecture.md §9 The CLI): start a graph and keep it
 * running for your own clients; the same api/up.ts `up()` the TypeScript API offers.
 */
import type { Command } from '../main.ts';
import { parseUpArgs, UP_USAGE } from '../up-args.ts';
import { liveUpState, processAlive, readUpState, removeUpState, stateFile, writeUpState, type UpState } from '../up-state.ts';
import { up, type RunningGraph } from '../../api/up.ts';
import { clientLines } from '../../api/client-lines.ts';
import { externalDeviceOf } from '../../api/up-graph.ts';
import { readProvisioning } from '../../emulators/provisioning.ts';
import { describeGraph } from '../../topology/graph.ts';
import { removeLeftovers } from '../../containers/run-labels.ts';
import { dockerDaemonStatus } from '../../containers/docker-daemon.ts';
import { parseOptions } from './options.ts';

/** Everything a user needs from a running graph, as JSON. */
export function upSummary(g: RunningGraph): Record<string, unknown> {
  const devices = readProvisioning(g.evidence.provisioning);
  return {
    placement: g.placement,
    recipe: g.graph.recipe,
    endpoints: g.endpoints,
    pki: g.pki,
    evidence: g.evidence,
    clients: clientLines({ endpoints: g.endpoints, pki: g.pki, evidence: g.evidence, devices, capturePorts: g.capturePorts }),
  };
}

export function humanSummary(state: UpState): string {
  const s = state.summary as { endpoints: { role: string; protocol: string; host: string; port: number; what: string }[]; pki: { caBundle: string; cloudCert: string; externalDevice: { id: string; chain: string; key: string } }; evidence: { dir: string; keyLog: string; auditLog: string; captures: { link: string; path: string }[] }; clients: { mosquittoPub?: string; mosquittoSub?: string; opensslSClient: Record<string, string>; tshark: Record<string, string>; wireshark?: Record<string, string> } };
  return [
    `testbed up: ${state.placement} placement, pid ${state.pid}, since ${state.startedAt}`,
    ...s.endpoints.map((e) => `  ${e.role.padEnd(13)} ${e.protocol} ${e.host}:${e.port}  ${e.what}`),
    `  CA ${s.pki.caBundle}`,
    `  cloud certificate ${s.pki.cloudCert}`,
    `  your device ${s.pki.externalDevice.id}: ${s.pki.externalDevice.chain} ${s.pki.externalDevice.key}`,
    `  evidence ${s.evidence.dir} (key log ${s.evidence.keyLog}, audit ${s.evidence.auditLog})`,
    ...(s.clients.mosquittoPub ? [`  publish:   ${s.clients.mosquittoPub}`] : []),
    ...(s.clients.mosquittoSub ? [`  subscribe: ${s.clients.mosquittoSub}`] : []),
    ...Object.entries(s.clients.opensslSClient).map(([role, line]) => `  s_client ${role}: ${line}`),
    ...Object.entries(s.clients.tshark).map(([link, line]) => `  ${link}: ${line}`),
    ...Object.entries(s.clients.wireshark ?? {}).map(([link, line]) => `  live ${link}: ${line}`),
    '  follow the audit: testbed tail audit; stop: testbed down (or Ctrl-C)',
  ].join('\n');
}

/** Remove what a dead `up` left (its state file; containers by their run labels). */
async function cleanStale(say: (line: string) => void): Promise<boolean> {
  const state = readUpState();
  if (!state || processAlive(state.pid)) return false;
  removeUpState();
  if ((state.placement === 'containers' || state.placement === 'swarm') && (await dockerDaemonStatus()).running) {
    const removed = await removeLeftovers();
    say(`testbed: a previous up (pid ${state.pid}) died; removed its state${removed ? ` and ${removed} containers/networks` : ''}`);
  } else say(`testbed: a previous up (pid ${state.pid}) died; removed its state (its roles ran in that process and ended with it)`);
  return true;
}

export const upCommand: Command = {
  summary: 'start a graph and keep it up for your own clients (endpoints, PKI, evidence, client lines as JSON)',
  usage: UP_USAGE,
  async run(args) {
    const request = parseUpArgs(args);
    if (request.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    const say = (line: string) => process.stderr.write(`${line}\n`);
    await cleanStale(say);
    const already = readUpState();
    if (already) {
      say(`testbed up: already running (pid ${already.pid}, ${already.placement}, ${already.dir}); see it with \`testbed status\`, stop it with \`testbed down\``);
      return 1;
    }
    say(describeGraph(request.graph));
    const graph = await up(request.graph, { placement: request.placement, readings: request.readings, ...(request.portBase ? { portBase: request.portBase } : {}), ...(request.dir ? { dir: request.dir } : {}) });
    const external = externalDeviceOf(request.graph);
    const state: UpState = {
      pid: process.pid,
      placement: graph.placement,
      dir: graph.evidence.dir,
      startedAt: new Date().toISOString(),
      emulatedDevices: graph.pki.devices ? Object.keys(graph.pki.devices).filter((d) => d !== external) : [],
      summary: upSummary(graph),
    };
    writeUpState(state);
    if (request.human) console.log(humanSummary(state));
    else {
      console.log(JSON.stringify(state.summary, null, 2));
      say(humanSummary(state));
    }
    // Stays up until `testbed down` (SIGTERM) or Ctrl-C (SIGINT). The state file goes first,
    // synchronously: the containers placement's own handler removes its containers and exits.
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        // A second signal while the graph goes down is ignored (not the default: exit at once).
        if (stopping) return;
        stopping = true;
        removeUpState();
        say(`testbed up: ${signal}; taking the graph down`);
        resolve();
      };
      // Before the containers placement's own handler (containers/run-labels.ts), which exits.
      process.prependListener('SIGINT', stop);
      process.prependListener('SIGTERM', stop);
    });
    await graph.down();
    say('testbed up: down; nothing left running');
    return 0;
  },
};

export const statusCommand: Command = {
  summary: 'what `testbed up` runs (endpoints, evidence), or that nothing runs',
  usage: 'status [--json]',
  async run(args) {
    const { values } = parseOptions('status', this.usage, args, { json: { type: 'boolean', default: false } });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    const state = readUpState();
    if (!state) {
      console.log('nothing runs; start a graph with `testbed up`');
      return 0;
    }
    if (!processAlive(state.pid)) {
      console.log(`nothing runs: the up of pid ${state.pid} (${state.placement}, ${state.dir}) died; \`testbed down\` or the next \`testbed up\` removes what it left`);
      return 1;
    }
    console.log(values.json ? JSON.stringify({ pid: state.pid, placement: state.placement, dir: state.dir, startedAt: state.startedAt, ...state.summary }, null, 2) : humanSummary(state));
    return 0;
  },
};

export const downCommand: Command = {
  summary: 'stop what `testbed up` runs (and remove what a killed one left)',
  usage: 'down',
  async run(args) {
    const { values } = parseOptions('down', this.usage, args, {});
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    const say = (line: string) => console.log(line);
    if (await cleanStale(say)) return 0;
    const state = readUpState();
    if (!state) {
      say('nothing runs; nothing to take down');
      return 0;
    }
    process.kill(state.pid, 'SIGTERM');
    // Bounded: a graph takes seconds to stop; after 60 s the process is killed and its leftovers removed by label.
    const deadline = Date.now() + 60_000;
    while (processAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (processAlive(state.pid)) {
      process.kill(state.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      await cleanStale(say);
    }
    removeUpState();
    say(`testbed down: stopped the ${state.placement} graph of pid ${state.pid}; evidence kept in ${state.dir}`);
    return 0;
  },
};

export { liveUpState, stateFile };
