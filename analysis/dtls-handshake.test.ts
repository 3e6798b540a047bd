import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UdpFlow } from '../capture/pcap-reader.ts';
import { analyseDtlsFlow } from './dtls-handshake.ts';

/** One DTLS 1.2 record (RFC 6347 §4.1); handshake records get a 12-byte handshake header. */
function record(type: 'handshake' | 'ccs' | 'alert' | 'app', epoch: number, handshakeType = 0, bodyBytes = 20): Buffer {
  const content = { handshake: 22, ccs: 20, alert: 21, app: 23 }[type];
  const body = type === 'handshake' && epoch === 0 ? Buffer.concat([Buffer.of(handshakeType, 0, 0, bodyBytes, 0, 0, 0, 0, 0, 0, 0, bodyBytes), Buffer.alloc(bodyBytes)]) : Buffer.alloc(bodyBytes);
  const header = Buffer.alloc(13);
  header.writeUInt8(content, 0);
  header.writeUInt16BE(0xfefd, 1);
  header.writeUInt16BE(epoch, 3);
  header.writeUInt16BE(body.length, 11);
  return Buffer.concat([header, body]);
}

function flow(datagrams: [dir: 'c' | 's', ms: number, bytes: Buffer][]): UdpFlow {
  return {
    a: { address: '127.0.0.1', port: 40000 },
    b: { address: '127.0.0.1', port: 5684 },
    datagrams: datagrams.map(([d, ms, bytes]) => ({ direction: d === 'c' ? 'a-to-b' : 'b-to-a', timestampMicros: BigInt(ms * 1000), bytes })),
  };
}

test('a full DTLS 1.2 handshake with a cookie exchange is 3 round trips to the server Finished', () => {
  const a = analyseDtlsFlow(flow([
    ['c', 0, record('handshake', 0, 1)],
    ['s', 50, record('handshake', 0, 3)],
    ['c', 51, record('handshake', 0, 1)],
    ['s', 101, Buffer.concat([record('handshake', 0, 2), record('handshake', 0, 11, 600), record('handshake', 0, 12), record('handshake', 0, 14, 0)])],
    ['c', 103, Buffer.concat([record('handshake', 0, 16), record('ccs', 0, 0, 1), record('handshake', 1)])],
    ['s', 153, Buffer.concat([record('ccs', 0, 0, 1), record('handshake', 1)])],
    ['c', 154, record('app', 1)],
  ]));
  assert.equal(a.kind, 'full');
  assert.equal(a.helloVerifyRequest, true);
  assert.equal(a.serverCertificateInClear, true);
  assert.equal(a.roundTrips, 3);
  assert.equal(a.handshakeMs, 153);
  assert.deepEqual(a.problems, []);
  assert.deepEqual(a.flights[3]?.messages, ['ServerHello', 'Certificate', 'ServerKeyExchange', 'ServerHelloDone']);
});

test('a resumed handshake (server Finished first, no certificate) is 1 round trip; its data after is not counted', () => {
  const a = analyseDtlsFlow(flow([
    ['c', 0, record('handshake', 0, 1)],
    ['s', 50, Buffer.concat([record('handshake', 0, 2), record('ccs', 0, 0, 1), record('handshake', 1)])],
    ['c', 51, Buffer.concat([record('ccs', 0, 0, 1), record('handshake', 1), record('app', 1)])],
    ['s', 101, record('app', 1)],
  ]));
  assert.equal(a.kind, 'resumed');
  assert.equal(a.helloVerifyRequest, false);
  assert.equal(a.roundTrips, 1);
  assert.equal(a.handshakeBytes.clientToServer, 13 + 32);
});

test('a handshake that never completes, a retransmission and garbage are reported, not thrown', () => {
  const a = analyseDtlsFlow(flow([
    ['c', 0, record('handshake', 0, 1)],
    ['s', 50, record('handshake', 0, 3)],
    ['c', 51, record('handshake', 0, 1)],
    ['c', 1051, record('handshake', 0, 1)],
    ['s', 1100, Buffer.from('not dtls at all')],
  ]));
  assert.equal(a.roundTrips, undefined);
  assert.equal(a.handshakeMs, undefined);
  assert.equal(a.problems.length, 3, a.problems.join('\n'));
  assert.match(a.problems.join('\n'), /not DTLS/);
  assert.match(a.problems.join('\n'), /retransmitted/);
  assert.match(a.problems.join('\n'), /never sent its Finished/);
});
