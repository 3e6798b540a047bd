/**
 * Everything the containers topology creates carries these labels, because Ryuk (the
 * Testcontainers reaper) cannot be pulled here and is disabled: we clean up ourselves — after
 * every scenario, after a failed one, on Ctrl-C, and at the next start for whatever a killed
 * run left behind (its owner process no longer exists).
 */
import { execFileSync } from 'node:child_process';
import { docker } from './docker-cli.ts';

export const RUN_LABEL = 'org.testbed.run';
export const PID_LABEL = 'org.testbed.pid';

export function runLabels(runId: string): Record<string, string> {
  return { [RUN_LABEL]: runId, [PID_LABEL]: String(process.pid) };
}

export function labelArgs(runId: string): string[] {
  return Object.entries(runLabels(runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Labelled {
  readonly id: string;
  readonly run: string;
  readonly pid: number;
}

async function labelled(kind: 'container' | 'network', filter: string): Promise<Labelled[]> {
  const format = `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${PID_LABEL}"}}`;
  const args = kind === 'container' ? ['ps', '-a', '--filter', `label=${filter}`, '--format', format] : ['network', 'ls', '--filter', `label=${filter}`, '--format', format];
  const { stdout } = await docker(args, { timeoutMs: 20_000 });
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id = '', run = '', pid = ''] = l.trim().split(' ');
      return { id, run, pid: Number(pid) };
    });
}

async function remove(containers: readonly Labelled[], networks: readonly Labelled[]): Promise<number> {
  if (containers.length > 0) await docker(['rm', '-f', '-v', ...containers.map((c) => c.id)], { timeoutMs: 60_000 });
  if (networks.length > 0) await docker(['network', 'rm', ...networks.map((n) => n.id)], { timeoutMs: 30_000 });
  return containers.length + networks.length;
}

/** Remove this run's containers and networks (containers first: a network in use cannot go). */
export async function removeRun(runId: string): Promise<number> {
  const filter = `${RUN_LABEL}=${runId}`;
  return remove(await labelled('container', filter), await labelled('network', filter));
}

/** Remove what runs whose process is gone left behind (a killed run); returns how many. */
export async function removeLeftovers(): Promise<number> {
  // Swarm services of killed runs first: their tasks keep the run's overlay networks in use.
  const services = await (await import('./swarm-engine.ts')).removeSwarmLeftovers();
  const orphaned = (items: Labelled[]) => items.filter((i) => !alive(i.pid));
  return services + (await remove(orphaned(await labelled('container', RUN_LABEL)), orphaned(await labelled('network', RUN_LABEL))));
}

/** Every labelled container and network, whoever owns it (for tests and `doctor`). */
export async function listLabelled(): Promise<{ containers: number; networks: number }> {
  return { containers: (await labelled('container', RUN_LABEL)).length, networks: (await labelled('network', RUN_LABEL)).length };
}

const interruptible = new Set<string>();
let handlersInstalled = false;

/**
 * On Ctrl-C or SIGTERM, remove the live runs' containers and networks synchronously, then exit
 * with the conventional status (130 / 143): nothing is left running.
 */
export function cleanUpOnInterrupt(runId: string): () => void {
  interruptible.add(runId);
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.once(signal, () => {
        for (const id of interruptible) {
          try {
            const filter = `label=${RUN_LABEL}=${id}`;
            const ids = execFileSync('docker', ['ps', '-aq', '--filter', filter], { timeout: 20_000 }).toString().split('\n').filter(Boolean);
            if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { timeout: 60_000, stdio: 'ignore' });
            const nets = execFileSync('docker', ['network', 'ls', '-q', '--filter', filter], { timeout: 20_000 }).toString().split('\n').filter(Boolean);
            if (nets.length > 0) execFileSync('docker', ['network', 'rm', ...nets], { timeout: 30_000, stdio: 'ignore' });
          } catch {
            // Best effort: the next start removes what is left (removeLeftovers).
          }
        }
        process.stderr.write(`\ntestbed: interrupted (${signal}); removed the containers and networks of this run\n`);
        process.exit(status);
      });
    }
  }
  return () => interruptible.delete(runId);
}
