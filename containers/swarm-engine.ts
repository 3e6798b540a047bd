/**
 * Docker Swarm for the `swarm` placement: make this node a one-node swarm if it is in none,
 * start services from containers/swarm-service-spec.ts argument lists, wait for their tasks,
 * find a task's container (for a capture sidecar and its logs), and remove everything a run
 * created by its labels (containers/run-labels.ts) — after each scenario, on a failed start,
 * on Ctrl-C, and at the next start for what a killed run left.
 *
 * Every docker call goes through a runner (docker-cli.ts by default) so tests can stand in for
 * a docker that is missing or a swarm that cannot be made.
 */
import { execFileSync } from 'node:child_process';
import { docker, type DockerResult } from './docker-cli.ts';
import { PID_LABEL, RUN_LABEL, alive, removeRun } from './run-labels.ts';

export type DockerRunner = (args: readonly string[], options?: { timeoutMs?: number }) => Promise<DockerResult>;

/** How this node advertises itself when it makes a swarm: loopback, as nothing else may reach it here. */
export const SWARM_INIT_ARGS = ['swarm', 'init', '--advertise-addr', '127.0.0.1'] as const;
const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
const TASK_NAME_LABEL = 'com.docker.swarm.task.name';

export interface SwarmState {
  /** docker info's Swarm.LocalNodeState: inactive, pending, active, error, locked. */
  readonly localNodeState: string;
  /** Whether this node is a manager (only managers create services). */
  readonly controlAvailable: boolean;
}

/** What to do about this node's swarm state: nothing, init, or refuse with what to run. */
export function swarmDecision(state: SwarmState): { action: 'ready' } | { action: 'init' } | { action: 'refuse'; reason: string } {
  if (state.localNodeState === 'active' && state.controlAvailable) return { action: 'ready' };
  if (state.localNodeState === 'active') return { action: 'refuse', reason: 'swarm: this node is a swarm worker, and only a manager creates services; run the testbed on a manager, or promote this node there with `docker node promote <this node>`' };
  if (state.localNodeState === 'inactive') return { action: 'init' };
  if (state.localNodeState === 'locked') return { action: 'refuse', reason: 'swarm: this node\'s swarm is locked (autolock); unlock it with `docker swarm unlock` and the unlock key' };
  return { action: 'refuse', reason: `swarm: this node's swarm state is "${state.localNodeState || 'unknown'}"; see \`docker info\`, or leave it with \`docker swarm leave --force\` and let the testbed make a one-node swarm` };
}

export async function swarmState(run: DockerRunner = docker): Promise<SwarmState> {
  const { stdout } = await run(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'], { timeoutMs: 20_000 });
  const [localNodeState = '', control = ''] = stdout.trim().split(/\s+/);
  return { localNodeState, controlAvailable: control === 'true' };
}

/**
 * Be a swarm manager: if this node is in no swarm, `docker swarm init --advertise-addr 127.0.0.1`
 * makes it a one-node swarm (idempotent: an active manager is left as it is). Refuses in one line
 * that says what to run when the node cannot be made one.
 */
export async function ensureSwarm(say: (line: string) => void = () => undefined, run: DockerRunner = docker): Promise<void> {
  const decision = swarmDecision(await swarmState(run));
  if (decision.action === 'ready') return;
  if (decision.action === 'refuse') throw new Error(decision.reason);
  try {
    await run([...SWARM_INIT_ARGS], { timeoutMs: 60_000 });
  } catch (err) {
    throw new Error(`swarm: this node is in no swarm, and \`docker ${SWARM_INIT_ARGS.join(' ')}\` failed (${(err as Error).message}); fix what docker said and run that command yourself`);
  }
  say(`swarm: this node was in no swarm; ran \`docker ${SWARM_INIT_ARGS.join(' ')}\` (a one-node swarm, manager on loopback; \`docker swarm leave --force\` undoes it)`);
}

export interface TaskState {
  readonly slot: number;
  /** docker service ps's CurrentState, e.g. "Running 2 seconds ago", "Failed 1 second ago". */
  readonly state: string;
  readonly error: string;
}

/** Parse `docker service ps --format '{{.Name}}|{{.CurrentState}}|{{.Error}}'` (current tasks only). */
export function parseTaskStates(text: string): TaskState[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [name = '', state = '', error = ''] = l.split('|');
      return { slot: Number(/\.(\d+)$/.exec(name.trim())?.[1] ?? 0), state: state.trim(), error: error.trim() };
    });
}

export async function taskStates(service: string, run: DockerRunner = docker): Promise<TaskState[]> {
  const { stdout } = await run(['service', 'ps', service, '--no-trunc', '--filter', 'desired-state=running', '--filter', 'desired-state=shutdown', '--format', '{{.Name}}|{{.CurrentState}}|{{.Error}}'], { timeoutMs: 20_000 });
  // Each slot's newest task comes first (restart-condition none: there is only one per slot).
  const seen = new Set<number>();
  return parseTaskStates(stdout).filter((t) => !seen.has(t.slot) && seen.add(t.slot));
}

/** A task that ended or never started: what went wrong, for the error the scenario shows. */
export function deadTask(tasks: readonly TaskState[]): TaskState | undefined {
  return tasks.find((t) => /^(Failed|Rejected|Complete|Shutdown|Orphaned)/.test(t.state));
}

/**
 * Wait (bounded) until every named service answers, as `answering` judges it; a task that died
 * on the way fails at once with its error and its last lines. Task states go through the docker
 * CLI only every 2 s (`viaDocker` is true then): on a loaded 2-core host each call costs real CPU,
 * while `answering` may poll in-process sockets every 250 ms.
 */
export async function waitUntilServicesAnswer(names: readonly string[], answering: (name: string, viaDocker: boolean) => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  for (let round = 0; pending.size > 0; round += 1) {
    const viaDocker = round % 8 === 0;
    for (const name of [...pending]) {
      if (viaDocker) {
        const dead = deadTask(await taskStates(name));
        if (dead) throw new Error(`service ${name} task ${dead.slot} ${dead.state.split(' ')[0]?.toLowerCase()}${dead.error ? ` (${dead.error})` : ''}; it said: ${(await serviceLogTail(name)) || 'nothing'}`);
      }
      if (await answering(name, viaDocker)) pending.delete(name);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`services ${[...pending].join(', ')} not up within ${timeoutMs / 1000} s; see \`docker service ps\` and \`docker service logs\` of them`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The containers of a service's tasks on this node, by slot. */
export async function taskContainers(service: string, run: DockerRunner = docker): Promise<Map<number, string>> {
  const { stdout } = await run(['ps', '-a', '--filter', `label=${SERVICE_NAME_LABEL}=${service}`, '--format', `{{.ID}} {{.Label "${TASK_NAME_LABEL}"}}`], { timeoutMs: 20_000 });
  const bySlot = new Map<number, string>();
  for (const line of stdout.split('\n').filter((l) => l.trim())) {
    const [id = '', task = ''] = line.trim().split(' ');
    const slot = Number(/^[^.]+\.(\d+)\./.exec(task)?.[1] ?? 0);
    if (slot > 0) bySlot.set(slot, id);
  }
  return bySlot;
}

/**
 * Everything a service's tasks on this node wrote (stdout and stderr), oldest task first: a task
 * restart (`docker service update --force`) leaves the old task's container behind (task history),
 * so the log of a restarted broker reads as one log across its restarts.
 */
export async function serviceTaskLogs(service: string, run: DockerRunner = docker): Promise<string> {
  const { stdout } = await run(['ps', '-aq', '--filter', `label=${SERVICE_NAME_LABEL}=${service}`], { timeoutMs: 20_000 });
  const ids = stdout.split('\n').filter((l) => l.trim());
  if (ids.length === 0) return '';
  const created = (await run(['inspect', '--format', '{{.Created}} {{.Id}}', ...ids], { timeoutMs: 20_000 })).stdout.split('\n').filter((l) => l.trim()).sort();
  const logs: string[] = [];
  for (const line of created) {
    const { stdout: out, stderr } = await run(['logs', line.split(' ')[1] ?? ''], { timeoutMs: 20_000 });
    logs.push(out + stderr);
  }
  return logs.join('');
}

/** The last lines a service's tasks wrote (stdout and stderr), for errors. */
export async function serviceLogTail(service: string, lines = 14, run: DockerRunner = docker): Promise<string> {
  const { stdout, stderr } = await run(['service', 'logs', '--raw', '--no-trunc', '--tail', String(lines), service], { timeoutMs: 20_000 }).catch(() => ({ stdout: '', stderr: '' }));
  return (stdout + stderr).trim().split('\n').slice(-lines).join(' | ');
}

interface LabelledService {
  readonly id: string;
  readonly run: string;
  readonly pid: number;
}

async function labelledServices(filter: string, run: DockerRunner): Promise<LabelledService[]> {
  let ids: string[];
  try {
    ids = (await run(['service', 'ls', '-q', '--filter', `label=${filter}`], { timeoutMs: 20_000 })).stdout.split('\n').filter((l) => l.trim());
  } catch {
    return []; // not a swarm manager (or no swarm): there are no services to remove
  }
  if (ids.length === 0) return [];
  const { stdout } = await run(['service', 'inspect', '--format', `{{.ID}} {{index .Spec.Labels "${RUN_LABEL}"}} {{index .Spec.Labels "${PID_LABEL}"}}`, ...ids], { timeoutMs: 20_000 });
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id = '', runId = '', pid = ''] = l.trim().split(' ');
      return { id, run: runId, pid: Number(pid) };
    });
}

/** Remove services and wait (bounded) until their task containers are gone, so networks can go. */
async function removeServices(services: readonly LabelledService[], run: DockerRunner): Promise<number> {
  if (services.length === 0) return 0;
  await run(['service', 'rm', ...services.map((s) => s.id)], { timeoutMs: 60_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    // Filters on one key are OR-ed: one docker call asks for the tasks of every service.
    const left = (await run(['ps', '-aq', ...services.flatMap((s) => ['--filter', `label=com.docker.swarm.service.id=${s.id}`])], { timeoutMs: 20_000 })).stdout.trim();
    if (left === '' || Date.now() > deadline) return services.length;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Remove one run's services, then its containers (capture sidecars) and overlay networks. */
export async function removeSwarmRun(runId: string, run: DockerRunner = docker): Promise<number> {
  const removed = await removeServices(await labelledServices(`${RUN_LABEL}=${runId}`, run), run);
  // An overlay network stays "in use" a moment after its last task left: retry, bounded.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return removed + (await removeRun(runId));
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Remove the services of runs whose process is gone (a `kill -9`); containers and networks follow removeLeftovers. */
export async function removeSwarmLeftovers(run: DockerRunner = docker): Promise<number> {
  return removeServices((await labelledServices(RUN_LABEL, run)).filter((s) => !alive(s.pid)), run);
}

const interruptible = new Set<string>();
let handlersInstalled = false;

/**
 * On Ctrl-C or SIGTERM, remove this run's services first (synchronously, before run-labels.ts's
 * handler removes the containers and networks and exits): a service whose task containers were
 * removed under it would otherwise stay, and keep its networks in use.
 */
export function removeServicesOnInterrupt(runId: string): () => void {
  interruptible.add(runId);
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.prependOnceListener(signal, () => {
        for (const id of interruptible) {
          try {
            const ids = execFileSync('docker', ['service', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${id}`], { timeout: 20_000 }).toString().split('\n').filter(Boolean);
            if (ids.length > 0) execFileSync('docker', ['service', 'rm', ...ids], { timeout: 60_000, stdio: 'ignore' });
          } catch {
            // Best effort: the next start removes what is left (removeSwarmLeftovers).
          }
        }
      });
    }
  }
  return () => interruptible.delete(runId);
}
