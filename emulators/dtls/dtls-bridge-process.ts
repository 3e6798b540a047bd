/**
 * Drives one dtls-bridge process (dtls-bridge/README.md): the project's pion/dtls v2 program that
 * gives TypeScript roles real DTLS 1.2 (RFC 6347). Node has no DTLS and npm has no sound one
 * (docs/architecture.md §5 Transports), so a role spawns the bridge, exchanges plaintext datagrams with it over a
 * loopback UDP socket, reads its JSON-line events into an observation log and steers it with
 * JSON control lines on stdin.
 *
 * Server mode: every plaintext datagram is `peerId u32 BE ‖ payload`; client mode has no header.
 * Every wait is bounded; stop() sends SIGTERM so the bridge closes each peer with close_notify.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ObservationLog, type Observation } from '../observation-log.ts';
import { bridgeLaunch, type DtlsVersion } from './dtls-version.ts';
import type { Dtls13Options } from './wolfssl-bridge.ts';

export const DTLS_BRIDGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../dtls-bridge');
export const DTLS_BRIDGE_BINARY = join(DTLS_BRIDGE_DIR, 'bin', 'dtls-bridge');
/** Set to "1" where the bridge must not be built, only run (a role container; see ensureDtlsBridge). */
export const DTLS_BRIDGE_PREBUILT_ENV = 'TESTBED_DTLS_BRIDGE_PREBUILT';
export const DTLS_BRIDGE_INSTALL_HINT = 'apt-get install golang-go golang-github-pion-dtls.v2-dev (or run `testbed doctor`)';

export type BridgeEventName = 'listening' | 'handshake' | 'handshake-failed' | 'alert' | 'closed' | 'error' | 'stats' | 'exit'
  /** wolfssl-bridge only (DTLS 1.3): 0-RTT bytes received, a replayed ticket refused, a CID peer's new address. */
  | 'early-data' | 'ticket-refused' | 'peer-address-changed';

/** One JSON line from the bridge; fields per event as in dtls-bridge/README.md "Events". */
export interface BridgeEvent {
  readonly event: BridgeEventName;
  readonly time?: string;
  readonly [field: string]: unknown;
}

export interface UdpAddress {
  readonly host: string;
  readonly port: number;
}

interface CommonOptions {
  /** PEM chain (leaf first) and key: the server's identity, or the client's for client auth. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Server: issuers of client certificates. Client: trust anchors for the server. */
  readonly caFile?: string;
  /** Pre-shared key (RFC 4279), enables the PSK suites. */
  readonly pskHex?: string;
  readonly ciphers?: readonly string[];
  readonly extendedMasterSecret?: 'require' | 'request' | 'disable';
  readonly sessionStore?: boolean;
  readonly handshakeTimeoutMs?: number;
  readonly mtu?: number;
  readonly keyLogFile?: string;
  readonly logLevel?: 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** `dtls1.2` (default): the pion bridge; `dtls1.3`: the wolfSSL bridge (dtls-version.ts). */
  readonly version?: DtlsVersion;
  /** DTLS 1.3 knobs (HRR cookie, CID, early data, single-use tickets, versions); dtls1.3 only. */
  readonly dtls13?: Dtls13Options;
}

export interface DtlsServerOptions extends CommonOptions {
  readonly mode: 'server';
  /** DTLS side; port 0 picks one (see `dtlsAddress`). */
  readonly listen: UdpAddress;
  readonly clientAuth?: 'none' | 'request' | 'require';
  readonly pskIdentityHint?: string;
  readonly maxPeers?: number;
  /** MITM only: serve certFile with a keyFile that does not match it (the replaced-key attack). */
  readonly uncheckedKeyPair?: boolean;
}

export interface DtlsClientOptions extends CommonOptions {
  readonly mode: 'client';
  readonly connect: UdpAddress;
  /** DNS name the server certificate must carry (pion checks no name for an IP literal). */
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
  readonly pskIdentity?: string;
}

export type DtlsBridgeOptions = DtlsServerOptions | DtlsClientOptions;

/**
 * Fleet mode (dtls-bridge/README.md "Fleet mode"): many client sessions in one pion process, each
 * opened with an `open` command naming its id and credential; plaintext framed as in server mode.
 */
export interface DtlsFleetOptions extends Omit<CommonOptions, 'certFile' | 'keyFile' | 'version' | 'dtls13'> {
  readonly mode: 'fleet';
  readonly connect: UdpAddress;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
  /** Sessions handshaking or established at once (the bridge's default 1000, at most 10000). */
  readonly maxSessions?: number;
}

export type AnyDtlsBridgeOptions = DtlsBridgeOptions | DtlsFleetOptions;

const addr = (a: UdpAddress) => `${a.host}:${a.port}`;

/** The bridge's command line for these options (plaintext addresses added by the caller). */
export function dtlsBridgeArgs(o: AnyDtlsBridgeOptions, plain: { own: UdpAddress }): string[] {
  if (o.mode !== 'fleet' && (o.certFile === undefined) !== (o.keyFile === undefined)) throw new Error('dtls-bridge-process: certFile and keyFile go together; give both or neither');
  if (o.pskHex !== undefined && !/^(?:[0-9a-fA-F]{2}){1,64}$/.test(o.pskHex)) throw new Error('dtls-bridge-process: pskHex must be 1..64 bytes of hex, e.g. "000102…"');
  const args: string[] = [o.mode];
  const flag = (name: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  if (o.mode !== 'fleet') {
    flag('cert', o.certFile);
    flag('key', o.keyFile);
  }
  flag('ca', o.caFile);
  flag('psk', o.pskHex);
  flag('ciphers', o.ciphers?.join(','));
  flag('extended-master-secret', o.extendedMasterSecret);
  if (o.sessionStore) args.push('--session-store');
  flag('handshake-timeout', o.handshakeTimeoutMs === undefined ? undefined : `${Math.max(1, Math.round(o.handshakeTimeoutMs))}ms`);
  flag('mtu', o.mtu);
  flag('keylog', o.keyLogFile);
  flag('log-level', o.logLevel);
  if (o.mode === 'server') {
    flag('listen', addr(o.listen));
    flag('plain', addr(plain.own));
    flag('client-auth', o.clientAuth);
    flag('psk-identity-hint', o.pskIdentityHint);
    flag('max-peers', o.maxPeers);
    if (o.uncheckedKeyPair) args.push('--unchecked-key-pair');
  } else {
    // Client and fleet: the same server side (and its verification), one or many sessions.
    if (o.caFile !== undefined && !o.insecureSkipVerify && !o.serverName) {
      throw new Error('dtls-bridge-process: a client with caFile needs serverName (a DNS name the server certificate carries)');
    }
    flag('connect', addr(o.connect));
    flag('plain', '127.0.0.1:0');
    flag('plain-peer', addr(plain.own));
    flag('server-name', o.serverName);
    if (o.insecureSkipVerify) args.push('--insecure-skip-verify');
    if (o.mode === 'client') flag('psk-identity', o.pskIdentity);
    else {
      if (o.maxSessions !== undefined && (!Number.isInteger(o.maxSessions) || o.maxSessions < 1 || o.maxSessions > 10_000)) throw new Error(`dtls-bridge-process: maxSessions must be 1..10000, got ${o.maxSessions}`);
      flag('max-sessions', o.maxSessions);
    }
  }
  return args;
}

/** Server-mode framing: peerId (u32, big-endian) ‖ payload. */
export function framePlaintext(peerId: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(peerId) || peerId < 1 || peerId > 0xffff_ffff) throw new Error(`dtls-bridge-process: peerId must be 1..2^32-1 (from a handshake event), got ${peerId}`);
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(peerId, 0);
  out.set(payload, 4);
  return out;
}

export function unframePlaintext(datagram: Uint8Array): { peerId: number; payload: Uint8Array } | undefined {
  if (datagram.length < 4) return undefined;
  return { peerId: Buffer.from(datagram.buffer, datagram.byteOffset, 4).readUInt32BE(0), payload: datagram.subarray(4) };
}

/** A control command (dtls-bridge/README.md "Control"). */
export type BridgeCommand = { cmd: 'stats' | 'reconnect' | 'shutdown' } | { cmd: 'close'; peerId: number }
  /** Fleet mode: open session `peerId` with a PSK identity, or a certificate chain and key file. */
  | { cmd: 'open'; peerId: number; identity: string } | { cmd: 'open'; peerId: number; certFile: string; keyFile: string }
  /** DTLS 1.3 (wolfssl-bridge): resume and send these bytes (hex) as 0-RTT early data in the first flight. */
  | { cmd: 'reconnect'; earlyData: string };

/**
 * The longest control line the bridge takes, without its newline (MaxControlLineBytes in
 * dtls-bridge/bridge/control.go). The bridge discards a longer line with an error event; refusing
 * it here tells the caller which command it was.
 */
export const DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES = 64 * 1024;

/** The control line for a command, newline included; throws if the bridge would discard it. */
export function controlLine(cmd: BridgeCommand): string {
  const json = JSON.stringify(cmd);
  const bytes = Buffer.byteLength(json);
  if (bytes > DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES) {
    throw new Error(`dtls-bridge-process: the ${String(cmd.cmd)} control line is ${bytes} bytes, over the bridge's ${DTLS_BRIDGE_CONTROL_LINE_MAX_BYTES}-byte (64 KiB) limit; send only the command's own fields (dtls-bridge/README.md "Control")`);
  }
  return json + '\n';
}

let build: Promise<string> | undefined;

/** build.sh's exit status when Go or the pion sources are missing (dtls-bridge/env.sh). */
const MISSING_PREREQUISITE_STATUS = 3;

/**
 * The bridge cannot be built because Go or Debian's pion/dtls sources are missing: the one
 * build failure a scenario or test may report as skipped (outside CI). A compile error is not one.
 */
export class DtlsBridgeUnavailableError extends Error {
  override readonly name = 'DtlsBridgeUnavailableError';
}

/**
 * Build the bridge with dtls-bridge/build.sh if it is missing or older than its sources (the
 * script decides; it takes well under a second when up to date). Once per process. Rejects with
 * a DtlsBridgeUnavailableError when a prerequisite is missing, and with the compiler's own
 * message for anything else (a Go compile error is a failure, never a skip).
 */
export function ensureDtlsBridge(): Promise<string> {
  if (process.env[DTLS_BRIDGE_PREBUILT_ENV] === '1') {
    // Inside a role container: the project is mounted read-only and there is no Go; the host
    // built the (static) binary before starting the container (topology/containers-dtls-topology.ts).
    return existsSync(DTLS_BRIDGE_BINARY)
      ? Promise.resolve(DTLS_BRIDGE_BINARY)
      : Promise.reject(new Error(`dtls-bridge-process: ${DTLS_BRIDGE_BINARY} is missing in this container; build it on the host with dtls-bridge/build.sh before starting DTLS roles`));
  }
  build ??= new Promise<string>((resolveBuild, reject) => {
    const script = join(DTLS_BRIDGE_DIR, 'build.sh');
    if (!existsSync(script)) {
      reject(new Error(`dtls-bridge-process: ${script} is missing; the dtls-bridge sources are not in this checkout`));
      return;
    }
    execFile('bash', [script], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (!err && existsSync(DTLS_BRIDGE_BINARY)) return resolveBuild(DTLS_BRIDGE_BINARY);
      const output = stderr.trim().split('\n').slice(-40).join('\n') || (err as Error | null)?.message || `${DTLS_BRIDGE_BINARY} was not written`;
      if ((err as { code?: unknown } | null)?.code === MISSING_PREREQUISITE_STATUS) {
        reject(new DtlsBridgeUnavailableError(`dtls-bridge-process: cannot build the DTLS bridge (${output}); install Go and pion/dtls with: ${DTLS_BRIDGE_INSTALL_HINT}`));
        return;
      }
      reject(new Error(`dtls-bridge-process: ${script} failed to build the DTLS bridge; fix the Go sources in dtls-bridge/:\n${output}`));
    });
  });
  build.catch(() => (build = undefined));
  return build;
}

export interface StartOptions {
  /** Name for the observation log, e.g. "gateway/dtls". */
  readonly name: string;
  readonly startTimeoutMs?: number;
}

export class DtlsBridgeProcess {
  readonly log: ObservationLog<BridgeEventName>;
  readonly mode: 'server' | 'client' | 'fleet';
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #socket: UdpSocket;
  #bridgePlain: UdpAddress | undefined;
  #dtls: UdpAddress | undefined;
  #handlers: ((payload: Uint8Array, peerId: number) => void)[] = [];
  #eventHandlers: ((o: Observation<BridgeEventName>) => void)[] = [];
  #stderrTail = '';
  #exited: Promise<number | null>;

  private constructor(name: string, mode: 'server' | 'client' | 'fleet', child: ChildProcessWithoutNullStreams, socket: UdpSocket) {
    this.log = new ObservationLog(name);
    this.mode = mode;
    this.#child = child;
    this.#socket = socket;
    this.#exited = new Promise((r) => child.once('exit', (code, signal) => {
      this.log.record('exit', `bridge exited (${signal ?? `code ${code}`})`, { code, signal, stderr: this.#stderrTail });
      r(code);
    }));
    createInterface({ input: child.stdout }).on('line', (line) => this.#event(line));
    child.stderr.on('data', (b: Buffer) => (this.#stderrTail = (this.#stderrTail + b.toString()).slice(-2000)));
    socket.on('message', (msg, rinfo) => this.#datagram(msg, rinfo));
  }

  /** Spawn the bridge (building it first if needed) and resolve once it reports `listening`. */
  static async start(options: AnyDtlsBridgeOptions, start: StartOptions): Promise<DtlsBridgeProcess> {
    const socket = createSocket('udp4');
    await new Promise<void>((r, j) => {
      socket.once('error', j);
      socket.bind(0, '127.0.0.1', () => r());
    });
    const own = socket.address();
    let binary: string;
    let args: string[];
    try {
      ({ binary, args } = await bridgeLaunch(options, { own: { host: own.address, port: own.port } }));
    } catch (err) {
      socket.close();
      throw err;
    }
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const bridge = new DtlsBridgeProcess(start.name, options.mode, child, socket);
    const timeoutMs = start.startTimeoutMs ?? 10_000;
    try {
      const ready = await Promise.race([
        bridge.log.waitFor('the listening event', (o) => o.kind === 'listening' || o.kind === 'exit' || (o.kind === 'error' && o.detail.scope === 'startup'), timeoutMs),
        new Promise<never>((_r, j) => child.once('error', (e) => j(new Error(`dtls-bridge-process: cannot run ${binary}: ${e.message}; rebuild it with dtls-bridge/build.sh`)))),
      ]);
      if (ready.kind !== 'listening') throw new Error(`dtls-bridge-process: ${start.name} did not start: ${String(ready.detail.error ?? bridge.#stderrTail.trim())}`);
      bridge.#bridgePlain = parseAddress(ready.detail.plain);
      if (options.mode === 'server') bridge.#dtls = parseAddress(ready.detail.dtls);
      return bridge;
    } catch (err) {
      await bridge.stop();
      throw err;
    }
  }

  /** Server: the DTLS address clients connect to. */
  get dtlsAddress(): UdpAddress {
    if (!this.#dtls) throw new Error('dtls-bridge-process: only a server bridge has a DTLS listening address');
    return this.#dtls;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Receive decrypted datagrams. peerId is 0 in client mode (one peer, no header). */
  onDatagram(handler: (payload: Uint8Array, peerId: number) => void): void {
    this.#handlers.push(handler);
  }

  /** Be told of every bridge event as it is recorded. */
  onEvent(handler: (o: Observation<BridgeEventName>) => void): void {
    this.#eventHandlers.push(handler);
  }

  /** Send one plaintext datagram to be encrypted: to `peerId` (server; fleet: the session) or to the server (client). */
  send(payload: Uint8Array, peerId?: number): void {
    const to = this.#bridgePlain;
    if (!to) throw new Error('dtls-bridge-process: not started');
    let datagram: Uint8Array;
    if (this.mode !== 'client') {
      if (peerId === undefined) throw new Error(`dtls-bridge-process: a ${this.mode} bridge needs the peerId to send to (a server's handshake event, or the fleet session's id)`);
      datagram = framePlaintext(peerId, payload);
    } else {
      datagram = payload;
    }
    this.#socket.send(datagram, to.port, to.host);
  }

  /** Write one control line (dtls-bridge/README.md "Control"). */
  command(cmd: BridgeCommand): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) throw new Error(`dtls-bridge-process: ${this.log.role} has exited; cannot send ${cmd.cmd}`);
    this.#child.stdin.write(controlLine(cmd));
  }

  async stats(timeoutMs = 5_000): Promise<Readonly<Record<string, unknown>>> {
    const before = this.log.ofKind('stats').length;
    this.command({ cmd: 'stats' });
    const all = await this.log.waitForCount('a stats event', (o) => o.kind === 'stats', before + 1, timeoutMs);
    return (all[all.length - 1] as { detail: Readonly<Record<string, unknown>> }).detail;
  }

  /** The next handshake outcome after `sinceIndex` observations (ok or failed), bounded. */
  async handshakeOutcome(timeoutMs: number, sinceIndex = 0): Promise<{ ok: boolean; event: Readonly<Record<string, unknown>> }> {
    const isOutcome = (e: Observation<BridgeEventName>) => e.kind === 'handshake' || e.kind === 'handshake-failed' || e.kind === 'exit';
    // all() is the live array: remember how much of it was already looked at.
    const entries = this.log.all();
    const seen = entries.length;
    const past = entries.slice(sinceIndex, seen).find(isOutcome);
    const o = past ?? (await this.log.waitFor('a handshake outcome', (e) => isOutcome(e) && entries.indexOf(e) >= seen, timeoutMs));
    return { ok: o.kind === 'handshake', event: o.detail };
  }

  /** SIGTERM, then wait (bounded) for exit; SIGKILL if it does not go. Returns the exit code. */
  async stop(timeoutMs = 5_000): Promise<number | null> {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#child.exitCode;
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<null>((r) => {
      timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        r(null);
      }, timeoutMs);
    });
    const code = await Promise.race([this.#exited, killed]);
    clearTimeout(timer);
    return code;
  }

  #event(line: string): void {
    let parsed: BridgeEvent;
    try {
      parsed = JSON.parse(line) as BridgeEvent;
    } catch {
      this.log.record('error', `unparsable bridge output: ${line.slice(0, 200)}`, { scope: 'driver', error: line.slice(0, 200) });
      return;
    }
    const { event, ...detail } = parsed;
    const o = this.log.record(event, summarise(parsed), detail);
    for (const h of this.#eventHandlers) h(o);
  }

  #datagram(msg: Buffer, rinfo: { address: string; port: number }): void {
    const from = this.#bridgePlain;
    // Only the bridge's own plaintext socket may talk to us (anything else is another process).
    if (!from || rinfo.address !== from.host || rinfo.port !== from.port) return;
    let peerId = 0;
    let payload: Uint8Array = msg;
    if (this.mode !== 'client') {
      const unframed = unframePlaintext(msg);
      if (!unframed) return;
      ({ peerId, payload } = unframed);
    }
    for (const h of this.#handlers) h(payload, peerId);
  }
}

function parseAddress(value: unknown): UdpAddress {
  const m = typeof value === 'string' ? /^(.*):(\d+)$/.exec(value) : null;
  if (!m) throw new Error(`dtls-bridge-process: the bridge reported an address I cannot read: ${String(value)}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function summarise(e: BridgeEvent): string {
  switch (e.event) {
    case 'listening':
      return `listening (${String(e.mode)}) dtls=${String(e.dtls ?? e.connect)} plain=${String(e.plain)}`;
    case 'handshake':
      return `handshake with peer ${String(e.peerId)} ${String(e.remote)}: ${String(e.version)} ${String(e.cipherSuite)}${e.resumed ? ' (resumed)' : ''} in ${String(e.durationMs)} ms`;
    case 'handshake-failed':
      return `handshake with ${String(e.remote)} failed: ${String(e.reason)}${e.alert ? ` (${String(e.alert)})` : ''}`;
    case 'alert':
      return `alert from peer ${String(e.peerId)}: ${String(e.alert)}`;
    case 'closed':
      return e.scope === 'bridge' ? 'bridge closed' : `peer ${String(e.peerId)} closed (${String(e.how)})`;
    case 'error':
      return `error (${String(e.scope)}): ${String(e.error)}`;
    default:
      return e.event;
  }
}
