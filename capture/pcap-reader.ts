// Reads classic libpcap files (both byte orders, microsecond and nanosecond magic) down to IPv4
// TCP/UDP payloads, from our own synthesized captures and from real tcpdump output alike, and
// reassembles TCP streams and UDP flows for the evidence steps.
//
// It never throws on a bad file: a capture cut short by a killed tcpdump, or a file that is
// not a capture at all, yields whatever packets were complete plus a list of problems, so a
// scenario can report what went wrong instead of crashing. Format: the pcap draft
// (draft-ietf-opsawg-pcap) and the link-layer header types registry
// (https://www.tcpdump.org/linktypes.html).
import { readFileSync } from 'node:fs';
import { type Endpoint, formatIPv4 } from './inet.ts';

export type { Endpoint } from './inet.ts';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_LINUX_SLL2 = 276;
const SUPPORTED_LINKTYPES = [
  LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL2,
];

/** A record longer than this is corruption, not a packet (tcpdump's largest snaplen is 256 KiB). */
const MAX_RECORD_BYTES = 0x100000;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];
/** Bound on stacked VLAN tags we look through (QinQ is two; more is garbage). */
const MAX_VLAN_TAGS = 4;

export interface TcpFlagSet {
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  psh: boolean;
}

export interface CapturedPacket {
  /** 1-based frame number, as Wireshark shows it. */
  index: number;
  timestampMicros: bigint;
  src: Endpoint;
  dst: Endpoint;
  protocol: 'tcp' | 'udp';
  tcpFlags?: TcpFlagSet;
  seq?: number;
  ack?: number;
  payload: Uint8Array;
}

export interface PcapReadResult {
  linktype: number;
  packets: CapturedPacket[];
  problems: string[];
}

export function readPcap(path: string): PcapReadResult {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { linktype: -1, packets: [], problems: [`pcap-reader: cannot read ${path}: ${(error as Error).message}`] };
  }
  return parsePcap(bytes);
}

interface GlobalHeader {
  littleEndian: boolean;
  nanos: boolean;
  linktype: number;
}

function parseGlobalHeader(bytes: Uint8Array, problems: string[]): GlobalHeader | undefined {
  if (bytes.length < 24) {
    problems.push(`pcap-reader: file is ${bytes.length} bytes, shorter than the 24-byte pcap global header `
      + '(empty or cut-off capture; was tcpdump stopped before it wrote anything?)');
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = view.getUint32(0, true);
  const magics: Record<number, { littleEndian: boolean; nanos: boolean }> = {
    0xa1b2c3d4: { littleEndian: true, nanos: false },
    0xa1b23c4d: { littleEndian: true, nanos: true },
    0xd4c3b2a1: { littleEndian: false, nanos: false },
    0x4d3cb2a1: { littleEndian: false, nanos: true },
  };
  const format = magics[magicLE];
  if (!format) {
    const hint = magicLE === 0x0a0d0d0a
      ? 'this is pcapng; convert it with `editcap -F pcap in.pcapng out.pcap` or capture with tcpdump -w'
      : 'not a pcap file';
    problems.push(`pcap-reader: unknown magic 0x${magicLE.toString(16).padStart(8, '0')}: ${hint}`);
    return undefined;
  }
  // The upper bits of the link type field carry FCS information (pcap draft §4); the type is
  // the low 16 bits.
  const linktype = view.getUint32(20, format.littleEndian) & 0xffff;
  return { ...format, linktype };
}

export function parsePcap(input: Uint8Array): PcapReadResult {
  // A plain Uint8Array view (not a Buffer), so payloads are plain Uint8Array copies whatever
  // the caller passed; copies keep a packet from pinning the whole file in memory.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const problems: string[] = [];
  const packets: CapturedPacket[] = [];
  const header = parseGlobalHeader(bytes, problems);
  if (!header) return { linktype: -1, packets, problems };
  const { littleEndian, nanos, linktype } = header;
  if (!SUPPORTED_LINKTYPES.includes(linktype)) {
    problems.push(`pcap-reader: link type ${linktype} is not decoded (supported: ${SUPPORTED_LINKTYPES.join(', ')}); `
      + 'capture with tcpdump -i <interface> or -i any');
    return { linktype, packets, problems };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const skipped = new Map<string, number>();
  let snappedFrames = 0;
  let offset = 24;
  // Bounded: every iteration advances offset by at least the 16-byte record header.
  for (let frame = 1; offset < bytes.length; frame += 1) {
    if (bytes.length - offset < 16) {
      problems.push(`pcap-reader: frame ${frame}: record header cut off after ${bytes.length - offset} of 16 bytes (truncated file)`);
      break;
    }
    const seconds = view.getUint32(offset, littleEndian);
    const fraction = view.getUint32(offset + 4, littleEndian);
    const inclLen = view.getUint32(offset + 8, littleEndian);
    const origLen = view.getUint32(offset + 12, littleEndian);
    if (inclLen > MAX_RECORD_BYTES) {
      problems.push(`pcap-reader: frame ${frame}: record claims ${inclLen} bytes (corrupt record header); stopped reading`);
      break;
    }
    const start = offset + 16;
    if (start + inclLen > bytes.length) {
      problems.push(`pcap-reader: frame ${frame}: record cut off after ${bytes.length - start} of ${inclLen} bytes (truncated file)`);
      break;
    }
    offset = start + inclLen;
    const micros = BigInt(seconds) * 1_000_000n + BigInt(nanos ? Math.floor(fraction / 1000) : fraction);
    const data = bytes.subarray(start, start + inclLen);
    if (inclLen < origLen) snappedFrames += 1;
    const decoded = decodeFrame(linktype, data, frame, micros, inclLen < origLen);
    if ('skip' in decoded) skipped.set(decoded.skip, (skipped.get(decoded.skip) ?? 0) + 1);
    else if ('problem' in decoded) problems.push(`pcap-reader: frame ${frame}: ${decoded.problem}`);
    else packets.push(decoded);
  }
  if (snappedFrames > 0) {
    problems.push(`pcap-reader: ${snappedFrames} frames were cut to the snapshot length, so their payloads are incomplete `
      + '(capture with tcpdump -s 0)');
  }
  if (skipped.size > 0) {
    const kinds = [...skipped].map(([kind, n]) => `${n} ${kind}`).join(', ');
    problems.push(`pcap-reader: skipped frames that are not IPv4 TCP/UDP (IPv4 TCP/UDP only): ${kinds}`);
  }
  return { linktype, packets, problems };
}

/** A frame we do not decode on purpose (ARP, IPv6, ICMP…), counted by kind. */
interface Skip { skip: string }
/** A frame that is malformed: reported as a problem. */
interface Problem { problem: string }
const skip = (kind: string): Skip => ({ skip: kind });
const problem = (text: string): Problem => ({ problem: text });

/** Returns the IPv4 packet inside a link-layer frame. */
function linkPayload(linktype: number, data: Uint8Array): Uint8Array | Skip | Problem {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const etherTyped = (typeOffset: number, payloadOffset: number): Uint8Array | Skip | Problem => {
    if (data.length < payloadOffset) return problem(`link header cut off (${data.length} bytes)`);
    const type = view.getUint16(typeOffset);
    return type === ETHERTYPE_IPV4 ? data.subarray(payloadOffset) : skip(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
  };
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      let typeOffset = 12;
      for (let tags = 0; tags < MAX_VLAN_TAGS; tags += 1) {
        if (data.length < typeOffset + 2) return problem(`Ethernet header cut off (${data.length} bytes)`);
        if (!ETHERTYPE_VLAN.includes(view.getUint16(typeOffset))) break;
        typeOffset += 4;
      }
      return etherTyped(typeOffset, typeOffset + 2);
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      if (data.length < 1) return problem('empty frame');
      return data[0]! >> 4 === 4 ? data : skip(`IP version ${data[0]! >> 4}`);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (data.length < 4) return problem(`loopback header cut off (${data.length} bytes)`);
      // NULL stores the address family in the writer's byte order, LOOP in network order;
      // AF_INET is 2 on every system, so either order identifies it.
      const family = view.getUint32(0, linktype === LINKTYPE_NULL && data[0] !== 0);
      return family === 2 ? data.subarray(4) : skip(`address family ${family}`);
    }
    case LINKTYPE_LINUX_SLL:
      return etherTyped(14, 16);
    case LINKTYPE_LINUX_SLL2:
      return etherTyped(0, 20);
    default:
      return problem(`link type ${linktype} not decoded`);
  }
}

function decodeFrame(linktype: number, data: Uint8Array, index: number, timestampMicros: bigint, snapped: boolean): CapturedPacket | Skip | Problem {
  const ip = linkPayload(linktype, data);
  if (!(ip instanceof Uint8Array)) return ip;
  if (ip.length < 20) return problem(`IPv4 header cut off (${ip.length} bytes)`);
  const view = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  const version = ip[0]! >> 4;
  const ihl = (ip[0]! & 0x0f) * 4;
  if (version !== 4) return skip(`IP version ${version}`);
  if (ihl < 20) return problem(`IPv4 header length ${ihl} is below 20 (corrupt)`);
  const totalLength = view.getUint16(2);
  if (totalLength < ihl) return problem(`IPv4 total length ${totalLength} is below its header length ${ihl} (corrupt)`);
  const fragment = view.getUint16(6);
  if ((fragment & 0x3fff) !== 0) return skip('IPv4 fragment (not reassembled)');
  const protocol = ip[9]!;
  if (protocol !== 6 && protocol !== 17) return skip(`IP protocol ${protocol}`);
  // Ethernet pads short frames; the IPv4 total length says where the packet really ends.
  if (!snapped && ip.length < totalLength) return problem(`IPv4 packet cut off: ${ip.length} of ${totalLength} bytes`);
  const packet = ip.subarray(0, Math.min(totalLength, ip.length));
  const srcAddress = formatIPv4(packet, 12);
  const dstAddress = formatIPv4(packet, 16);
  const segment = packet.subarray(ihl);
  const seg = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  if (protocol === 17) {
    if (segment.length < 8) return problem(`UDP header cut off (${segment.length} bytes)`);
    const udpLength = seg.getUint16(4);
    return {
      index, timestampMicros, protocol: 'udp',
      src: { address: srcAddress, port: seg.getUint16(0) },
      dst: { address: dstAddress, port: seg.getUint16(2) },
      payload: segment.slice(8, Math.max(8, Math.min(udpLength, segment.length))),
    };
  }
  if (segment.length < 20) return problem(`TCP header cut off (${segment.length} bytes)`);
  const dataOffset = (segment[12]! >> 4) * 4;
  if (dataOffset < 20 || dataOffset > segment.length) return problem(`TCP data offset ${dataOffset} is invalid for a ${segment.length}-byte segment`);
  const flags = segment[13]!;
  return {
    index, timestampMicros, protocol: 'tcp',
    src: { address: srcAddress, port: seg.getUint16(0) },
    dst: { address: dstAddress, port: seg.getUint16(2) },
    tcpFlags: {
      fin: (flags & 0x01) !== 0, syn: (flags & 0x02) !== 0, rst: (flags & 0x04) !== 0,
      psh: (flags & 0x08) !== 0, ack: (flags & 0x10) !== 0,
    },
    seq: seg.getUint32(4),
    ack: seg.getUint32(8),
    payload: segment.slice(dataOffset),
  };
}

// ---------------------------------------------------------------------------------------------
// TCP stream reassembly

export type TcpDirection = 'client-to-server' | 'server-to-client';

export interface TcpSegmentBytes {
  direction: TcpDirection;
  timestampMicros: bigint;
  bytes: Uint8Array;
}

export interface TcpStream {
  client: Endpoint;
  server: Endpoint;
  clientToServer: Uint8Array;
  serverToClient: Uint8Array;
  /** New bytes of each segment, duplicates dropped, both directions in capture order. */
  segments: TcpSegmentBytes[];
  /** Bytes missing from the capture (sequence holes), per direction; 0 for a complete capture. */
  missingBytes: { clientToServer: number; serverToClient: number };
}

const endpointKey = (e: Endpoint): string => `${e.address}:${e.port}`;
const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;

interface Connection {
  client: Endpoint;
  server: Endpoint;
  packets: CapturedPacket[];
  closing: boolean;
}

/**
 * Groups TCP packets by connection and reassembles each direction in sequence order, dropping
 * retransmitted bytes. The client is the sender of the SYN (or the first sender if no SYN was
 * captured). A new SYN on a 4-tuple whose connection already ended starts a new stream.
 */
export function reassembleTcpStreams(packets: CapturedPacket[]): TcpStream[] {
  const connections: Connection[] = [];
  const current = new Map<string, Connection>();
  for (const packet of packets) {
    if (packet.protocol !== 'tcp' || !packet.tcpFlags || packet.seq === undefined) continue;
    const key = [endpointKey(packet.src), endpointKey(packet.dst)].sort().join('|');
    const flags = packet.tcpFlags;
    let connection = current.get(key);
    const freshSyn = flags.syn && !flags.ack;
    if (!connection || (freshSyn && connection.closing)) {
      connection = { client: packet.src, server: packet.dst, packets: [], closing: false };
      // A SYN/ACK seen first means the SYN was missed: its receiver is the client.
      if (flags.syn && flags.ack) connection = { ...connection, client: packet.dst, server: packet.src };
      connections.push(connection);
      current.set(key, connection);
    }
    if (flags.fin || flags.rst) connection.closing = true;
    connection.packets.push(packet);
  }
  return connections.map(assemble);
}

interface Accepted {
  direction: TcpDirection;
  index: number;
  timestampMicros: bigint;
  bytes: Uint8Array;
}

function assemble(connection: Connection): TcpStream {
  const c2s = connection.packets.filter((p) => sameEndpoint(p.src, connection.client));
  const s2c = connection.packets.filter((p) => !sameEndpoint(p.src, connection.client));
  const forward = assembleDirection(c2s, 'client-to-server');
  const backward = assembleDirection(s2c, 'server-to-client');
  const segments = [...forward.accepted, ...backward.accepted]
    .sort((a, b) => a.index - b.index)
    .map(({ direction, timestampMicros, bytes }) => ({ direction, timestampMicros, bytes }));
  return {
    client: connection.client,
    server: connection.server,
    clientToServer: forward.stream,
    serverToClient: backward.stream,
    segments,
    missingBytes: { clientToServer: forward.missing, serverToClient: backward.missing },
  };
}

/** Signed distance from base to seq in 32-bit sequence space (RFC 9293 §3.4 arithmetic). */
const seqDistance = (seq: number, base: number): number => ((seq - base) | 0);

function assembleDirection(packets: CapturedPacket[], direction: TcpDirection): { stream: Uint8Array; accepted: Accepted[]; missing: number } {
  const syn = packets.find((p) => p.tcpFlags?.syn);
  const withData = packets.filter((p) => p.payload.length > 0);
  const first = withData[0];
  if (!first) return { stream: new Uint8Array(0), accepted: [], missing: 0 };
  // Offsets are relative to the first data byte after the SYN, or to the lowest sequence
  // number captured when the handshake was missed.
  // A SYN consumes one sequence number, so data carried in a SYN (TCP Fast Open) starts
  // one past its seq.
  const dataSeq = (p: CapturedPacket): number => (p.tcpFlags?.syn ? p.seq! + 1 : p.seq!) >>> 0;
  let base = syn ? (syn.seq! + 1) >>> 0 : dataSeq(first);
  if (!syn) {
    const lowest = withData.reduce((low, p) => Math.min(low, seqDistance(dataSeq(p), base)), 0);
    base = (base + lowest) >>> 0;
  }
  const ordered = withData
    .map((p) => ({ p, offset: seqDistance(dataSeq(p), base) }))
    .sort((a, b) => a.offset - b.offset || a.p.index - b.p.index);
  const accepted: Accepted[] = [];
  const parts: Uint8Array[] = [];
  let next = 0;
  let missing = 0;
  for (const { p, offset } of ordered) {
    const end = offset + p.payload.length;
    if (end <= next) continue; // retransmission of bytes we already have
    if (offset > next) missing += offset - next;
    const fresh = p.payload.subarray(Math.max(0, next - offset));
    parts.push(fresh);
    accepted.push({ direction, index: p.index, timestampMicros: p.timestampMicros, bytes: fresh });
    next = end;
  }
  return { stream: concat(parts), accepted, missing };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// UDP flows

export type UdpDirection = 'a-to-b' | 'b-to-a';

export interface UdpFlow {
  a: Endpoint;
  b: Endpoint;
  datagrams: { direction: UdpDirection; timestampMicros: bigint; bytes: Uint8Array }[];
}

/** Groups UDP datagrams by endpoint pair, in capture order; `a` is the first sender. */
export function udpFlows(packets: CapturedPacket[]): UdpFlow[] {
  const flows = new Map<string, UdpFlow>();
  for (const packet of packets) {
    if (packet.protocol !== 'udp') continue;
    const key = [endpointKey(packet.src), endpointKey(packet.dst)].sort().join('|');
    let flow = flows.get(key);
    if (!flow) {
      flow = { a: packet.src, b: packet.dst, datagrams: [] };
      flows.set(key, flow);
    }
    flow.datagrams.push({
      direction: sameEndpoint(packet.src, flow.a) ? 'a-to-b' : 'b-to-a',
      timestampMicros: packet.timestampMicros,
      bytes: packet.payload,
    });
  }
  return [...flows.values()];
}

/**
 * True if needle occurs anywhere in haystack. An empty needle is refused: it would match
 * everything and turn a "must not contain" assertion into one that cannot fail.
 */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) {
    throw new Error('pcap-reader: containsBytes needs a non-empty needle (an empty one matches everything)');
  }
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)
    .indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength)) !== -1;
}
