import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { mqttPacketsInClear } from './mqtt-in-clear.ts';

const connectPacket = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'wearable-0001', username: 'wearable-0001', password: Buffer.from('secret') });
const publish = mqttPacket.generate({ cmd: 'publish', topic: 'wearables/abc', payload: Buffer.alloc(96, 7), qos: 1, messageId: 1, retain: false, dup: false });

test('a plaintext MQTT stream yields its CONNECT and PUBLISH', () => {
  const found = mqttPacketsInClear(Buffer.concat([connectPacket, publish, publish.subarray(0, 10)]));
  // The trailing partial PUBLISH is not a packet yet.
  assert.deepEqual(found.map((p) => p.summary), ['CONNECT client id "wearable-0001", username "wearable-0001"', 'PUBLISH wearables/abc (96 bytes)']);
});

/** The first flight Node's TLS client writes (its ClientHello), read by a plain TCP server. */
async function clientHello(): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const first = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', resolve)));
    const client = tlsConnect({ host: '127.0.0.1', port, servername: 'cloud.testbed.local' });
    client.on('error', () => undefined);
    const bytes = await first;
    client.destroy();
    return bytes;
  } finally {
    server.close();
  }
}

test('a TLS stream (a real ClientHello, then an application-data record) yields no MQTT packet', async () => {
  const hello = await clientHello();
  assert.equal(hello[0], 0x16, 'not a TLS handshake record');
  const appData = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0xaa)]);
  assert.deepEqual(mqttPacketsInClear(Buffer.concat([hello, appData])), []);
  assert.deepEqual(mqttPacketsInClear(appData), []);
});

test('garbage and an empty stream yield nothing; parsing stops at the first non-MQTT byte', () => {
  assert.deepEqual(mqttPacketsInClear(new Uint8Array(0)), []);
  assert.deepEqual(mqttPacketsInClear(Buffer.from('GET / HTTP/1.1\r\n\r\n')), []);
  assert.deepEqual(mqttPacketsInClear(Buffer.concat([Buffer.from([0xff, 0xff]), connectPacket])).length, 0);
});
