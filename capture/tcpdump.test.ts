// The tcpdump wrapper against the real tcpdump: a capture on loopback read back with our
// reader (real tcpdump output: Ethernet on 'lo', Linux cooked v2 on 'any'), and its error paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tcpdump } from './tcpdump.ts';
import { readPcap, udpFlows, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2 } from './pcap-reader.ts';
import { within } from './test-tools.ts';
import { skipForMissingTool } from '../cli/prerequisites.ts';

async function boundUdpSocket(): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await within(once(socket, 'listening'), 'a UDP socket to bind');
  return socket;
}

/** Sends datagrams to a receiver on 127.0.0.1 and waits until all have arrived. */
async function exchange(receiver: UdpSocket, sender: UdpSocket, payloads: Buffer[]): Promise<void> {
  let got = 0;
  const all = new Promise<void>((resolve) => {
    receiver.on('message', () => { got += 1; if (got === payloads.length) resolve(); });
  });
  for (const payload of payloads) sender.send(payload, receiver.address().port, '127.0.0.1');
  await within(all, `${payloads.length} datagrams to arrive`);
}

const payloads = [Buffer.from('e3-probe-one'), Buffer.from('e3-probe-two'), Buffer.alloc(300, 0xe3)];

for (const { iface, linktype, command } of [
  { iface: 'lo', linktype: LINKTYPE_ETHERNET, command: undefined },
  // 'any' gives Linux cooked-mode v2 headers; the 'env' prefix exercises the argv prefix that
  // 'docker exec <container>' uses for sidecars.
  { iface: 'any', linktype: LINKTYPE_LINUX_SLL2, command: ['env'] },
]) {
  test(`tcpdump on '${iface}' captures loopback UDP that our reader decodes (link type ${linktype})`, async (t) => {
    const availability = await Tcpdump.isAvailable('tcpdump', { interface: iface });
    if (!availability.available) return t.skip(skipForMissingTool(availability.reason ?? 'tcpdump is not available'));
    const dir = mkdtempSync(join(tmpdir(), 'capture-tcpdump-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const receiver = await boundUdpSocket();
    const sender = await boundUdpSocket();
    t.after(() => { receiver.close(); sender.close(); });
    const port = receiver.address().port;

    const capture = await Tcpdump.start({ interface: iface, filter: `udp and dst port ${port}`, outFile: join(dir, 'lo.pcap'), command });
    try {
      await exchange(receiver, sender, payloads);
    } finally {
      const stopped = await capture.stop();
      assert.equal(stopped.path, join(dir, 'lo.pcap'));
      assert.equal(stopped.packets, payloads.length, 'tcpdump reports exactly our datagrams');
    }
    assert.deepEqual(await capture.stop(), { path: join(dir, 'lo.pcap'), packets: payloads.length }, 'stop() is idempotent');

    const result = readPcap(join(dir, 'lo.pcap'));
    assert.deepEqual(result.problems, []);
    assert.equal(result.linktype, linktype);
    const flows = udpFlows(result.packets);
    assert.equal(flows.length, 1);
    assert.deepEqual(flows[0]?.a, { address: '127.0.0.1', port: sender.address().port });
    assert.deepEqual(flows[0]?.b, { address: '127.0.0.1', port });
    assert.deepEqual(flows[0]?.datagrams.map((d) => Buffer.from(d.bytes)), payloads);
    assert.ok(flows[0]?.datagrams.every((d) => d.direction === 'a-to-b'));
    const now = BigInt(Date.now()) * 1000n;
    assert.ok(result.packets.every((p) => p.timestampMicros > now - 60_000_000n && p.timestampMicros <= now + 1_000_000n), 'real timestamps');
  });
}

test('a missing tcpdump binary is reported with the apt-get command', async () => {
  const availability = await Tcpdump.isAvailable('/nonexistent/tcpdump-not-here');
  assert.equal(availability.available, false);
  assert.match(availability.reason ?? '', /not found; install it with: apt-get install tcpdump/);
  await assert.rejects(
    Tcpdump.start({ interface: 'lo', outFile: join(tmpdir(), 'never.pcap'), binary: '/nonexistent/tcpdump-not-here' }),
    /tcpdump: could not start .*ENOENT.*apt-get install tcpdump/,
  );
});

test('a bad interface makes start() reject with tcpdump\'s own words', async (t) => {
  const availability = await Tcpdump.isAvailable();
  if (!availability.available) return t.skip(skipForMissingTool(availability.reason ?? 'tcpdump is not available'));
  const dir = mkdtempSync(join(tmpdir(), 'capture-tcpdump-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    Tcpdump.start({ interface: 'nosuchif0', outFile: join(dir, 'bad.pcap') }),
    (error: Error) => {
      assert.match(error.message, /^tcpdump: could not start `tcpdump .*-i nosuchif0.*`: it exited before listening; tcpdump said: .*nosuchif0.*No such device/s);
      return true;
    },
  );
  await assert.rejects(
    Tcpdump.start({ interface: 'lo', filter: 'udp and and port', outFile: join(dir, 'bad-filter.pcap') }),
    /tcpdump said: .*syntax error/s,
  );
});
