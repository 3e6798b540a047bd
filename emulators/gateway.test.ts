import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { Gateway, RELAY_KEEP_BYTES } from './gateway.ts';

test('a relay records each connection\'s bytes per direction, numbered, and keeps at most RELAY_KEEP_BYTES of each', async (t) => {
  // An echo server stands in for the cloud.
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.after(() => echo.close());
  const gateway = new Gateway({ mode: 'relay', listen: { host: '127.0.0.1', port: 0 }, upstream: { ...(echo.address() as AddressInfo), host: '127.0.0.1', serverName: 'cloud.testbed.local' } });
  const endpoint = await gateway.start();
  t.after(() => gateway.stop());
  const sent = Buffer.alloc(RELAY_KEEP_BYTES + 10_000, 0x17);
  for (let i = 0; i < 2; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(endpoint, () => socket.write(sent));
      let echoed = 0;
      socket.on('data', (b: Buffer) => {
        echoed += b.length;
        if (echoed === sent.length) socket.end(resolve);
      });
      socket.on('error', reject);
    });
  }
  const kept = (connection: number, direction: string) =>
    gateway.log.ofKind('raw-bytes').filter((o) => o.detail.connection === connection && o.detail.direction === direction).reduce((n, o) => n + (o.bytes?.length ?? 0), 0);
  for (const connection of [1, 2]) {
    assert.equal(kept(connection, 'device-to-cloud'), RELAY_KEEP_BYTES, `connection ${connection} device→cloud`);
    assert.equal(kept(connection, 'cloud-to-device'), RELAY_KEEP_BYTES, `connection ${connection} cloud→device`);
  }
  assert.ok(gateway.log.ofKind('raw-bytes').some((o) => /the rest is relayed unrecorded/.test(o.summary)), 'the relay did not say it stopped keeping bytes');
});
