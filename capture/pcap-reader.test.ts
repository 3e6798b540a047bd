// The reader must decode every link type and byte order tcpdump can hand us, never throw on a
// damaged file, and reassemble TCP like Wireshark's "Follow TCP stream" (duplicates dropped,
// reordering undone, holes counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, TcpConversationTap, UdpFlowTap } from './pcap-writer.ts';
import {
  type CapturedPacket, type Endpoint, containsBytes, parsePcap, readPcap, reassembleTcpStreams, udpFlows,
  LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NULL, LINKTYPE_RAW,
} from './pcap-reader.ts';

const alice = { address: '192.168.7.10', port: 51000 };
const bob = { address: '192.168.7.20', port: 8883 };

interface Record { seconds: number; fraction: number; data: Uint8Array }

/** Reference capture from our writer: a short TCP exchange and one UDP datagram. */
async function referenceFile(): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'capture-reader-'));
  try {
    let now = 1_700_000_000_123_456n;
    const clock = (): bigint => (now += 1_000_001n);
    const writer = PcapWriter.open(join(dir, 'ref.pcap'));
    const tap = new TcpConversationTap(writer, alice, bob, { clock, mss: 16 });
    tap.data('client-to-server', new TextEncoder().encode('a message longer than one 16-byte segment'));
    tap.data('server-to-client', new TextEncoder().encode('ok'));
    tap.close('server');
    new UdpFlowTap(writer, alice, bob, { clock }).datagram('a-to-b', Uint8Array.of(1, 2, 3)); // padded by Ethernet below
    await writer.close();
    return readFileSync(writer.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits a little-endian µs pcap into its records (our writer's output only). */
function records(file: Uint8Array): Record[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Record[] = [];
  for (let at = 24; at < file.length;) {
    const length = view.getUint32(at + 8, true);
    out.push({ seconds: view.getUint32(at, true), fraction: view.getUint32(at + 4, true), data: file.subarray(at + 16, at + 16 + length) });
    at += 16 + length;
  }
  return out;
}

/** Builds a classic pcap file with any byte order, precision and link type. */
function buildPcap(linktype: number, recs: Record[], options: { bigEndian?: boolean; nanos?: boolean } = {}): Uint8Array {
  const le = !options.bigEndian;
  const parts: Uint8Array[] = [];
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, options.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  header.setUint16(4, 2, le);
  header.setUint16(6, 4, le);
  header.setUint32(16, 65535, le);
  header.setUint32(20, linktype, le);
  parts.push(new Uint8Array(header.buffer));
  for (const r of recs) {
    const h = new DataView(new ArrayBuffer(16));
    h.setUint32(0, r.seconds, le);
    h.setUint32(4, options.nanos ? r.fraction * 1000 + 999 : r.fraction, le);
    h.setUint32(8, r.data.length, le);
    h.setUint32(12, r.data.length, le);
    parts.push(new Uint8Array(h.buffer), r.data);
  }
  return Buffer.concat(parts);
}

const ipOf = (ethernetFrame: Uint8Array): Uint8Array => ethernetFrame.subarray(14);
const withHeader = (header: number[], ip: Uint8Array): Uint8Array => Buffer.concat([Uint8Array.from(header), ip]);

/** The same IPv4 packets under each link-layer header the reader supports. */
const LINK_VARIANTS: { name: string; linktype: number; wrap(ip: Uint8Array): Uint8Array }[] = [
  { name: 'RAW', linktype: LINKTYPE_RAW, wrap: (ip) => ip },
  { name: 'NULL, little-endian AF_INET', linktype: LINKTYPE_NULL, wrap: (ip) => withHeader([2, 0, 0, 0], ip) },
  { name: 'NULL, big-endian AF_INET', linktype: LINKTYPE_NULL, wrap: (ip) => withHeader([0, 0, 0, 2], ip) },
  { name: 'LOOP', linktype: LINKTYPE_LOOP, wrap: (ip) => withHeader([0, 0, 0, 2], ip) },
  { name: 'LINUX_SLL', linktype: LINKTYPE_LINUX_SLL, wrap: (ip) => withHeader([0, 0, 0, 1, 0, 6, 2, 0, 1, 2, 3, 4, 0, 0, 0x08, 0x00], ip) },
  { name: 'LINUX_SLL2', linktype: LINKTYPE_LINUX_SLL2, wrap: (ip) => withHeader([0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 2, 0, 1, 2, 3, 4, 0, 0], ip) },
  {
    name: 'Ethernet with an 802.1Q tag',
    linktype: LINKTYPE_ETHERNET,
    wrap: (ip) => withHeader([2, 0, 1, 1, 1, 1, 2, 0, 2, 2, 2, 2, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00], ip),
  },
];

const summary = (packets: CapturedPacket[]): string[] => packets.map((p) =>
  `${p.index} ${p.timestampMicros} ${p.protocol} ${p.src.address}:${p.src.port}>${p.dst.address}:${p.dst.port} ${p.seq ?? '-'} ${Buffer.from(p.payload).toString('hex')}`);

test('every supported link type, byte order and precision decodes to the same packets', async () => {
  const reference = await referenceFile();
  const expected = parsePcap(reference);
  assert.deepEqual(expected.problems, []);
  assert.equal(expected.packets.length, 3 + (3 + 1) + (1 + 1) + 3 + 1); // handshake, data+ACK, close, UDP
  // Ethernet pads a 3-byte UDP datagram to the 60-byte minimum; the IPv4 length trims it.
  const recs = records(reference);
  const udpFrame = recs.at(-1)!;
  recs[recs.length - 1] = { ...udpFrame, data: Buffer.concat([udpFrame.data, new Uint8Array(60 - udpFrame.data.length)]) };
  assert.deepEqual(summary(parsePcap(buildPcap(LINKTYPE_ETHERNET, recs)).packets), summary(expected.packets));
  assert.deepEqual(expected.packets.at(-1)?.payload, Uint8Array.of(1, 2, 3));

  for (const variant of LINK_VARIANTS) {
    for (const options of [{}, { bigEndian: true }, { nanos: true }, { bigEndian: true, nanos: true }]) {
      const file = buildPcap(variant.linktype, recs.map((r) => ({ ...r, data: variant.wrap(ipOf(r.data)) })), options);
      const result = parsePcap(file);
      const label = `${variant.name} ${JSON.stringify(options)}`;
      assert.deepEqual(result.problems, [], label);
      assert.equal(result.linktype, variant.linktype, label);
      assert.deepEqual(summary(result.packets), summary(expected.packets), label);
    }
  }
});

test('frames that are not IPv4 TCP/UDP are skipped and counted, not fatal', () => {
  const ipv6 = new Uint8Array(60);
  ipv6[0] = 0x60;
  const arp = withHeader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 1, 1, 1, 1, 0x08, 0x06], new Uint8Array(28));
  const icmp = new Uint8Array(28);
  icmp.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1]);
  const result = parsePcap(buildPcap(LINKTYPE_ETHERNET, [
    { seconds: 1, fraction: 0, data: arp },
    { seconds: 2, fraction: 0, data: withHeader([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd], ipv6) },
    { seconds: 3, fraction: 0, data: withHeader([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00], icmp) },
  ]));
  assert.deepEqual(result.packets, []);
  assert.deepEqual(result.problems, [
    'pcap-reader: skipped frames that are not IPv4 TCP/UDP (IPv4 TCP/UDP only): 1 ethertype 0x0806, 1 ethertype 0x86dd, 1 IP protocol 1',
  ]);
});

test('damaged files yield what could be read plus problems, never an exception', async () => {
  const reference = await referenceFile();
  const whole = parsePcap(reference).packets.length;

  assert.match(parsePcap(new Uint8Array(0)).problems.join(), /file is 0 bytes, shorter than the 24-byte pcap global header/);
  assert.match(parsePcap(Buffer.from('this is not a capture at all, just text')).problems.join(), /unknown magic 0x73696874: not a pcap file/);
  const pcapng = Buffer.concat([Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a), new Uint8Array(40)]);
  assert.match(parsePcap(pcapng).problems.join(), /this is pcapng; convert it with `editcap -F pcap/);
  const wrongMagic = Buffer.from(reference);
  wrongMagic.writeUInt32LE(0xdeadbeef, 0);
  assert.deepEqual(parsePcap(wrongMagic).packets, []);
  const unknownLink = Buffer.from(reference);
  unknownLink.writeUInt32LE(147, 20);
  assert.match(parsePcap(unknownLink).problems.join(), /link type 147 is not decoded/);
  assert.match(readPcap('/nonexistent/capture.pcap').problems.join(), /cannot read \/nonexistent\/capture\.pcap: ENOENT/);

  // Every possible truncation point: no throw, a prefix of the packets, and a problem unless
  // the cut falls exactly between records.
  const boundaries = new Set([24]);
  for (let at = 24; at < reference.length;) {
    at += 16 + new DataView(reference.buffer, reference.byteOffset).getUint32(at + 8, true);
    boundaries.add(at);
  }
  let previous = 0;
  for (let cut = 0; cut <= reference.length; cut += 1) {
    const result = parsePcap(reference.subarray(0, cut));
    assert.ok(result.packets.length >= previous && result.packets.length <= whole, `cut at ${cut}`);
    previous = result.packets.length;
    assert.equal(result.problems.length === 0, boundaries.has(cut), `cut at ${cut}: ${result.problems.join('; ')}`);
  }
  assert.equal(previous, whole);

  // A corrupt record length stops reading with a problem; a bogus inner header is reported.
  const corrupt = Buffer.from(reference);
  corrupt.writeUInt32LE(0x7fffffff, 24 + 8);
  assert.match(parsePcap(corrupt).problems.join(), /frame 1: record claims 2147483647 bytes \(corrupt record header\)/);
  const badIhl = Buffer.from(reference);
  badIhl[24 + 16 + 14] = 0x42;
  const badIhlResult = parsePcap(badIhl);
  assert.match(badIhlResult.problems.join(), /frame 1: IPv4 header length 8 is below 20/);
  assert.equal(badIhlResult.packets.length, whole - 1);

  // Random garbage after a valid header, from a fixed seed so a failure can be replayed.
  let seed = 0x2545f491;
  const random = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed & 0xff; };
  for (let round = 0; round < 200; round += 1) {
    const garbage = Buffer.concat([reference.subarray(0, 24), Uint8Array.from({ length: 16 + round * 7 }, random)]);
    const result = parsePcap(garbage);
    assert.ok(Array.isArray(result.packets) && Array.isArray(result.problems));
  }
});

/** A hand-made TCP packet for reassembly tests. */
function tcp(index: number, src: Endpoint, dst: Endpoint, seq: number, payload: string, flags: Partial<CapturedPacket['tcpFlags']> = {}): CapturedPacket {
  return {
    index, timestampMicros: BigInt(index), src, dst, protocol: 'tcp', seq: seq >>> 0, ack: 0,
    tcpFlags: { syn: false, ack: !flags?.syn, fin: false, rst: false, psh: false, ...flags },
    payload: new TextEncoder().encode(payload),
  };
}
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

test('reassembly puts reordered segments in order and drops retransmissions and overlaps', () => {
  const isn = 0xfffffff0; // the stream wraps around 2^32
  const packets = [
    tcp(1, alice, bob, isn, '', { syn: true }),
    tcp(2, bob, alice, 1000, '', { syn: true, ack: true }),
    tcp(3, alice, bob, isn + 1 + 5, 'world'), // arrives before "hello"
    tcp(4, alice, bob, isn + 1, 'hello'),
    tcp(5, alice, bob, isn + 1, 'hello'), // retransmission
    tcp(6, bob, alice, 1001, 'reply'),
    tcp(7, alice, bob, isn + 1 + 8, 'ld, again'), // overlaps "world" by two bytes
    tcp(8, alice, bob, isn + 1 + 17, '', { fin: true }),
  ];
  const [stream, ...rest] = reassembleTcpStreams(packets);
  assert.equal(rest.length, 0);
  assert.deepEqual(stream?.client, alice);
  assert.equal(text(stream!.clientToServer), 'helloworld, again');
  assert.equal(text(stream!.serverToClient), 'reply');
  assert.deepEqual(stream?.missingBytes, { clientToServer: 0, serverToClient: 0 });
  assert.deepEqual(stream?.segments.map((s) => `${s.direction}:${text(s.bytes)}@${s.timestampMicros}`), [
    'client-to-server:world@3', 'client-to-server:hello@4', 'server-to-client:reply@6', 'client-to-server:, again@7',
  ]);
});

test('reassembly without a handshake, with a hole, and with a reused 4-tuple', () => {
  // No SYN captured: the first sender is the client, the lowest sequence number is the start.
  const midStream = reassembleTcpStreams([
    tcp(1, bob, alice, 5000 + 3, 'def'),
    tcp(2, bob, alice, 5000, 'abc'),
    tcp(3, alice, bob, 9, 'x'),
    tcp(4, bob, alice, 5000 + 10, 'klm'), // 4 bytes (ghij) never captured
  ]);
  assert.equal(midStream.length, 1);
  assert.deepEqual(midStream[0]?.client, bob);
  assert.equal(text(midStream[0]!.clientToServer), 'abcdefklm');
  assert.deepEqual(midStream[0]?.missingBytes, { clientToServer: 4, serverToClient: 0 });

  // Only the SYN/ACK was captured: its receiver is the client.
  const [late] = reassembleTcpStreams([tcp(1, bob, alice, 70, '', { syn: true, ack: true }), tcp(2, bob, alice, 71, 'hi')]);
  assert.deepEqual(late?.client, alice);
  assert.equal(text(late!.serverToClient), 'hi');

  // A second connection on the same 4-tuple after a FIN is a second stream.
  const reused = reassembleTcpStreams([
    tcp(1, alice, bob, 100, '', { syn: true }), tcp(2, alice, bob, 101, 'first'), tcp(3, alice, bob, 106, '', { fin: true }),
    tcp(4, alice, bob, 700, '', { syn: true }), tcp(5, alice, bob, 701, 'second'),
  ]);
  assert.deepEqual(reused.map((s) => text(s.clientToServer)), ['first', 'second']);
});

test('UDP flows group both directions by endpoint pair; containsBytes finds needles anywhere', () => {
  const udp = (index: number, src: Endpoint, dst: Endpoint, payload: string): CapturedPacket => ({
    index, timestampMicros: BigInt(index), src, dst, protocol: 'udp', payload: new TextEncoder().encode(payload),
  });
  const carol = { address: '192.168.7.30', port: 5684 };
  const flows = udpFlows([udp(1, alice, bob, 'a'), udp(2, alice, carol, 'b'), udp(3, bob, alice, 'c'), tcp(4, alice, bob, 1, 'tcp')]);
  assert.deepEqual(flows.map((f) => [f.a.port, f.b.port, f.datagrams.map((d) => `${d.direction}:${text(d.bytes)}`)]), [
    [alice.port, bob.port, ['a-to-b:a', 'b-to-a:c']],
    [alice.port, carol.port, ['a-to-b:b']],
  ]);

  const haystack = new TextEncoder().encode('xxheart-rate=72yy').subarray(2); // a view with an offset
  assert.equal(containsBytes(haystack, new TextEncoder().encode('rate=72')), true);
  assert.equal(containsBytes(haystack, new TextEncoder().encode('xx')), false, 'bytes outside the view do not count');
  assert.equal(containsBytes(haystack, new TextEncoder().encode('rate=73')), false);
  assert.throws(() => containsBytes(haystack, new Uint8Array(0)), /needs a non-empty needle/);
});
