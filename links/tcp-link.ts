/**
 * A TCP link between two roles: a relay that passes every byte on, and records what crossed it
 * into the run's pcap (docs/architecture.md §7 Evidence: "a tap in the relay writes pcap for any topology").
 *
 * Impairments (latency, loss, bandwidth, reset…, see impairments.ts) compose on this link per
 * direction; the relay itself never alters a byte (Toxiproxy's rule: every byte read is passed
 * on unless dropping is the point).
 */
import { createServer, connect, isIPv4, type Server, type Socket, type AddressInfo } from 'node:net';
import { ObservationLog } from '../emulators/observation-log.ts';
import { TcpConversationTap, realTimeMicros, type PcapWriter } from '../capture/pcap-writer.ts';
import { DelayQueue, ImpairmentPipeline, baseDelayMs, type LinkImpairments } from './impairments.ts';
import { stopListener } from './stop-listener.ts';

export interface LinkEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface TcpLinkConfig {
  readonly name: string;
  readonly listen: LinkEndpoint;
  readonly target: LinkEndpoint;
  /** Where to record the conversation; undefined = no capture. */
  readonly capture?: PcapWriter;
  /** Per-direction impairments (impairments.ts); undefined = a clean link. */
  readonly impairments?: LinkImpairments;
}

/** performance.now() milliseconds → epoch microseconds, the capture's clock. */
function micros(performanceMs: number): bigint {
  return BigInt(Math.round((performance.timeOrigin + performanceMs) * 1000));
}

export type LinkObservationKind = 'listening' | 'connection' | 'bytes' | 'closed' | 'error' | 'impaired' | 'reset';

export class TcpLink {
  readonly log: ObservationLog<LinkObservationKind>;
  readonly #config: TcpLinkConfig;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #bytes = { clientToServer: 0, serverToClient: 0 };
  readonly #resets = new Set<(why: string) => void>();
  readonly #closers = new Set<(initiator: 'client' | 'server', why: string) => void>();
  #connections = 0;

  constructor(config: TcpLinkConfig) {
    // The capture tap records real addresses; a name would have to be resolved first.
    if (config.capture && !isIPv4(config.target.host)) {
      throw new Error(`link ${config.name}: a captured link needs an IPv4 target address, got "${config.target.host}"; resolve the name first (e.g. 127.0.0.1)`);
    }
    // Refuse impairments a TCP link cannot carry out before any connection arrives.
    new ImpairmentPipeline(config.impairments?.clientToServer ?? [], { transport: 'tcp' });
    new ImpairmentPipeline(config.impairments?.serverToClient ?? [], { transport: 'tcp' });
    this.#config = config;
    this.log = new ObservationLog(`link:${config.name}`);
  }

  get name(): string {
    return this.#config.name;
  }

  get bytesRelayed(): { clientToServer: number; serverToClient: number } {
    return { ...this.#bytes };
  }

  async start(): Promise<LinkEndpoint> {
    const server = createServer({ noDelay: true }, (client) => this.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`link ${this.#config.name}: cannot listen on ${this.#config.listen.host}:${this.#config.listen.port} (${err.code ?? err.message}); choose a free port`)),
      );
      server.listen(this.#config.listen.port, this.#config.listen.host, () => resolve());
    });
    this.#server = server;
    const a = server.address() as AddressInfo;
    this.log.record('listening', `relaying ${a.address}:${a.port} → ${this.#config.target.host}:${this.#config.target.port}`, { host: a.address, port: a.port });
    return { host: a.address, port: a.port };
  }

  #relay(client: Socket): void {
    const { target, capture, impairments = {} } = this.#config;
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    this.#sockets.add(client).add(upstream);
    const clientEnd = { address: client.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', port: client.remotePort ?? 0 };
    // Each connection draws its own reproducible random stream from the link's seed.
    const seed = (impairments.seed ?? 1) + 2 * this.#connections++;
    const toServer = new ImpairmentPipeline(impairments.clientToServer ?? [], { transport: 'tcp', seed });
    const toClient = new ImpairmentPipeline(impairments.serverToClient ?? [], { transport: 'tcp', seed: seed + 1 });
    const toServerQueue = new DelayQueue();
    const toClientQueue = new DelayQueue();
    // The tap stands at the client's end of the emulated link: client bytes are stamped when
    // they leave the client, server bytes when they reach it — what a sniffer beside the device sees.
    const stamps: bigint[] = [];
    const tap = capture ? new TcpConversationTap(capture, clientEnd, { address: target.host, port: target.port }, { clock: () => stamps.shift() ?? realTimeMicros() }) : undefined;
    // A real client cannot send before its SYN has gone out and the SYN-ACK come back: one link
    // round trip. The loopback kernel completes that at once, so the link holds client bytes
    // until then and stamps the handshake as an observer at the device would have seen it.
    const openedAt = performance.now();
    const handshakeRttMs = baseDelayMs(impairments.clientToServer) + baseDelayMs(impairments.serverToClient);
    const clientMaySendAt = openedAt + handshakeRttMs;
    stamps.push(micros(openedAt), micros(clientMaySendAt), micros(clientMaySendAt));
    tap?.open();
    stamps.length = 0;
    this.log.record('connection', `connection from ${clientEnd.address}:${clientEnd.port}`, { client: clientEnd });
    let closed = false;
    const close = (initiator: 'client' | 'server', why: string) => {
      if (closed) return;
      closed = true;
      toServerQueue.close();
      toClientQueue.close();
      tap?.close(initiator);
      this.log.record('closed', `connection closed by ${initiator} (${why})`, { initiator });
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      this.#resets.delete(resetNow);
      this.#closers.delete(close);
    };
    this.#closers.add(close);
    // RST both ways, as a middlebox or a crashed peer would (Toxiproxy's reset_peer).
    const resetNow = (why: string) => {
      if (closed) return;
      closed = true;
      toServerQueue.close();
      toClientQueue.close();
      tap?.reset('server');
      this.log.record('reset', `connection reset (${why})`, { why });
      this.#resets.delete(resetNow);
      this.#closers.delete(close);
      // A socket with a write still queued closes with FIN instead of RST: let the bytes
      // before the reset leave first. And give the peer 20 ms to read them: on Linux an RST that
      // lands while the peer still has unread bytes queued ends the connection for it as an EOF
      // (its next read returns 0), not ECONNRESET. At 1 ms the test client saw a FIN-like end in
      // 2 of 15 runs on an idle host (fresh-clone CI of 1bf9b5e); at 20 ms 0 of 200.
      // The RST goes out from a setImmediate after that timer, i.e. after the event loop's next
      // poll phase: if this process stalls past the 20 ms (a loaded host), the timer fires before
      // any read, and a peer in this process (tests, the local rigs) would otherwise meet the RST
      // with its bytes still unread (links.test.ts stalls the process on purpose to show it).
      const rst = () => {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      if (client.destroyed) rst();
      else client.write(new Uint8Array(0), () => setTimeout(() => setImmediate(rst), 20));
    };
    this.#resets.add(resetNow);
    const impaired = (notes: readonly string[], direction: string) => {
      for (const note of notes) this.log.record('impaired', `${direction}: ${note}`, { direction, note });
    };
    client.on('data', (chunk: Buffer) => {
      this.#bytes.clientToServer += chunk.length;
      const sentAt = Math.max(performance.now(), clientMaySendAt);
      stamps.push(micros(sentAt));
      tap?.data('client-to-server', chunk);
      stamps.length = 0;
      this.log.record('bytes', `${chunk.length} bytes client→server`, { direction: 'client-to-server' }, chunk);
      const plan = toServer.plan(chunk, sentAt);
      impaired(plan.notes, 'client→server');
      for (const d of plan.deliveries) toServerQueue.at(d.atMs, () => upstream.write(d.bytes));
      if (plan.resetAtMs !== undefined) toServerQueue.at(plan.resetAtMs, () => resetNow('client→server reset impairment'));
    });
    upstream.on('data', (chunk: Buffer) => {
      this.#bytes.serverToClient += chunk.length;
      this.log.record('bytes', `${chunk.length} bytes server→client`, { direction: 'server-to-client' }, chunk);
      const plan = toClient.plan(chunk, performance.now());
      impaired(plan.notes, 'server→client');
      for (const d of plan.deliveries) {
        toClientQueue.at(d.atMs, () => {
          tap?.data('server-to-client', d.bytes);
          client.write(d.bytes);
        });
      }
      if (plan.resetAtMs !== undefined) toClientQueue.at(plan.resetAtMs, () => resetNow('server→client reset impairment'));
    });
    // A FIN travels behind the data sent before it.
    const finAfter = (pipeline: ImpairmentPipeline, queue: DelayQueue, initiator: 'client' | 'server') => () => {
      const due = pipeline.plan(new Uint8Array(0), performance.now()).deliveries[0]?.atMs ?? performance.now();
      queue.at(due, () => close(initiator, 'FIN'));
    };
    client.on('end', finAfter(toServer, toServerQueue, 'client'));
    upstream.on('end', finAfter(toClient, toClientQueue, 'server'));
    client.on('error', (err) => {
      this.log.record('error', `client side: ${err.message}`, { side: 'client', message: err.message });
      close('client', err.message);
    });
    upstream.on('error', (err) => {
      this.log.record('error', `server side: ${err.message}`, { side: 'server', message: err.message });
      close('server', err.message);
    });
  }

  /** Reset every open connection now (RST to both ends), e.g. to emulate a broker-side drop. */
  resetConnections(why = 'reset by the test'): number {
    const resets = [...this.#resets];
    for (const r of resets) r(why);
    return resets.length;
  }

  async stop(): Promise<void> {
    for (const close of [...this.#closers]) close('server', 'link stopped');
    const server = this.#server;
    this.#server = undefined;
    await stopListener(server, this.#sockets);
  }
}
