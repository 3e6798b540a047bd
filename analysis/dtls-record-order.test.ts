/**
 * Loss and reordering read from DTLS record sequence numbers in a capture (dtls-record-order.ts),
 * on hand-built records: a number below one already seen is out of order, a number never seen
 * inside the range is missing, epoch 0 is not counted, and a flow is a session once its client
 * sent a ClientHello and then application data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UdpFlow } from '../capture/pcap-reader.ts';
import { dtlsCaptureOrder, recordHeaders } from './dtls-record-order.ts';

/** One DTLS 1.2 record: type, version 0xfefd, epoch, 48-bit sequence, length, body. */
function record(type: number, epoch: number, sequence: number, body: number[] = [0, 0, 0, 0]): Buffer {
  const h = Buffer.alloc(13);
  h[0] = type;
  h.writeUInt16BE(0xfefd, 1);
  h.writeUInt16BE(epoch, 3);
  h.writeUIntBE(sequence, 5, 6);
  h.writeUInt16BE(body.length, 11);
  return Buffer.concat([h, Buffer.from(body)]);
}

const clientHello = record(22, 0, 0, [1, 0, 0, 0]);
const helloVerify = record(22, 0, 0, [3, 0, 0, 0]);
const flow = (datagrams: [UdpFlow['datagrams'][number]['direction'], Buffer][]): UdpFlow => ({
  a: { address: '10.0.0.2', port: 40000 },
  b: { address: '10.0.0.3', port: 5684 },
  datagrams: datagrams.map(([direction, bytes], i) => ({ direction, timestampMicros: BigInt(i), bytes })),
});

test('record headers: every record of a datagram, its epoch, sequence and first handshake type; garbage stops the walk', () => {
  const two = Buffer.concat([record(22, 0, 5, [1, 9, 9, 9]), record(23, 1, 2 ** 40)]);
  assert.deepEqual(recordHeaders(two), [{ type: 22, epoch: 0, sequence: 5, handshakeType: 1 }, { type: 23, epoch: 1, sequence: 2 ** 40 }]);
  assert.deepEqual(recordHeaders(Buffer.from('not dtls at all, just text')), []);
  assert.deepEqual(recordHeaders(Buffer.alloc(5)), []);
});

test('out of order and missing sequence numbers per direction; epoch 0 not counted; sessions need a ClientHello then application data', () => {
  const order = dtlsCaptureOrder([
    flow([
      ['a-to-b', clientHello],
      ['b-to-a', helloVerify],
      ['a-to-b', record(23, 1, 1)],
      ['b-to-a', record(23, 1, 1)],
      ['b-to-a', record(23, 1, 4)],
      ['b-to-a', record(23, 1, 3)], // held back past 4
      // 2 never arrives
    ]),
    flow([['a-to-b', record(23, 1, 1)]]), // application data without a ClientHello: not a session seen from its start
    // A flow whose first captured datagram came from the server (the client's ClientHello missed):
    // udpFlows() makes the server `a`; the shared server endpoint turns it round.
    { a: { address: '10.0.0.3', port: 5684 }, b: { address: '10.0.0.2', port: 40001 }, datagrams: [
      { direction: 'a-to-b', timestampMicros: 0n, bytes: helloVerify },
      { direction: 'b-to-a', timestampMicros: 1n, bytes: clientHello },
      { direction: 'b-to-a', timestampMicros: 2n, bytes: record(23, 1, 1) },
    ] },
  ]);
  assert.equal(order.sessionsWithApplicationData, 2);
  assert.equal(order.clientFlows, 3, 'a flow seen only by its encrypted records is still a DTLS client');
  assert.equal(order.helloVerifyRequests, 2);
  assert.deepEqual(order.serverToClient, { records: 3, outOfOrder: 1, missing: 1 });
  assert.deepEqual(order.clientToServer, { records: 3, outOfOrder: 0, missing: 0 });
});
