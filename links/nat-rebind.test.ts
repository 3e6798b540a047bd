// A NAT rebinding on the UDP link (impairment `rebind`): the server sees the client's flow move to
// a new port after N datagrams, once per link; the client's own socket never changes. Loopback
// sockets, no timing measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { UdpLink } from './udp-link.ts';
import { ImpairmentPipeline, impairment, rebind } from './impairments.ts';

test('rebind settings are checked, and a TCP link refuses it', () => {
  assert.throws(() => rebind({ afterDatagrams: 0 }), /rebind afterDatagrams must be an integer in 1\.\.1000000, got 0/);
  assert.throws(() => impairment('rebind', { afterBytes: 5 }), /rebind has no setting "afterBytes"; its settings are afterDatagrams/);
  assert.throws(() => new ImpairmentPipeline([rebind({ afterDatagrams: 3 })], { transport: 'tcp' }), /rebind is for UDP links/);
  const p = new ImpairmentPipeline([rebind({ afterDatagrams: 2 })], { transport: 'udp' });
  assert.equal(p.plan(new Uint8Array(1), 5).rebindAtMs, undefined);
  assert.equal(p.plan(new Uint8Array(1), 6).rebindAtMs, 6);
  assert.equal(p.plan(new Uint8Array(1), 7).rebindAtMs, undefined);
});

test('after 2 datagrams the server sees the flow from a new port, once; answers to the old port are lost', async () => {
  const server = createSocket('udp4');
  const seen: RemoteInfo[] = [];
  server.on('message', (msg, from) => {
    seen.push(from);
    server.send(msg, from.port, from.address); // echo to whoever sent it
  });
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const link = new UdpLink({ name: 'nat', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (server.address() as AddressInfo).port }, impairments: { clientToServer: [rebind({ afterDatagrams: 2 })] } });
  const endpoint = await link.start();
  const client = createSocket('udp4');
  const echoes: string[] = [];
  client.on('message', (msg) => echoes.push(msg.toString()));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  /** Polls (bounded) until `done`; the link's relaying is asynchronous. */
  const until = async (what: string, done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(done(), `timed out waiting for ${what}`);
  };
  const send = async (text: string) => {
    const before = seen.length;
    client.send(text, endpoint.port, endpoint.host);
    await until(`"${text}" at the server`, () => seen.length > before);
  };
  try {
    for (const text of ['one', 'two', 'three', 'four']) await send(text);
    await until('the last echo', () => echoes.includes('four'));
    const ports = seen.map((s) => s.port);
    assert.equal(ports.length, 4);
    assert.equal(ports[0], ports[1]);
    assert.notEqual(ports[1], ports[2], 'the third datagram must come from a new outside port');
    assert.equal(ports[2], ports[3], 'the link rebinds once');
    // The echo of "two" went to the port the NAT had just closed.
    assert.deepEqual(echoes, ['one', 'three', 'four']);
    assert.equal(link.log.ofKind('rebind').length, 1);
  } finally {
    client.close();
    await link.stop();
    server.close();
  }
});
