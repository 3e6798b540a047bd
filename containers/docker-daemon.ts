/**
 * Make sure a Docker daemon answers. On a fresh machine docker.io is installed but `dockerd` is
 * not running (no init system in CI containers): as root we start it in the background, logging
 * to a file, and wait — bounded — for its socket to answer. Anything else gets a sentence that
 * names the cause and the fix.
 */
import { spawn, execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DOCKERD_LOG = '/var/log/testbed-dockerd.log';
const START_TIMEOUT_MS = 30_000;
const POLL_MS = 250;

export interface DaemonStatus {
  readonly running: boolean;
  readonly serverVersion?: string;
  /** Why it is not usable, and the fix. */
  readonly reason?: string;
}

/** Ask the daemon for its version; never throws. */
export async function dockerDaemonStatus(): Promise<DaemonStatus> {
  try {
    const { stdout } = await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
    return { running: true, serverVersion: stdout.trim() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return { running: false, reason: 'containers: Docker is not installed; run `npm run setup` (as root it installs docker.io) or: apt-get install -y docker.io' };
    const said = (e.stderr ?? e.message).trim().split('\n').pop() ?? '';
    return { running: false, reason: `containers: the Docker daemon does not answer (${said}); start it with \`testbed setup --only docker\` (as root), or: dockerd > ${DOCKERD_LOG} 2>&1 &` };
  }
}

async function hasDockerd(): Promise<boolean> {
  try {
    await run('dockerd', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolve once the daemon answers, starting `dockerd` (root only) when it does not. Rejects with
 * the cause and the fix; a daemon we started but that never answered is killed, not left behind.
 */
export async function ensureDockerDaemon(say: (line: string) => void = () => undefined): Promise<DaemonStatus> {
  const first = await dockerDaemonStatus();
  if (first.running) return first;
  if (!(await hasDockerd())) {
    throw new Error('containers: dockerd is not installed (the containers topology needs a Docker daemon); run `npm run setup` as root, or: apt-get install -y docker.io');
  }
  if (process.getuid?.() !== 0) throw new Error(`${first.reason}; starting dockerd needs root`);
  say(`containers: starting dockerd in the background (log: ${DOCKERD_LOG})`);
  const log = openSync(DOCKERD_LOG, 'a', 0o600);
  const daemon = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  daemon.once('exit', (code) => (exited = code));
  daemon.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`containers: dockerd exited with code ${exited} right after start; see ${DOCKERD_LOG} for why (often: another daemon holds /var/run/docker.pid, or no iptables)`);
    const status = await dockerDaemonStatus();
    if (status.running) {
      say(`containers: dockerd ${status.serverVersion} is up`);
      return status;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  daemon.kill('SIGTERM');
  throw new Error(`containers: dockerd did not answer within ${START_TIMEOUT_MS / 1000} s; stopped it. See ${DOCKERD_LOG}`);
}
