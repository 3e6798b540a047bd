/**
 * Driver for tls-impostor (Go, crypto/tls): the TLS server for credentials OpenSSL will not load
 * because the key does not belong to the certificate — the `replaced-key` forgery. It reports
 * handshakes as JSON lines and hands intercepted plaintext to a loopback TCP address we choose.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = join(ROOT, 'tls-impostor', 'build.sh');
const BINARY = join(ROOT, 'tls-impostor', 'bin', 'tls-impostor');

export type ImpostorEvent = { event: string } & Record<string, unknown>;

let built = false;

/** The binary exists and is newer than its source: build.sh's own test, without needing Go (a container runs it from the read-only /testbed mount). */
function upToDate(): boolean {
  try {
    return statSync(BINARY).mtimeMs > statSync(join(ROOT, 'tls-impostor', 'main.go')).mtimeMs;
  } catch {
    return false;
  }
}

/** Build the impostor if it is missing or older than its source (needs Go); throws with the fix otherwise. */
export function ensureImpostorBuilt(): void {
  if (built) return;
  if (upToDate()) {
    built = true;
    return;
  }
  const r = spawnSync('bash', [BUILD], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`tls-impostor: build failed (${(r.stderr || r.stdout || r.error?.message || '').trim()}); install Go with \`apt-get install golang-go\` (see testbed doctor)`);
  built = true;
}

export class TlsImpostorProcess {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly address: { host: string; port: number };

  private constructor(child: ChildProcess, dir: string, address: { host: string; port: number }) {
    this.#child = child;
    this.#dir = dir;
    this.address = address;
  }

  static async start(o: { certChainPem: string; keyPem: string; plain: { host: string; port: number }; keyLogFile?: string; handshakeTimeoutMs: number; onEvent: (e: ImpostorEvent) => void }): Promise<TlsImpostorProcess> {
    ensureImpostorBuilt();
    // The attacker's key goes to a private temporary directory for the child, mode 0600.
    const dir = mkdtempSync(join(tmpdir(), 'tls-impostor-'));
    writeFileSync(join(dir, 'chain.pem'), o.certChainPem, { mode: 0o600 });
    writeFileSync(join(dir, 'key.pem'), o.keyPem, { mode: 0o600 });
    const args = ['--listen', '127.0.0.1:0', '--cert', join(dir, 'chain.pem'), '--key', join(dir, 'key.pem'), '--plain', `${o.plain.host}:${o.plain.port}`, '--handshake-timeout', `${o.handshakeTimeoutMs}ms`, ...(o.keyLogFile ? ['--keylog', o.keyLogFile] : [])];
    const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    let address: { host: string; port: number };
    try {
      address = await new Promise<{ host: string; port: number }>((resolveAddress, reject) => {
        const timer = setTimeout(() => reject(new Error(`tls-impostor: no "listening" within 5 s; stderr: ${stderr}`)), 5_000);
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          let e: ImpostorEvent;
          try {
            e = JSON.parse(line) as ImpostorEvent;
          } catch {
            return; // not an event line; the Go side writes its logs to stderr
          }
          if (e.event === 'listening') {
            clearTimeout(timer);
            const [host = '127.0.0.1', port = '0'] = String(e.address).split(/:(?=\d+$)/);
            resolveAddress({ host, port: Number(port) });
          } else if (e.event === 'error') {
            clearTimeout(timer);
            reject(new Error(String(e.error)));
          }
          o.onEvent(e);
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`tls-impostor exited (${code}) before listening; stderr: ${stderr}`));
        });
      });
    } catch (err) {
      // Nothing may outlive a failed start: not the process, not the attacker's key on disk.
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new TlsImpostorProcess(child, dir, address);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** One forged mutual-TLS client handshake: `certChainPem` presented, signed with `keyPem`. */
export async function impostorClientHandshake(o: { certChainPem: string; keyPem: string; caPem: string; host: string; port: number; serverName: string; timeoutMs: number; keyLogFile?: string }): Promise<{ accepted: boolean; error?: string }> {
  ensureImpostorBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'tls-impostor-client-'));
  try {
    writeFileSync(join(dir, 'chain.pem'), o.certChainPem, { mode: 0o600 });
    writeFileSync(join(dir, 'key.pem'), o.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), o.caPem, { mode: 0o600 });
    // Asynchronous on purpose: the server under test may live in this very process.
    const r = await new Promise<{ stdout: string; stderr: string; status: number | null }>((done) => {
      execFile(BINARY, ['--mode', 'client', '--connect', `${o.host}:${o.port}`, '--server-name', o.serverName, '--ca', join(dir, 'ca.pem'), '--cert', join(dir, 'chain.pem'), '--key', join(dir, 'key.pem'), '--handshake-timeout', `${o.timeoutMs}ms`, ...(o.keyLogFile ? ['--keylog', o.keyLogFile] : [])], { encoding: 'utf8', timeout: o.timeoutMs + 2_000 }, (err, stdout, stderr) =>
        done({ stdout, stderr, status: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });
    const events = r.stdout.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as ImpostorEvent];
      } catch {
        return [];
      }
    });
    const done = events.find((e) => e.event === 'handshake' || e.event === 'handshake-failed' || e.event === 'error');
    if (!done) return { accepted: false, error: `tls-impostor reported nothing (exit ${r.status}): ${r.stderr}` };
    return done.event === 'handshake' ? { accepted: true } : { accepted: false, error: String(done.error) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
