// A small wrapper around Debian's tcpdump (docs/architecture.md §7 Evidence; there is no such package on npm):
// spawn it packet-buffered into a pcap file, wait until it says "listening on", and stop it
// with SIGINT so that it flushes the file and prints its packet count. The resulting file is
// read with pcap-reader.ts, the same reader used for the relay's synthesized captures.
//
// An optional `command` prefix (e.g. ['docker', 'exec', 'ctr']) runs tcpdump elsewhere, such
// as in a sidecar container sharing a role's network namespace.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';

export interface TcpdumpOptions {
  /** Interface to capture on, e.g. 'lo' or 'any'. */
  interface: string;
  /** BPF filter expression, e.g. 'udp port 5684'. */
  filter?: string;
  outFile: string;
  /** Bytes kept per packet; default 262144 (whole packets). */
  snaplen?: number;
  /** How long to wait for "listening on"; default 5000 ms. */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGINT before SIGKILL; default 5000 ms. */
  stopTimeoutMs?: number;
  /**
   * stop() first waits until the capture file has not grown for this long (default 250 ms,
   * bounded by stopTimeoutMs), because tcpdump drops packets still queued in the kernel ring
   * when SIGINT arrives. With a `command` prefix the file may be elsewhere: it just waits.
   */
  drainMs?: number;
  /** Default 'tcpdump'. */
  binary?: string;
  /** argv prefix, e.g. ['docker', 'exec', 'ctr']; outFile is then a path where tcpdump runs. */
  command?: string[];
}

export interface TcpdumpAvailability {
  available: boolean;
  reason?: string;
}

const DEFAULT_READY_TIMEOUT_MS = 5000;
const DEFAULT_STOP_TIMEOUT_MS = 5000;
const DEFAULT_DRAIN_MS = 250;
const DRAIN_POLL_MS = 50;
/** Bound on stderr kept for error messages. */
const MAX_STDERR_CHARS = 16384;

function argv(binary: string, command: string[] | undefined, args: string[]): [string, string[]] {
  const full = [...(command ?? []), binary, ...args];
  return [full[0]!, full.slice(1)];
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One spawned tcpdump and what it has said on stderr. */
class TcpdumpProcess {
  readonly child: ChildProcess;
  stderr = '';
  spawnError: Error | undefined;
  readonly exited: Promise<Exit>;

  constructor(file: string, args: string[]) {
    this.child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-MAX_STDERR_CHARS);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
        resolve({ code: null, signal: null });
      });
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Waits until stderr contains text, the process exits, or time runs out, whichever is first. */
  async waitFor(text: string, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
    if (this.stderr.includes(text)) return 'ready';
    let onData: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<'ready'>((resolve) => {
      onData = () => { if (this.stderr.includes(text)) resolve('ready'); };
      // Registered after the accumulating listener, so this.stderr already holds the chunk.
      this.child.stderr!.on('data', onData);
    });
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    try {
      return await Promise.race([ready, this.exited.then(() => 'exited' as const), timeout]);
    } finally {
      clearTimeout(timer);
      if (onData) this.child.stderr!.off('data', onData);
    }
  }

  /** Sends a signal and waits at most timeoutMs for the exit; SIGKILL after that. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutMs); });
    const exit = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (exit) return exit;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

export class Tcpdump {
  readonly #process: TcpdumpProcess;
  readonly #outFile: string;
  readonly #stopTimeoutMs: number;
  readonly #drainMs: number;
  readonly #localFile: boolean;
  #stopped: Promise<{ path: string; packets: number }> | undefined;

  private constructor(process: TcpdumpProcess, o: TcpdumpOptions) {
    this.#process = process;
    this.#outFile = o.outFile;
    this.#stopTimeoutMs = o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.#drainMs = o.drainMs ?? DEFAULT_DRAIN_MS;
    this.#localFile = !o.command;
  }

  /**
   * Whether tcpdump exists and may capture here: it must be installed and the process needs
   * root or CAP_NET_RAW (or a container with NET_RAW). Tries a real capture on `interface`
   * (default 'lo') and stops it as soon as it is listening.
   */
  static async isAvailable(binary = 'tcpdump', options: { command?: string[]; interface?: string; timeoutMs?: number } = {}): Promise<TcpdumpAvailability> {
    const iface = options.interface ?? 'lo';
    const [file, args] = argv(binary, options.command, ['-n', '-i', iface, '-c', '1', '-w', '/dev/null']);
    const probe = new TcpdumpProcess(file, args);
    const outcome = await probe.waitFor('listening on', options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    if (outcome === 'ready') {
      await probe.stop('SIGINT', DEFAULT_STOP_TIMEOUT_MS);
      return { available: true };
    }
    if (outcome === 'timeout') await probe.stop('SIGKILL', DEFAULT_STOP_TIMEOUT_MS);
    const spawnError = probe.spawnError as NodeJS.ErrnoException | undefined;
    if (spawnError?.code === 'ENOENT') {
      return { available: false, reason: `tcpdump: '${file}' not found; install it with: apt-get install tcpdump` };
    }
    if (spawnError) return { available: false, reason: `tcpdump: cannot run '${file}': ${spawnError.message}` };
    const stderr = probe.stderr.trim();
    if (/permission|not permitted/i.test(stderr)) {
      return {
        available: false,
        reason: `tcpdump: not permitted to capture on ${iface} (run as root or grant CAP_NET_RAW, e.g. `
          + `setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump), or a container with NET_RAW): ${stderr}`,
      };
    }
    if (outcome === 'timeout') {
      return { available: false, reason: `tcpdump: did not report 'listening on' within the timeout: ${stderr || '(no output)'}` };
    }
    return { available: false, reason: `tcpdump: cannot capture on ${iface}: ${stderr || '(no output)'}` };
  }

  /** Starts capturing; resolves once tcpdump is listening, rejects with its stderr otherwise. */
  static async start(o: TcpdumpOptions): Promise<Tcpdump> {
    if (!o.interface) throw new Error("tcpdump: options.interface is required (e.g. 'lo' or 'any')");
    if (!o.outFile) throw new Error('tcpdump: options.outFile is required (the pcap file to write)');
    const snaplen = o.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 0) throw new Error(`tcpdump: snaplen must be a non-negative integer, got ${snaplen}`);
    if (!o.command) mkdirSync(dirname(o.outFile), { recursive: true });
    // -U: write each packet as it arrives, so the file is usable even if we are killed;
    // --immediate-mode: hand each packet over at once rather than when a buffer block fills or
    // times out, so packets seen just before stop() are in the file; -n: no DNS lookups.
    const args = ['-U', '--immediate-mode', '-n', '-w', o.outFile, '-i', o.interface, '-s', String(snaplen)];
    if (o.filter) args.push(o.filter);
    const [file, fullArgs] = argv(o.binary ?? 'tcpdump', o.command, args);
    const started = new TcpdumpProcess(file, fullArgs);
    const timeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const outcome = await started.waitFor('listening on', timeoutMs);
    if (outcome === 'ready') return new Tcpdump(started, o);
    if (outcome === 'timeout') await started.stop('SIGKILL', DEFAULT_STOP_TIMEOUT_MS);
    const why = started.spawnError
      ? `${started.spawnError.message}${(started.spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (apt-get install tcpdump)' : ''}`
      : outcome === 'timeout' ? `no 'listening on' within ${timeoutMs} ms` : 'it exited before listening';
    throw new Error(`tcpdump: could not start \`${[file, ...fullArgs].join(' ')}\`: ${why}; tcpdump said: ${started.stderr.trim() || '(nothing)'}`);
  }

  get path(): string {
    return this.#outFile;
  }

  /** SIGINT (so tcpdump flushes and reports), bounded wait, then SIGKILL. Idempotent. */
  stop(): Promise<{ path: string; packets: number }> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** Waits until the capture file stops growing for drainMs (bounded), see TcpdumpOptions.drainMs. */
  async #drain(): Promise<void> {
    if (!this.#localFile) {
      await sleep(this.#drainMs);
      return;
    }
    const size = (): number => { try { return statSync(this.#outFile).size; } catch { return -1; } };
    const deadline = Date.now() + this.#stopTimeoutMs;
    let last = size();
    let quietSince = Date.now();
    while (Date.now() - quietSince < this.#drainMs && Date.now() < deadline && this.#process.child.exitCode === null) {
      await sleep(DRAIN_POLL_MS);
      const now = size();
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
    }
  }

  async #stop(): Promise<{ path: string; packets: number }> {
    await this.#drain();
    const exit = await this.#process.stop('SIGINT', this.#stopTimeoutMs);
    const match = /(\d+) packets? captured/.exec(this.#process.stderr);
    if (!match) {
      throw new Error(`tcpdump: stopped (exit ${exit.code ?? exit.signal}) without reporting a packet count; `
        + `the capture in ${this.#outFile} may be incomplete; tcpdump said: ${this.#process.stderr.trim() || '(nothing)'}`);
    }
    return { path: this.#outFile, packets: Number(match[1]) };
  }
}
