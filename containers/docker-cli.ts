/**
 * The docker CLI, run with a bounded timeout and errors that name the command and what docker
 * said, never a stack trace from deep inside a library. Used for what Testcontainers does not
 * do for us: image builds and imports, label-based cleanup, network creation, signals.
 */
import { execFile, spawn } from 'node:child_process';

export interface DockerResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class DockerCommandError extends Error {
  constructor(readonly args: readonly string[], readonly stderr: string, readonly exitCode: number | null) {
    super(`docker ${args.slice(0, 3).join(' ')}…: ${stderr.trim().split('\n').slice(-3).join(' / ') || `exit ${exitCode}`}`);
  }
}

/** Run `docker ARGS`, resolving with its output; rejects with DockerCommandError. */
export function docker(args: readonly string[], options: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', [...args], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env } }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
      if (e.code === 'ENOENT') return reject(new Error('containers: the docker CLI is not installed; run `npm run setup` (installs docker.io) or: apt-get install -y docker.io'));
      const why = e.killed ? `timed out after ${options.timeoutMs ?? 60_000} ms` : stderr;
      reject(new DockerCommandError(args, why, typeof e.code === 'number' ? e.code : null));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/**
 * Run `docker ARGS` with stdin fed from another process's stdout (e.g. `tar -c | docker import -`).
 * Bounded by timeoutMs; both processes are killed on timeout.
 */
export function dockerFromPipe(producer: { file: string; args: readonly string[] }, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const source = spawn(producer.file, [...producer.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = spawn('docker', [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    source.stdout.pipe(sink.stdin);
    let out = '';
    let err = '';
    sink.stdout.on('data', (b: Buffer) => (out += b.toString()));
    sink.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    source.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    const timer = setTimeout(() => {
      source.kill('SIGKILL');
      sink.kill('SIGKILL');
      reject(new Error(`containers: docker ${args.join(' ')} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sink.on('error', (e) => reject(new Error(`containers: cannot run docker (${e.message}); run \`npm run setup\``)));
    sink.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new DockerCommandError(args, err, code));
    });
  });
}
