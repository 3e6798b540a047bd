/**
 * A fleet device (fleet-device.ts) against a scripted broker across a "restart": QoS 1 with a
 * persistent session, the store-and-forward queue resent on reconnect (MQTT 3.1.1 §4.4), packet
 * ids (§2.3.1) and a stale PUBACK. Written for the swarm run where wearable-0042 was connected
 * with none of its 4 readings acknowledged (docs/scale-out.md): the device is judged by what the
 * broker receives on the wire, packet by packet, not by its own counters alone.
 *
 * The broker is a node:tls server speaking just enough MQTT (mqtt-packet) to follow a script:
 *   connection 1: CONNACK; PUBACK only the first of two readings; then the connection is cut
 *   connection 2: CONNACK (session present); a PUBACK for packet id 1 again (already acknowledged,
 *                 stale); then PUBACK for whatever is resent, and for a new reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecureContext, createServer, type TLSSocket } from 'node:tls';
import { createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { generatePki } from '../../certs/pki.ts';
import { CLOUD_NAME } from '../../certs/genuine-profiles.ts';
import { provisionDevice } from '../provisioning.ts';
import { deviceVitals } from '../device-sealer.ts';
import { FleetSealer } from './fleet-sealer.ts';
import { FleetDevice, type FleetDeviceEvents } from './fleet-device.ts';
import type { QueuedReading } from './store-and-forward.ts';

/** The device of the unexplained swarm failure; any id would do for the device's own logic. */
const DEVICE_ID = 'wearable-0042';
const WAIT_MS = 10_000;

interface SeenPublish {
  readonly connection: number;
  readonly messageId: number;
  readonly dup: boolean;
  readonly payloadHex: string;
}

async function until(what: string, condition: () => boolean, seen: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`scripted broker: waited ${WAIT_MS / 1000} s for ${what}; ${seen()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a device resends exactly its unacknowledged reading with DUP and the same packet id after a broker restart, ignores a stale PUBACK, and publishes every reading', async (t) => {
  const pki = await generatePki({ wearableIds: [DEVICE_ID] });
  const wearable = pki.wearables.get(DEVICE_ID);
  assert.ok(wearable);
  const publishes: SeenPublish[] = [];
  const connects: { connection: number; clean: boolean; clientId: string }[] = [];
  const sockets: TLSSocket[] = [];
  const server = createServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca: [pki.rootCa.certPem, pki.intermediateCa.certPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => {
    const connection = sockets.push(socket);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const send = (p: mqttPacket.Packet) => socket.write(mqttPacket.generate(p));
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd === 'connect') {
        connects.push({ connection, clean: p.clean ?? true, clientId: p.clientId });
        send({ cmd: 'connack', returnCode: 0, sessionPresent: connection > 1 });
        // A PUBACK for packet id 1, acknowledged on the first connection already: what a broker
        // replaying old state, or a reused id, would look like to the device.
        if (connection === 2) send({ cmd: 'puback', messageId: 1 });
      } else if (p.cmd === 'publish') {
        const messageId = p.messageId ?? 0;
        publishes.push({ connection, messageId, dup: p.dup ?? false, payloadHex: Buffer.from(p.payload as Buffer).toString('hex') });
        // First connection: only the first reading is acknowledged before the "restart".
        if (connection > 1 || publishes.filter((x) => x.connection === 1).length === 1) send({ cmd: 'puback', messageId });
      }
    });
    socket.on('data', (b: Buffer) => parser.parse(b));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  const acknowledged: { messageId: number; sequence: bigint }[] = [];
  let connections = 0;
  const events: FleetDeviceEvents = {
    connected: () => void connections++,
    disconnected: () => undefined,
    refused: () => undefined,
    acknowledged: (_d, reading: QueuedReading) => void acknowledged.push({ messageId: reading.messageId, sequence: reading.sequence }),
    overflow: () => undefined,
  };
  const provisioning = provisionDevice(DEVICE_ID, 42);
  const device = new FleetDevice({
    provisioning,
    secureContext: () => createSecureContext({ ca: [pki.rootCa.certPem, pki.intermediateCa.certPem], cert: wearable.chainPem, key: wearable.keyPem, minVersion: 'TLSv1.3' }),
    sealer: new FleetSealer(provisioning, wearable.keyPem, createPublicKey(pki.cloudE3.publicKeyPem)),
    vitals: deviceVitals(provisioning),
    clock: { nowSec: () => Math.floor(Date.now() / 1000) },
    endpoint: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, serverName: CLOUD_NAME },
    queueCapacity: 16,
    events,
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => device.stop());
  const seen = () => `the broker received ${publishes.length ? publishes.map((p) => `PUBLISH id ${p.messageId}${p.dup ? ' (DUP)' : ''} on connection ${p.connection}`).join(', ') : 'no PUBLISH'}; the device is ${device.connected ? 'connected' : 'not connected'} with ${device.queue.size} readings queued and ${acknowledged.length} acknowledged`;

  await device.connect();
  device.read();
  device.read();
  await until('both readings on the first connection', () => publishes.length === 2 && acknowledged.length === 1, seen);
  // The "restart": the broker's side of the connection is gone; the device reconnects by itself.
  sockets[0]?.destroy();
  await until('the device to reconnect and resend', () => connections === 2 && publishes.some((p) => p.connection === 2), seen);
  device.read();
  await until('the third reading acknowledged', () => acknowledged.length >= 3, seen);
  await new Promise((r) => setTimeout(r, 50)); // a late extra PUBACK or resend would show now

  assert.deepEqual(connects.map((c) => [c.clientId, c.clean]), [[DEVICE_ID, false], [DEVICE_ID, false]], 'both CONNECTs ask for the persistent session (clean session 0, MQTT 3.1.1 §3.1.2.4)');
  const first = publishes.filter((p) => p.connection === 1);
  const second = publishes.filter((p) => p.connection === 2);
  assert.deepEqual(first.map((p) => [p.messageId, p.dup]), [[1, false], [2, false]], `the broker saw on connection 1: ${JSON.stringify(first.map((p) => [p.messageId, p.dup]))}`);
  // §4.4: on reconnect with clean session 0 the client MUST resend unacknowledged PUBLISH packets
  // (§3.3.1.1: with DUP set, and the same packet id); the acknowledged one is not resent.
  assert.deepEqual(second.map((p) => [p.messageId, p.dup]), [[2, true], [3, false]], `the broker saw on connection 2: ${JSON.stringify(second.map((p) => [p.messageId, p.dup]))}`);
  assert.equal(second[0]?.payloadHex, first[1]?.payloadHex, 'the resend carries the same sealed E3 packet, not a new seal');
  assert.deepEqual(acknowledged.map((a) => [a.messageId, a.sequence]), [[1, 1n], [2, 2n], [3, 3n]], 'each reading acknowledged once, the stale PUBACK for id 1 ignored');
  assert.equal(device.queue.size, 0, 'nothing is left waiting in the store-and-forward queue');
});
