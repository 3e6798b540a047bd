/**
 * A UDP link between two roles: a relay for datagrams, with per-direction impairments
 * (impairments.ts) and a pcap tap. Toxiproxy has no UDP; DTLS needs one (docs/architecture.md §3 Roles).
 *
 * Each client address gets its own upstream socket (a flow), as a NAT would: the server answers
 * that socket and the relay returns the answer to the client it belongs to. A `reset`
 * impairment forgets the flow, so the client's next datagram leaves from a new source port (a
 * NAT rebinding, which is what DTLS connection IDs exist for).
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { isIPv4, type AddressInfo } from 'node:net';
import { ObservationLog } from '../emulators/observation-log.ts';
import { UdpFlowTap, type PcapWriter } from '../capture/pcap-writer.ts';
import { DelayQueue, ImpairmentPipeline, type LinkImpairments } from './impairments.ts';
import { DtlsDowngradeMitm } from './dtls-downgrade-mitm.ts';
import type { LinkEndpoint } from './tcp-link.ts';

export interface UdpLinkConfig {
  readonly name: string;
  readonly listen: LinkEndpoint;
  readonly target: LinkEndpoint;
  readonly capture?: PcapWriter;
  readonly impairments?: LinkImpairments;
  /** A flow with no datagram for this long is forgotten (bounds the relay's state). */
  readonly idleTimeoutMs?: number;
}

export type UdpLinkObservationKind = 'listening' | 'flow' | 'datagram' | 'impaired' | 'reset' | 'rebind' | 'error';

interface Flow {
  readonly client: RemoteInfo;
  /** Replaced by a `rebind` impairment (a new outside port, as a NAT rebinding). */
  upstream: Socket;
  readonly toServer: ImpairmentPipeline;
  readonly toClient: ImpairmentPipeline;
  readonly toServerQueue: DelayQueue;
  readonly toClientQueue: DelayQueue;
  readonly tap: UdpFlowTap | undefined;
  /** A `downgrade-mitm` impairment's state for this flow. */
  readonly mitm: DtlsDowngradeMitm | undefined;
  idle: NodeJS.Timeout | undefined;
}

/** Most flows a relay keeps at once; beyond this the oldest is forgotten. */
const MAX_FLOWS = 10_000;

export class UdpLink {
  readonly log: UdpLinkObservationLog;
  readonly #config: UdpLinkConfig;
  readonly #flows = new Map<string, Flow>();
  #socket: Socket | undefined;
  #flowCount = 0;
  /** A `rebind` impairment has moved a flow to a new outside port (once per link). */
  #rebound = false;
  #datagrams = { clientToServer: 0, serverToClient: 0 };

  constructor(config: UdpLinkConfig) {
    if (!isIPv4(config.target.host)) {
      throw new Error(`udp-link ${config.name}: the target must be an IPv4 address, got "${config.target.host}" (e.g. 127.0.0.1)`);
    }
    // Refuse impairments that make no sense before any socket exists.
    new ImpairmentPipeline(config.impairments?.clientToServer ?? [], { transport: 'udp' });
    new ImpairmentPipeline(config.impairments?.serverToClient ?? [], { transport: 'udp' });
    this.#config = config;
    this.log = new ObservationLog(`link:${config.name}`);
  }

  get datagramsRelayed(): { clientToServer: number; serverToClient: number } {
    return { ...this.#datagrams };
  }

  async start(): Promise<LinkEndpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`udp-link ${this.#config.name}: cannot bind ${this.#config.listen.host}:${this.#config.listen.port} (${err.code ?? err.message}); choose a free port`)),
      );
      socket.bind(this.#config.listen.port, this.#config.listen.host, () => resolve());
    });
    socket.on('message', (msg, rinfo) => this.#fromClient(msg, rinfo));
    socket.on('error', (err) => this.log.record('error', `listening socket: ${err.message}`, { message: err.message }));
    this.#socket = socket;
    const a = socket.address() as AddressInfo;
    this.log.record('listening', `relaying udp ${a.address}:${a.port} → ${this.#config.target.host}:${this.#config.target.port}`, { host: a.address, port: a.port });
    return { host: a.address, port: a.port };
  }

  #flow(client: RemoteInfo): Flow {
    const key = `${client.address}:${client.port}`;
    const existing = this.#flows.get(key);
    if (existing) return existing;
    if (this.#flows.size >= MAX_FLOWS) {
      const oldest = this.#flows.keys().next().value as string;
      this.#forget(oldest, 'too many flows');
    }
    const { impairments = {}, capture, target } = this.#config;
    const seed = (impairments.seed ?? 1) + 2 * this.#flowCount++;
    const flow: Flow = {
      client,
      upstream: this.#upstreamSocket(key, () => flow),
      toServer: new ImpairmentPipeline(impairments.clientToServer ?? [], { transport: 'udp', seed }),
      toClient: new ImpairmentPipeline(impairments.serverToClient ?? [], { transport: 'udp', seed: seed + 1 }),
      toServerQueue: new DelayQueue(),
      toClientQueue: new DelayQueue(),
      tap: capture ? new UdpFlowTap(capture, { address: client.address, port: client.port }, { address: target.host, port: target.port }) : undefined,
      mitm: impairments.clientToServer?.some((i) => i.kind === 'downgrade-mitm') ? new DtlsDowngradeMitm() : undefined,
      idle: undefined,
    };
    this.#flows.set(key, flow);
    this.log.record('flow', `new flow from ${key}`, { client: key });
    return flow;
  }

  /** A flow's server-facing socket: the outside port a NAT would give it. */
  #upstreamSocket(key: string, flow: () => Flow): Socket {
    const { target } = this.#config;
    const upstream = createSocket('udp4');
    // Bound to the link's own address: unbound, the first send would open the port on every
    // interface. (dgram queues sends until the bind completes.)
    upstream.bind(0, this.#config.listen.host);
    upstream.on('message', (msg, from) => {
      // Only the target may answer through this flow (a stray sender is not relayed).
      if (from.port === target.port && from.address === target.host) this.#fromServer(key, flow(), msg);
    });
    upstream.on('error', (err) => this.log.record('error', `upstream of ${key}: ${err.message}`, { flow: key, message: err.message }));
    return upstream;
  }

  /**
   * NAT rebinding (RFC 9146 §1): the flow's later datagrams leave from a new outside port and the
   * old one is closed, so the server's answers to it are lost. The client's own socket is unchanged.
   */
  #rebind(key: string, flow: Flow): void {
    if (this.#flows.get(key) !== flow || this.#rebound) return;
    this.#rebound = true;
    const old = flow.upstream;
    const before = (old.address() as AddressInfo).port;
    flow.upstream = this.#upstreamSocket(key, () => flow);
    // Answers to the old port are lost from now on, as behind a NAT; the socket itself closes a
    // moment later so the datagram sent just before the rebinding still leaves (dgram sends are asynchronous).
    old.removeAllListeners('message');
    setTimeout(() => old.close(), 100).unref();
    flow.upstream.once('listening', () => {
      const after = (flow.upstream.address() as AddressInfo).port;
      this.log.record('rebind', `flow ${key}: the server now sees it from port ${after}, not ${before}`, { client: key, fromPort: before, toPort: after });
    });
  }

  #touch(key: string, flow: Flow): void {
    clearTimeout(flow.idle);
    flow.idle = setTimeout(() => this.#forget(key, 'idle'), this.#config.idleTimeoutMs ?? 60_000);
    flow.idle.unref();
  }

  #fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    const flow = this.#flow(rinfo);
    const { target } = this.#config;
    this.#touch(key, flow);
    this.#datagrams.clientToServer += 1;
    // Tap at the client's end: a datagram is captured when the client sends it, lost or not.
    flow.tap?.datagram('a-to-b', msg);
    this.log.record('datagram', `${msg.length} bytes client→server`, { direction: 'client-to-server' }, msg);
    const plan = flow.toServer.plan(this.#attacked(flow, flow.mitm?.fromClient(msg)) ?? msg, performance.now());
    for (const note of plan.notes) this.log.record('impaired', `client→server: ${note}`, { direction: 'client-to-server', note });
    for (const d of plan.deliveries) flow.toServerQueue.at(d.atMs, () => flow.upstream.send(d.bytes, target.port, target.host));
    if (plan.resetAtMs !== undefined) flow.toServerQueue.at(plan.resetAtMs, () => this.#forget(key, 'reset impairment'));
    if (plan.rebindAtMs !== undefined) flow.toServerQueue.at(plan.rebindAtMs, () => this.#rebind(key, flow));
  }

  /** Records what a downgrade MITM did since last asked; passes its output through. */
  #attacked<T>(flow: Flow, out: T): T {
    for (const note of flow.mitm?.notes.splice(0) ?? []) this.log.record('impaired', `downgrade MITM: ${note}`, { note });
    return out;
  }

  #fromServer(key: string, flow: Flow, received: Buffer): void {
    let msg = received;
    if (flow.mitm) {
      const { toClient, toServer } = this.#attacked(flow, flow.mitm.fromServer(received));
      if (toServer) flow.upstream.send(toServer, this.#config.target.port, this.#config.target.host);
      if (!toClient) return;
      msg = Buffer.from(toClient);
    }
    this.#touch(key, flow);
    this.#datagrams.serverToClient += 1;
    this.log.record('datagram', `${msg.length} bytes server→client`, { direction: 'server-to-client' }, msg);
    const plan = flow.toClient.plan(msg, performance.now());
    for (const note of plan.notes) this.log.record('impaired', `server→client: ${note}`, { direction: 'server-to-client', note });
    for (const d of plan.deliveries) {
      flow.toClientQueue.at(d.atMs, () => {
        flow.tap?.datagram('b-to-a', d.bytes);
        this.#socket?.send(d.bytes, flow.client.port, flow.client.address);
      });
    }
    if (plan.resetAtMs !== undefined) flow.toClientQueue.at(plan.resetAtMs, () => this.#forget(key, 'reset impairment'));
    if (plan.rebindAtMs !== undefined) flow.toClientQueue.at(plan.rebindAtMs, () => this.#rebind(key, flow));
  }

  #forget(key: string, why: string): void {
    const flow = this.#flows.get(key);
    if (!flow) return;
    this.#flows.delete(key);
    clearTimeout(flow.idle);
    flow.toServerQueue.close();
    flow.toClientQueue.close();
    flow.upstream.close();
    this.log.record('reset', `forgot flow ${key} (${why})`, { client: key, why });
  }

  async stop(): Promise<void> {
    for (const key of [...this.#flows.keys()]) this.#forget(key, 'link stopped');
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((r) => socket.close(() => r()));
  }
}

type UdpLinkObservationLog = ObservationLog<UdpLinkObservationKind>;
