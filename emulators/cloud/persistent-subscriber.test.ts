import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { PersistentSubscriber } from './persistent-subscriber.ts';

/** Publish QoS 1 from the broker itself (as a wearable's PUBLISH would be routed). */
function publish(aedes: Aedes, n: number): Promise<void> {
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
    for (const n of [1, 2, 3]) await publish(aedes, n);
    assert.deepEqual(received, [], 'nothing reaches a subscriber that is away');
    const { sessionPresent } = await subscriber.back();
    assert.equal(sessionPresent, true);
    const until = performance.now() + 5_000;
    while (received.length < 3 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received, ['1', '2', '3']);
    await assert.rejects(subscriber.back(), /already connected/);
  } finally {
    await subscriber.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    server.close();
  }
});
