/**
 * Drives wolfssl-bridge in its TLS-over-TCP modes (wolfssl-bridge/README.md "TLS 1.3 over TCP (0-RTT for MQTT)"):
 * `tls-server`, a wolfSSL-terminated front of a TCP service (the broker's plain MQTT listener),
 * and `tls-client`, one connection at a time whose bytes go as 0-RTT early data when a ticket
 * allows it (RFC 8446 §4.2.10). Node's TLS has no early data; this is the project's only TLS 0-RTT.
 *
 * Events are JSON lines into an observation log; control lines go to stdin. Every wait is bounded.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ObservationLog, type Observation } from '../observation-log.ts';
import { ensureWolfsslBridge } from '../dtls/wolfssl-bridge.ts';

export type TlsBridgeEvent = 'listening' | 'handshake' | 'handshake-failed' | 'early-data' | 'ticket-refused' | 'sent' | 'received' | 'closed' | 'error' | 'stats' | 'exit';

/** When a tls-client sends its bytes: after the handshake, or as 0-RTT early data (RFC 8446 §4.2.10). */
export type SendWhen = 'after-handshake' | 'early-data';

export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

interface Common {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** 0-RTT: the server accepts up to 16 KiB of early data; the client sends its bytes early when it can. */
  readonly earlyData: boolean;
  readonly keyLogFile?: string;
  readonly handshakeTimeoutMs?: number;
}

export interface TlsFrontOptions extends Common {
  readonly mode: 'tls-server';
  readonly listen: TcpAddress;
  /** Where each connection's plaintext goes (the broker's plain MQTT listener). */
  readonly upstream: TcpAddress;
  /** RFC 8446 §8.1: every ticket resumes once (the bridge's default). */
  readonly singleUseTickets: boolean;
  readonly maxPeers?: number;
}

export interface TlsDeviceOptions extends Common {
  readonly mode: 'tls-client';
  readonly connect: TcpAddress;
  readonly serverName: string;
}

export type WolfsslTlsOptions = TlsFrontOptions | TlsDeviceOptions;

const text = (a: TcpAddress): string => `${a.host}:${a.port}`;

/** The bridge's command line for these options. */
export function wolfsslTlsArgs(o: WolfsslTlsOptions): string[] {
  const args = [o.mode, '--cert', o.certFile, '--key', o.keyFile, '--ca', o.caFile];
  if (o.earlyData) args.push('--early-data');
  if (o.keyLogFile) args.push('--keylog', o.keyLogFile);
  if (o.handshakeTimeoutMs !== undefined) args.push('--handshake-timeout', `${Math.max(1, Math.round(o.handshakeTimeoutMs))}ms`);
  if (o.mode === 'tls-server') {
    // Mutual TLS with the project's PKI, as the broker's own listener demands (E4).
    args.push('--listen', text(o.listen), '--upstream', text(o.upstream), '--client-auth', 'require', '--single-use-tickets', o.singleUseTickets ? 'on' : 'off');
    if (o.maxPeers !== undefined) args.push('--max-peers', String(o.maxPeers));
  } else {
    args.push('--connect', text(o.connect), '--server-name', o.serverName);
  }
  return args;
}

export class WolfsslTlsProcess {
  readonly log: ObservationLog<TlsBridgeEvent>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  #address: TcpAddress | undefined;

  private constructor(name: string, child: ChildProcessWithoutNullStreams) {
    this.log = new ObservationLog(name);
    this.#child = child;
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log.record('exit', `bridge exited (${signal ?? `code ${code}`})`, { code, signal, stderr: this.#stderr.trim() });
        resolve(code);
      }),
    );
    createInterface({ input: child.stdout }).on('line', (line) => this.#event(line));
    child.stderr.on('data', (b: Buffer) => (this.#stderr = (this.#stderr + b.toString()).slice(-2000)));
  }

  /**
   * Spawn the bridge (building it first if needed) and resolve once it reports `listening`.
   * `binary` as a list is a command the bridge's arguments are appended to (e.g. `docker run -i …
   * image`, topology/containers-zero-rtt.ts): its stdin and stdout are still the bridge's.
   */
  static async start(options: WolfsslTlsOptions, name: string, binary?: string | readonly string[], timeoutMs = 10_000): Promise<WolfsslTlsProcess> {
    const [program, ...prefix] = typeof binary === 'string' ? [binary] : (binary ?? [await ensureWolfsslBridge()]);
    if (!program) throw new Error(`wolfssl-tls: ${name}: an empty command was given for the bridge`);
    const p = new WolfsslTlsProcess(name, spawn(program, [...prefix, ...wolfsslTlsArgs(options)], { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      const ready = await p.log.waitFor('the listening event', (o) => o.kind === 'listening' || o.kind === 'exit' || (o.kind === 'error' && o.detail.scope === 'startup'), timeoutMs);
      if (ready.kind !== 'listening') throw new Error(`wolfssl-tls: ${name} did not start: ${String(ready.detail.error ?? ready.detail.stderr ?? p.#stderr.trim())}`);
      if (options.mode === 'tls-server') p.#address = parseAddress(ready.detail.tls);
      return p;
    } catch (err) {
      await p.stop();
      throw err;
    }
  }

  /** tls-server: where clients connect. */
  get address(): TcpAddress {
    if (!this.#address) throw new Error('wolfssl-tls: only a tls-server has a listening address');
    return this.#address;
  }

  /**
   * tls-client: a new connection (resumed when the bridge holds a ticket) sending `payload` after
   * the handshake, or with `when: 'early-data'` in the first flight as 0-RTT data when the ticket
   * allows it. Resolves with its handshake outcome.
   */
  async connect(payload: Uint8Array, when: SendWhen, timeoutMs = 10_000): Promise<Observation<TlsBridgeEvent>> {
    const seen = this.log.all().length;
    this.#command({ cmd: when === 'early-data' ? 'connect-0rtt' : 'connect', earlyData: Buffer.from(payload).toString('hex') });
    return this.waitAfter(seen, 'a handshake outcome', (o) => o.kind === 'handshake' || o.kind === 'handshake-failed' || o.kind === 'exit' || (o.kind === 'error' && o.detail.scope === 'connect'), timeoutMs);
  }

  /** The first observation after index `since` that matches, bounded. */
  async waitAfter(since: number, what: string, match: (o: Observation<TlsBridgeEvent>) => boolean, timeoutMs: number): Promise<Observation<TlsBridgeEvent>> {
    const entries = this.log.all();
    return entries.slice(since).find(match) ?? this.log.waitFor(what, (o) => match(o) && entries.indexOf(o) >= since, timeoutMs);
  }

  close(): void {
    this.#command({ cmd: 'close' });
  }

  async stats(timeoutMs = 5_000): Promise<Readonly<Record<string, unknown>>> {
    const seen = this.log.all().length;
    this.#command({ cmd: 'stats' });
    return (await this.waitAfter(seen, 'a stats event', (o) => o.kind === 'stats', timeoutMs)).detail;
  }

  /** SIGTERM, then wait (bounded) for exit; SIGKILL if it does not go. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#exited, new Promise<void>((r) => (timer = setTimeout(() => (this.#child.kill('SIGKILL'), r()), timeoutMs)))]);
    clearTimeout(timer);
  }

  #command(cmd: Record<string, string>): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) throw new Error(`wolfssl-tls: ${this.log.role} has exited (${this.#stderr.trim() || 'no message'}); cannot send ${cmd.cmd}`);
    this.#child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  #event(line: string): void {
    let parsed: { event: TlsBridgeEvent } & Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      this.log.record('error', `unparsable bridge output: ${line.slice(0, 200)}`, { scope: 'driver', error: line.slice(0, 200) });
      return;
    }
    const { event, ...detail } = parsed;
    this.log.record(event, `${event} ${JSON.stringify(detail).slice(0, 300)}`, detail);
  }
}

function parseAddress(value: unknown): TcpAddress {
  const m = typeof value === 'string' ? /^(.*):(\d+)$/.exec(value) : null;
  if (!m) throw new Error(`wolfssl-tls: the bridge reported an address I cannot read: ${String(value)}`);
  return { host: m[1] as string, port: Number(m[2]) };
}
