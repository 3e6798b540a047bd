/**
 * A TCP link between two roles: a relay that passes every byte on, and records what crossed it
 * into the run's pcap (DESIGN.md §7: "a tap in the relay writes pcap for any topology").
 *
 * Impairments (latency, loss, …) compose on this link in a later stage; the relay itself never
 * alters a byte (Toxiproxy's rule: every byte read is passed on unless dropping is the point).
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { ObservationLog } from '../emulators/observation-log.ts';
import { TcpConversationTap, type PcapWriter } from '../capture/pcap-writer.ts';

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
}

export type LinkObservationKind = 'listening' | 'connection' | 'bytes' | 'closed' | 'error';

export class TcpLink {
  readonly log: ObservationLog<LinkObservationKind>;
  readonly #config: TcpLinkConfig;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #bytes = { clientToServer: 0, serverToClient: 0 };

  constructor(config: TcpLinkConfig) {
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
    const { target, capture } = this.#config;
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    this.#sockets.add(client).add(upstream);
    const clientEnd = { address: client.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', port: client.remotePort ?? 0 };
    const tap = capture ? new TcpConversationTap(capture, clientEnd, { address: target.host, port: target.port }) : undefined;
    tap?.open();
    this.log.record('connection', `connection from ${clientEnd.address}:${clientEnd.port}`, { client: clientEnd });
    let closed = false;
    const close = (initiator: 'client' | 'server', why: string) => {
      if (closed) return;
      closed = true;
      tap?.close(initiator);
      this.log.record('closed', `connection closed by ${initiator} (${why})`, { initiator });
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      this.#bytes.clientToServer += chunk.length;
      tap?.data('client-to-server', chunk);
      this.log.record('bytes', `${chunk.length} bytes client→server`, { direction: 'client-to-server' }, chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      this.#bytes.serverToClient += chunk.length;
      tap?.data('server-to-client', chunk);
      this.log.record('bytes', `${chunk.length} bytes server→client`, { direction: 'server-to-client' }, chunk);
      client.write(chunk);
    });
    client.on('end', () => close('client', 'FIN'));
    upstream.on('end', () => close('server', 'FIN'));
    client.on('error', (err) => {
      this.log.record('error', `client side: ${err.message}`, { side: 'client', message: err.message });
      close('client', err.message);
    });
    upstream.on('error', (err) => {
      this.log.record('error', `server side: ${err.message}`, { side: 'server', message: err.message });
      close('server', err.message);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
