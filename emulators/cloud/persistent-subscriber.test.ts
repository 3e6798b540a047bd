import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { PersistentSubscriber } from './persistent-subscriber.ts';

/** Publish QoS 1 from the broker itself (as a wearable's PUBLISH would be routed). */
function publish(aedes: Aedes, n: number | string): Promise<void> {
  return new Promise((resolve, reject) => aedes.publish({ cmd: 'publish', topic: 'wearables/a/e3', payload: Buffer.from(String(n)), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())));
}

test('away, the subscriber leaves its session with the broker; back, the broker says so and delivers what it queued, in order', async () => {
  const aedes = await Aedes.createBroker();
  const server = createServer((s) => aedes.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const received: string[] = [];
  const subscriber = new PersistentSubscriber({ stream: () => connect(port, '127.0.0.1'), clientId: 'cloud', filter: 'wearables/+/e3', brokerName: 'aedes', onMessage: (_t, p) => received.push(p.toString()) });
  try {
    await subscriber.start();
    await subscriber.away();
    // Absence proved by a sentinel: a connected probe on the same filter gets all three readings
    // and then the sentinel, so the broker routed them all before the check below.
    const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'probe', reconnectPeriod: 0 });
    const probed: string[] = [];
    probe.on('message', (_t, p) => probed.push(p.toString()));
    await probe.subscribeAsync('wearables/+/e3', { qos: 1 });
    for (const n of [1, 2, 3]) await publish(aedes, n);
    await publish(aedes, 'sentinel');
    const routed = performance.now() + 5_000;
    while (!probed.includes('sentinel') && performance.now() < routed) await new Promise((r) => setTimeout(r, 10));
    await probe.endAsync();
    assert.deepEqual(probed, ['1', '2', '3', 'sentinel'], 'the connected probe did not receive what was published');
    assert.deepEqual(received, [], 'nothing reaches a subscriber that is away');
    const { sessionPresent } = await subscriber.back();
    assert.equal(sessionPresent, true);
    const until = performance.now() + 5_000;
    while (received.length < 4 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received, ['1', '2', '3', 'sentinel']);
    await assert.rejects(subscriber.back(), /already connected/);
  } finally {
    await subscriber.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    server.close();
  }
});

test('no CONNACK within the bound: the subscriber rejects with one line and gives up its connection, no reconnecting', async () => {
  // A broker that accepts TCP and never answers CONNECT.
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s.resume())); // read the CONNECT, never answer
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { port } = silent.address() as AddressInfo;
  let streams = 0;
  const subscriber = new PersistentSubscriber({ stream: () => (streams++, connect(port, '127.0.0.1')), clientId: 'cloud', filter: 'wearables/+/e3', brokerName: 'silent', onMessage: () => undefined, connectTimeoutMs: 200 });
  try {
    await assert.rejects(subscriber.start(), /^Error: cloud: no CONNACK from silent within 0\.2 s; check that the broker is up/);
    const socket = sockets[0];
    assert.ok(socket, 'the subscriber never reached the silent broker');
    if (!socket.destroyed) {
      await new Promise<void>((resolve, reject) => {
        const bound = setTimeout(() => reject(new Error('the subscriber kept its connection to the silent broker after giving up')), 5_000);
        socket.once('close', () => {
          clearTimeout(bound);
          resolve();
        });
      });
    }
    assert.equal(streams, 1, 'the subscriber opened another connection after giving up');
    await assert.rejects(subscriber.away(), /not connected/, 'the subscriber still holds the client it gave up on');
  } finally {
    await subscriber.stop();
    for (const s of sockets) s.destroy();
    silent.close();
  }
});
