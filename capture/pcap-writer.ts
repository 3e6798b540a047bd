// Writes classic libpcap files (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html:
// magic 0xa1b2c3d4, version 2.4, microsecond timestamps) with LINKTYPE_ETHERNET frames, and
// synthesizes faithful IPv4 TCP and UDP packets from what a relay sees on its sockets.
//
// Why synthesize: a userspace relay sees application bytes, not packets, and captures must work
// without root. The frames carry correct IPv4 header checksums (RFC 791 §3.1) and TCP/UDP
// checksums over the pseudo-header (RFC 9293 §3.1, RFC 768), exact sequence and
// acknowledgement numbers and a full handshake, so Wireshark and tshark show a clean
// conversation (no checksum errors, no "lost segment" or "retransmission" analysis flags) and
// can decrypt TLS in it with a key log.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type Endpoint, checkPort, internetChecksum, parseIPv4 } from './inet.ts';

export type { Endpoint } from './inet.ts';

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
/** Largest frame we ever write: an IPv4 packet of 65535 bytes plus the Ethernet header. */
export const PCAP_SNAPLEN = 262144;
/** RFC 768 payload limit for one IPv4 datagram without fragmentation: 65535 − 20 − 8. */
export const MAX_UDP_PAYLOAD = 65507;

const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;
const TCP_HEADER = 20;
const UDP_HEADER = 8;
const IP_PROTO_TCP = 6;
const IP_PROTO_UDP = 17;

/** Real time in microseconds since the epoch, with sub-millisecond resolution. */
export function realTimeMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

export class PcapWriter {
  #fd: number | undefined;
  readonly #path: string;
  #frames = 0;

  private constructor(path: string, fd: number) {
    this.#path = path;
    this.#fd = fd;
  }

  /** Creates parent folders and the file (truncating it) and writes the global header now. */
  static open(path: string): PcapWriter {
    mkdirSync(dirname(path), { recursive: true });
    // 0600: a capture may hold secrets in clear — the plaintext-MQTT scenario's captures carry
    // a device's username and password — so it is as private as the key log beside it.
    const fd = openSync(path, 'w', 0o600);
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, PCAP_MAGIC_MICROS, true);
    header.setUint16(4, 2, true);
    header.setUint16(6, 4, true);
    header.setInt32(8, 0, true); // thiszone: timestamps are UTC
    header.setUint32(12, 0, true); // sigfigs
    header.setUint32(16, PCAP_SNAPLEN, true);
    header.setUint32(20, LINKTYPE_ETHERNET, true);
    writeSync(fd, new Uint8Array(header.buffer));
    return new PcapWriter(path, fd);
  }

  get path(): string {
    return this.#path;
  }

  get frameCount(): number {
    return this.#frames;
  }

  /**
   * Appends one Ethernet frame. Written synchronously so that a capture is complete up to the
   * last frame even if the process dies, and so that frames keep the order of the calls.
   */
  writeFrame(timestampMicros: bigint | number, frame: Uint8Array): void {
    if (this.#fd === undefined) {
      throw new Error(`pcap-writer: ${this.#path} is closed; write frames before close()`);
    }
    if (frame.length > PCAP_SNAPLEN) {
      throw new Error(`pcap-writer: frame of ${frame.length} bytes exceeds the snapshot length ${PCAP_SNAPLEN}`);
    }
    const micros = BigInt(timestampMicros);
    if (micros < 0n) throw new Error(`pcap-writer: timestamp must not be negative, got ${micros}`);
    const record = new DataView(new ArrayBuffer(16));
    record.setUint32(0, Number(micros / 1_000_000n), true);
    record.setUint32(4, Number(micros % 1_000_000n), true);
    record.setUint32(8, frame.length, true);
    record.setUint32(12, frame.length, true);
    writeSync(this.#fd, new Uint8Array(record.buffer));
    writeSync(this.#fd, frame);
    this.#frames += 1;
  }

  /** Flushes to disk and closes; safe to call more than once. */
  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    fsyncSync(fd);
    closeSync(fd);
  }
}

/**
 * A locally administered unicast MAC (IEEE 802 §8.4: bit 1 of the first octet set, bit 0 clear)
 * derived from the IPv4 address, so each synthetic host has a stable, recognizable MAC.
 */
export function macForIPv4(ip: Uint8Array): Uint8Array {
  return Uint8Array.of(0x02, 0x00, ip[0]!, ip[1]!, ip[2]!, ip[3]!);
}

interface Host {
  ip: Uint8Array;
  mac: Uint8Array;
  port: number;
  /** IPv4 identification field, incremented per packet sent by this host. */
  ipId: number;
}

function host(endpoint: Endpoint, what: string): Host {
  checkPort(endpoint.port, what);
  const ip = parseIPv4(endpoint.address);
  return { ip, mac: macForIPv4(ip), port: endpoint.port, ipId: randomBytes(2).readUInt16BE(0) };
}

/** Ethernet + IPv4 header around an already checksummed transport segment. */
function ipv4Frame(from: Host, to: Host, protocol: number, segment: Uint8Array, dontFragment: boolean): Uint8Array {
  const total = IPV4_HEADER + segment.length;
  if (total > 0xffff) throw new Error(`pcap-writer: IPv4 packet of ${total} bytes exceeds 65535`);
  const frame = new Uint8Array(ETHERNET_HEADER + total);
  frame.set(to.mac, 0);
  frame.set(from.mac, 6);
  frame[12] = 0x08; // EtherType IPv4
  frame[13] = 0x00;
  const ip = new DataView(frame.buffer, ETHERNET_HEADER, IPV4_HEADER);
  ip.setUint8(0, 0x45); // version 4, IHL 5 (no options)
  ip.setUint8(1, 0); // DSCP/ECN
  ip.setUint16(2, total);
  ip.setUint16(4, from.ipId);
  from.ipId = (from.ipId + 1) & 0xffff;
  ip.setUint16(6, dontFragment ? 0x4000 : 0);
  ip.setUint8(8, 64); // TTL
  ip.setUint8(9, protocol);
  frame.set(from.ip, ETHERNET_HEADER + 12);
  frame.set(to.ip, ETHERNET_HEADER + 16);
  ip.setUint16(10, internetChecksum(frame.subarray(ETHERNET_HEADER, ETHERNET_HEADER + IPV4_HEADER)));
  frame.set(segment, ETHERNET_HEADER + IPV4_HEADER);
  return frame;
}

/** RFC 9293 §3.1 / RFC 768 pseudo-header: source, destination, zero, protocol, length. */
function pseudoHeader(from: Host, to: Host, protocol: number, length: number): Uint8Array {
  const p = new Uint8Array(12);
  p.set(from.ip, 0);
  p.set(to.ip, 4);
  p[9] = protocol;
  p[10] = length >>> 8;
  p[11] = length & 0xff;
  return p;
}

export interface TcpFlags {
  syn?: boolean;
  ack?: boolean;
  fin?: boolean;
  rst?: boolean;
  psh?: boolean;
}

/** Our SYN options: MSS (kind 2) and window scale (kind 3), padded with NOPs to 32 bits. */
function synOptions(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, mss >>> 8, mss & 0xff, 1, 3, 3, WINDOW_SCALE);
}

/**
 * Window scale shift advertised in the SYNs (RFC 7323 §2): 65535 << 7 ≈ 8 MiB, so that the
 * synthetic receiver never appears to have a full window for the chunk sizes a relay sees.
 */
const WINDOW_SCALE = 7;
const WINDOW_BYTES = 0xffff << WINDOW_SCALE;

function tcpSegment(
  from: Host, to: Host, seq: number, ack: number, flags: TcpFlags, payload: Uint8Array, options: Uint8Array,
): Uint8Array {
  const headerLength = TCP_HEADER + options.length;
  const segment = new Uint8Array(headerLength + payload.length);
  const tcp = new DataView(segment.buffer);
  tcp.setUint16(0, from.port);
  tcp.setUint16(2, to.port);
  tcp.setUint32(4, seq >>> 0);
  tcp.setUint32(8, flags.ack ? ack >>> 0 : 0);
  const bits = (flags.fin ? 0x01 : 0) | (flags.syn ? 0x02 : 0) | (flags.rst ? 0x04 : 0)
    | (flags.psh ? 0x08 : 0) | (flags.ack ? 0x10 : 0);
  tcp.setUint16(12, ((headerLength / 4) << 12) | bits);
  // The window in a SYN is never scaled (RFC 7323 §2.2); afterwards 0xffff means 8 MiB.
  tcp.setUint16(14, 0xffff);
  segment.set(options, TCP_HEADER);
  segment.set(payload, headerLength);
  tcp.setUint16(16, internetChecksum(pseudoHeader(from, to, IP_PROTO_TCP, segment.length), segment));
  return segment;
}

function udpSegment(from: Host, to: Host, payload: Uint8Array): Uint8Array {
  const segment = new Uint8Array(UDP_HEADER + payload.length);
  const udp = new DataView(segment.buffer);
  udp.setUint16(0, from.port);
  udp.setUint16(2, to.port);
  udp.setUint16(4, segment.length);
  segment.set(payload, UDP_HEADER);
  // RFC 768: a computed checksum of zero is sent as all ones (zero means "no checksum").
  udp.setUint16(6, internetChecksum(pseudoHeader(from, to, IP_PROTO_UDP, segment.length), segment) || 0xffff);
  return segment;
}

export type TcpDirection = 'client-to-server' | 'server-to-client';
export type TcpTapState = 'new' | 'open' | 'closed';

interface TcpSide extends Host {
  /** Next sequence number this side will send. */
  nextSeq: number;
}

/**
 * Synthesizes one TCP connection from a relay's view of it: handshake, data segmented at the
 * MSS with exact sequence numbers and acknowledgements, and an orderly close or a reset.
 */
export class TcpConversationTap {
  readonly #writer: PcapWriter;
  readonly #client: TcpSide;
  readonly #server: TcpSide;
  readonly #mss: number;
  readonly #clock: () => bigint;
  #state: TcpTapState = 'new';

  constructor(writer: PcapWriter, client: Endpoint, server: Endpoint, options: { mss?: number; clock?: () => bigint } = {}) {
    const mss = options.mss ?? 1460;
    // An IPv4 packet holds at most 65535 − 20 (IP) − 20 (TCP) bytes of payload.
    if (!Number.isInteger(mss) || mss < 1 || mss > 65495) {
      throw new Error(`tcp-tap: mss must be an integer 1..65495, got ${mss}`);
    }
    this.#writer = writer;
    this.#mss = mss;
    this.#clock = options.clock ?? realTimeMicros;
    // Random initial sequence numbers, as RFC 6528 asks of real stacks; reassembly must not
    // depend on them starting anywhere in particular.
    this.#client = { ...host(client, 'client'), nextSeq: randomBytes(4).readUInt32BE(0) };
    this.#server = { ...host(server, 'server'), nextSeq: randomBytes(4).readUInt32BE(0) };
  }

  get state(): TcpTapState {
    return this.#state;
  }

  /** SYN, SYN-ACK, ACK; the SYNs carry the MSS and window-scale options. Idempotent. */
  open(): void {
    if (this.#state !== 'new') return;
    const c = this.#client;
    const s = this.#server;
    this.#emit(c, s, { syn: true }, new Uint8Array(0), synOptions(this.#mss));
    c.nextSeq = (c.nextSeq + 1) >>> 0;
    this.#emit(s, c, { syn: true, ack: true }, new Uint8Array(0), synOptions(this.#mss));
    s.nextSeq = (s.nextSeq + 1) >>> 0;
    this.#emit(c, s, { ack: true });
    this.#state = 'open';
  }

  /**
   * Bytes one side sent: segments of at most MSS bytes, PSH on the last, then a pure ACK from
   * the receiver. Opens the connection first if open() was not called.
   */
  data(direction: TcpDirection, bytes: Uint8Array): void {
    if (direction !== 'client-to-server' && direction !== 'server-to-client') {
      throw new Error(`tcp-tap: direction must be 'client-to-server' or 'server-to-client', got '${String(direction)}'`);
    }
    if (this.#state === 'closed') {
      throw new Error(`tcp-tap: ${bytes.length} bytes ${direction} after the connection was closed or reset; `
        + 'call close()/reset() only after both directions have ended');
    }
    if (bytes.length === 0) return;
    this.open();
    const [from, to] = direction === 'client-to-server' ? [this.#client, this.#server] : [this.#server, this.#client];
    let unacked = 0;
    for (let offset = 0; offset < bytes.length; offset += this.#mss) {
      const chunk = bytes.subarray(offset, Math.min(offset + this.#mss, bytes.length));
      const last = offset + chunk.length === bytes.length;
      this.#emit(from, to, { ack: true, psh: last }, chunk);
      from.nextSeq = (from.nextSeq + chunk.length) >>> 0;
      unacked += chunk.length;
      // Acknowledge before the sender could exceed the receiver's advertised window.
      if (last || unacked + this.#mss > WINDOW_BYTES / 2) {
        this.#emit(to, from, { ack: true });
        unacked = 0;
      }
    }
  }

  /** Orderly close: FIN/ACK from the initiator, FIN/ACK back, final ACK. Idempotent. */
  close(initiator: 'client' | 'server'): void {
    if (this.#state === 'closed') return;
    this.open();
    const [a, b] = this.#sides(initiator);
    this.#emit(a, b, { fin: true, ack: true });
    a.nextSeq = (a.nextSeq + 1) >>> 0;
    this.#emit(b, a, { fin: true, ack: true });
    b.nextSeq = (b.nextSeq + 1) >>> 0;
    this.#emit(a, b, { ack: true });
    this.#state = 'closed';
  }

  /** Abortive close: one RST/ACK from the given side (RFC 9293 §3.5.2). No-op once closed. */
  reset(from: 'client' | 'server'): void {
    if (this.#state === 'closed') return;
    this.open();
    const [a, b] = this.#sides(from);
    this.#emit(a, b, { rst: true, ack: true });
    this.#state = 'closed';
  }

  #sides(who: 'client' | 'server'): [TcpSide, TcpSide] {
    if (who === 'client') return [this.#client, this.#server];
    if (who === 'server') return [this.#server, this.#client];
    throw new Error(`tcp-tap: side must be 'client' or 'server', got '${String(who)}'`);
  }

  #emit(from: TcpSide, to: TcpSide, flags: TcpFlags, payload: Uint8Array = new Uint8Array(0), options: Uint8Array = new Uint8Array(0)): void {
    const segment = tcpSegment(from, to, from.nextSeq, to.nextSeq, flags, payload, options);
    this.#writer.writeFrame(this.#clock(), ipv4Frame(from, to, IP_PROTO_TCP, segment, true));
  }
}

export type UdpDirection = 'a-to-b' | 'b-to-a';

/** Synthesizes the UDP datagrams exchanged between two endpoints, one packet per datagram. */
export class UdpFlowTap {
  readonly #writer: PcapWriter;
  readonly #a: Host;
  readonly #b: Host;
  readonly #clock: () => bigint;

  constructor(writer: PcapWriter, a: Endpoint, b: Endpoint, options: { clock?: () => bigint } = {}) {
    this.#writer = writer;
    this.#a = host(a, 'a');
    this.#b = host(b, 'b');
    this.#clock = options.clock ?? realTimeMicros;
  }

  datagram(direction: UdpDirection, bytes: Uint8Array): void {
    if (direction !== 'a-to-b' && direction !== 'b-to-a') {
      throw new Error(`udp-tap: direction must be 'a-to-b' or 'b-to-a', got '${String(direction)}'`);
    }
    if (bytes.length > MAX_UDP_PAYLOAD) {
      throw new Error(`udp-tap: datagram of ${bytes.length} bytes exceeds the IPv4 UDP maximum of ${MAX_UDP_PAYLOAD} `
        + '(IPv4 fragmentation is not synthesized); a real socket would have refused it too');
    }
    const [from, to] = direction === 'a-to-b' ? [this.#a, this.#b] : [this.#b, this.#a];
    this.#writer.writeFrame(this.#clock(), ipv4Frame(from, to, IP_PROTO_UDP, udpSegment(from, to, bytes), false));
  }
}
