// The synthesized capture must round-trip through our reader byte for byte, and Wireshark's and
// tcpdump's own engines must read it as a clean conversation (checksums good, no analysis flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_UDP_PAYLOAD, PcapWriter, TcpConversationTap, UdpFlowTap } from './pcap-writer.ts';
import { readPcap, reassembleTcpStreams, udpFlows } from './pcap-reader.ts';
import { missingTool, runTool } from './test-tools.ts';
import { skipForMissingTool } from '../cli/prerequisites.ts';

const client = { address: '10.0.0.1', port: 40000 };
const server = { address: '10.0.0.2', port: 8883 };
const device = { address: '10.0.0.1', port: 5000 };
const gateway = { address: '10.0.0.3', port: 5684 };

/** Distinct, position-dependent bytes so that any reordering or loss changes the result. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

const chunks = {
  hello: new TextEncoder().encode('CONNECT hello'),
  big: pattern(3 * 1460 + 777, 3), // more than 3 × MSS: four segments
  reply: pattern(100, 5),
  tail: pattern(1, 9),
};
const datagrams = [pattern(96, 11), new Uint8Array(0), pattern(1200, 13)];

/** Writes the reference capture: one TCP conversation and one UDP flow, fixed clock. */
async function writeReferenceCapture(path: string): Promise<PcapWriter> {
  let now = 1_700_000_000_000_000n;
  const clock = (): bigint => (now += 250n);
  const writer = PcapWriter.open(path);
  const tap = new TcpConversationTap(writer, client, server, { clock });
  tap.open();
  tap.data('client-to-server', chunks.hello);
  tap.data('server-to-client', chunks.big);
  tap.data('client-to-server', chunks.reply);
  tap.data('server-to-client', chunks.tail);
  tap.close('client');
  const udp = new UdpFlowTap(writer, device, gateway, { clock });
  udp.datagram('a-to-b', datagrams[0]!);
  udp.datagram('b-to-a', datagrams[1]!);
  udp.datagram('a-to-b', datagrams[2]!);
  await writer.close();
  return writer;
}

// Frames: 3 handshake + (1+1) + (4+1) + (1+1) + (1+1) data/ACK + 3 close + 3 UDP.
const EXPECTED_FRAMES = 3 + 2 + 5 + 2 + 2 + 3 + 3;

function withTempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'capture-writer-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a synthesized TCP conversation and UDP flow read back exactly, in order and direction', async () => {
  using tmp = withTempDir();
  const path = join(tmp.dir, 'nested', 'ref.pcap');
  const writer = await writeReferenceCapture(path);
  assert.equal(writer.frameCount, EXPECTED_FRAMES);

  const result = readPcap(path);
  assert.deepEqual(result.problems, []);
  assert.equal(result.linktype, 1);
  assert.equal(result.packets.length, EXPECTED_FRAMES);

  const [stream, ...others] = reassembleTcpStreams(result.packets);
  assert.equal(others.length, 0);
  assert.ok(stream);
  assert.deepEqual(stream.client, client);
  assert.deepEqual(stream.server, server);
  assert.deepEqual(Buffer.from(stream.clientToServer), Buffer.concat([chunks.hello, chunks.reply]));
  assert.deepEqual(Buffer.from(stream.serverToClient), Buffer.concat([chunks.big, chunks.tail]));
  assert.deepEqual(stream.missingBytes, { clientToServer: 0, serverToClient: 0 });
  assert.deepEqual(stream.segments.map((s) => [s.direction, s.bytes.length]), [
    ['client-to-server', chunks.hello.length],
    ['server-to-client', 1460], ['server-to-client', 1460], ['server-to-client', 1460], ['server-to-client', 777],
    ['client-to-server', chunks.reply.length],
    ['server-to-client', 1],
  ]);

  // Handshake: SYN, SYN/ACK acknowledging ISN+1, ACK; then sequence numbers advance exactly.
  const tcp = result.packets.filter((p) => p.protocol === 'tcp');
  const [syn, synAck, ack] = tcp;
  assert.deepEqual(syn?.tcpFlags, { syn: true, ack: false, fin: false, rst: false, psh: false });
  assert.deepEqual(synAck?.tcpFlags, { syn: true, ack: true, fin: false, rst: false, psh: false });
  assert.equal(synAck?.ack, (syn!.seq! + 1) >>> 0);
  assert.deepEqual(ack?.tcpFlags, { syn: false, ack: true, fin: false, rst: false, psh: false });
  assert.equal(ack?.ack, (synAck!.seq! + 1) >>> 0);
  const bigSegments = tcp.filter((p) => p.payload.length > 0 && p.src.port === server.port && p.payload.length !== 1);
  assert.deepEqual(bigSegments.map((p) => p.tcpFlags?.psh), [false, false, false, true], 'PSH only on the last segment');
  for (let i = 1; i < bigSegments.length; i += 1) {
    assert.equal(bigSegments[i]!.seq, (bigSegments[i - 1]!.seq! + bigSegments[i - 1]!.payload.length) >>> 0);
  }
  const fins = tcp.filter((p) => p.tcpFlags?.fin);
  assert.deepEqual(fins.map((p) => p.src.port), [client.port, server.port], 'the client initiates the close');
  assert.ok(result.packets.every((p, i) => p.index === i + 1));
  assert.ok(result.packets.every((p, i) => i === 0 || p.timestampMicros > result.packets[i - 1]!.timestampMicros));

  const [flow, ...otherFlows] = udpFlows(result.packets);
  assert.equal(otherFlows.length, 0);
  assert.deepEqual(flow?.a, device);
  assert.deepEqual(flow?.b, gateway);
  assert.deepEqual(flow?.datagrams.map((d) => d.direction), ['a-to-b', 'b-to-a', 'a-to-b']);
  assert.deepEqual(flow?.datagrams.map((d) => Buffer.from(d.bytes)), datagrams.map((d) => Buffer.from(d)));
});

test('the taps refuse what a real stack could not send', async () => {
  using tmp = withTempDir();
  const writer = PcapWriter.open(join(tmp.dir, 'refuse.pcap'));
  const udp = new UdpFlowTap(writer, device, gateway);
  assert.throws(() => udp.datagram('a-to-b', new Uint8Array(MAX_UDP_PAYLOAD + 1)), /udp-tap: datagram of 65508 bytes/);
  udp.datagram('a-to-b', new Uint8Array(MAX_UDP_PAYLOAD));
  const tap = new TcpConversationTap(writer, client, server);
  tap.reset('server');
  tap.reset('client'); // idempotent: no second RST
  tap.close('client'); // nothing after a reset
  assert.throws(() => tap.data('client-to-server', Uint8Array.of(1)), /tcp-tap: 1 bytes client-to-server after the connection was closed/);
  assert.throws(() => new TcpConversationTap(writer, { address: '10.0.0.256', port: 1 }, server), /not an IPv4 dotted quad/);
  assert.throws(() => new TcpConversationTap(writer, client, server, { mss: 0 }), /mss must be an integer/);
  await writer.close();
  await writer.close(); // idempotent
  assert.throws(() => writer.writeFrame(0, new Uint8Array(60)), /pcap-writer: .* is closed/);
  const packets = readPcap(writer.path).packets;
  assert.equal(packets.length, 1 + 3 + 1);
  assert.equal(packets[0]?.payload.length, MAX_UDP_PAYLOAD);
  assert.deepEqual(packets.at(-1)?.tcpFlags, { syn: false, ack: true, fin: false, rst: true, psh: false });
  assert.equal(packets.at(-1)?.src.port, server.port);
});

/** tshark findings that would make an analyst distrust the capture, one line per frame. */
async function tsharkComplaints(path: string): Promise<string[]> {
  const { code, stdout, stderr } = await runTool('tshark', [
    '-r', path, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.number', '-e', 'tcp.analysis.flags', '-e', '_ws.expert.severity',
    '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status',
  ]);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, EXPECTED_FRAMES, stdout);
  const WARNING = 6291456; // PI_WARN; retransmissions, lost segments and bad checksums are warn or error
  return lines.filter((line) => {
    const [, analysisFlags, severities, ...checksums] = line.split('|');
    const statuses = checksums.filter((s) => s !== '');
    return analysisFlags !== ''
      || (severities ?? '').split(',').some((s) => Number(s) >= WARNING)
      || statuses.length !== 2 || statuses.some((s) => s !== '1'); // 1 = "Good"
  });
}

test('tcpdump reads the synthesized capture', async (t) => {
  const missing = await missingTool('tcpdump');
  if (missing) return t.skip(skipForMissingTool(missing));
  using tmp = withTempDir();
  const path = join(tmp.dir, 'ref.pcap');
  await writeReferenceCapture(path);
  const { code, stdout, stderr } = await runTool('tcpdump', ['-n', '-vv', '-r', path]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /link-type EN10MB \(Ethernet\)/);
  const packetLines = stdout.split('\n').filter((line) => /^\d\d:\d\d:\d\d\.\d{6} IP /.test(line));
  assert.equal(packetLines.length, EXPECTED_FRAMES, stdout);
  assert.doesNotMatch(stdout, /incorrect|bad/i);
  assert.match(stdout, /10\.0\.0\.1\.40000 > 10\.0\.0\.2\.8883: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\)/);
});

test('tshark sees one clean TCP conversation: checksums good, no analysis flags', async (t) => {
  const missing = await missingTool('tshark');
  if (missing) return t.skip(skipForMissingTool(missing));
  using tmp = withTempDir();
  const path = join(tmp.dir, 'ref.pcap');
  await writeReferenceCapture(path);

  const conv = await runTool('tshark', ['-r', path, '-q', '-z', 'conv,tcp']);
  assert.equal(conv.code, 0, conv.stderr);
  const rows = conv.stdout.split('\n').filter((line) => line.includes('<->'));
  assert.equal(rows.length, 1, conv.stdout);
  // Total frames of the TCP conversation: all but the 3 UDP ones.
  assert.match(rows[0]!, /^10\.0\.0\.1:40000\s+<->\s+10\.0\.0\.2:8883\s+(\d+) \d+ bytes\s+(\d+) \d+ bytes\s+17 /);

  assert.deepEqual(await tsharkComplaints(path), []);

  // The same check must catch damage: flip one payload byte of the last UDP datagram.
  const damaged = join(tmp.dir, 'damaged.pcap');
  const bytes = readFileSync(path);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  writeFileSync(damaged, bytes);
  const complaints = await tsharkComplaints(damaged);
  assert.equal(complaints.length, 1, complaints.join('\n'));
  assert.match(complaints[0]!, new RegExp(`^${EXPECTED_FRAMES}\\|`));
});
