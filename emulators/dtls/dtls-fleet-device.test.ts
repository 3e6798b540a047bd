/**
 * The DTLS fleet device's window (dtls-fleet-device.ts): with one reading in flight the next one
 * waits, sealed, until the cloud acknowledges the one before (or it is given up), so the cloud
 * cannot open a later reading first; what waits counts as pending; each ack reports its latency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisionDevice } from '../provisioning.ts';
import { deviceVitals } from '../device-sealer.ts';
import { DtlsFleetDevice } from './dtls-fleet-device.ts';
import { decodeReadingDatagram, encodeAckDatagram } from './reading-datagram.ts';
import { E3_SEQUENCE_OFFSET } from '../../crypto/e3-packet.ts';

function device(window: number | undefined, maxAttempts = 3, backoff = false) {
  const p = provisionDevice('wearable-0001', 1);
  const sent: bigint[] = [];
  const latencies: number[] = [];
  // A stand-in sealer: the pseudonym and the sequence where an E3 packet carries them (docs/architecture.md §4).
  const sealer = {
    nextSequence: 1n,
    seal(): Uint8Array {
      const packet = Buffer.alloc(96);
      Buffer.from(p.pseudonymHex, 'hex').copy(packet, 0);
      packet.writeBigUInt64BE(this.nextSequence, E3_SEQUENCE_OFFSET);
      this.nextSequence++;
      return packet;
    },
  };
  const d = new DtlsFleetDevice({
    provisioning: p, sealer, vitals: deviceVitals(p), clock: { nowSec: () => 0 },
    send: (datagram) => {
      const r = decodeReadingDatagram(datagram);
      if (!(r instanceof Error) && r.type === 'reading') sent.push(Buffer.from(r.packet).readBigUInt64BE(E3_SEQUENCE_OFFSET));
    },
    resend: { intervalMs: 100, maxAttempts, backoff }, ...(window === undefined ? {} : { window }), onAcknowledged: (ms) => latencies.push(ms),
  });
  return { d, p, sent, latencies };
}

test('one reading in flight: the next is sent only after the ack of the one before', () => {
  const { d, p, sent, latencies } = device(1);
  d.read(0);
  d.read(10);
  d.read(20);
  assert.deepEqual(sent, [1n], 'readings 2 and 3 went out before reading 1 was acknowledged');
  assert.equal(d.pending, 3);
  d.received(encodeAckDatagram(p.pseudonymHex, [1n]), 50);
  assert.deepEqual(sent, [1n, 2n]);
  assert.deepEqual(latencies, [50]);
  d.tick(150); // reading 2 waited 100 ms: resent
  assert.deepEqual(sent, [1n, 2n, 2n]);
  d.received(encodeAckDatagram(p.pseudonymHex, [2n]), 160);
  d.received(encodeAckDatagram(p.pseudonymHex, [3n]), 170);
  assert.equal(d.pending, 0);
  assert.equal(d.acknowledged, 3);
});

test('with back-off the wait doubles after each send, up to four intervals', () => {
  const { d, sent } = device(1, 10, true);
  d.read(0);
  for (let t = 10; t <= 1_600; t += 10) d.tick(t);
  // Sends at 0, 100, 300, 700, 1100, 1500: waits of 100, 200, 400, 400, 400 ms.
  assert.equal(sent.length, 6);
});

test('a reading given up frees the window for the next; without a window every reading goes out at once', () => {
  const one = device(1, 1);
  one.d.read(0);
  one.d.read(0);
  one.d.tick(100);
  assert.equal(one.d.givenUp, 1);
  assert.deepEqual(one.sent, [1n, 2n]);
  const open = device(undefined);
  for (let i = 0; i < 3; i++) open.d.read(0);
  assert.deepEqual(open.sent, [1n, 2n, 3n]);
  assert.throws(() => device(0), /window must be 1\.\.1000/);
});
