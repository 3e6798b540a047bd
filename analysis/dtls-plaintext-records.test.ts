// Plaintext DTLS alerts and handshake types, from hand-built flows (RFC 6347 §4.1 record headers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UdpFlow } from '../capture/pcap-reader.ts';
import { dtlsPlaintextAlerts, dtlsPlaintextHandshakes } from './dtls-plaintext-records.ts';

const record = (type: number, epoch: number, body: number[]) => [type, 0xfe, 0xfd, epoch >> 8, epoch & 0xff, 0, 0, 0, 0, 0, 0, 0, body.length, ...body];
const endpoint = (port: number) => ({ address: '127.0.0.1', port });

function flow(...datagrams: { from: 'client' | 'server'; bytes: number[] }[]): UdpFlow {
  return { a: endpoint(1000), b: endpoint(2000), datagrams: datagrams.map((d, i) => ({ direction: d.from === 'client' ? 'a-to-b' : 'b-to-a', timestampMicros: BigInt(i), bytes: new Uint8Array(d.bytes) })) } as UdpFlow;
}

test('a ClientHello answered by a HelloVerifyRequest, then a fatal protocol_version alert from the server', () => {
  const f = flow(
    { from: 'client', bytes: record(22, 0, [1, 0, 0, 0]) },
    { from: 'server', bytes: record(22, 0, [3, 0, 0, 0]) },
    { from: 'server', bytes: record(21, 0, [2, 70]) },
  );
  assert.deepEqual(dtlsPlaintextHandshakes(f), [{ sender: 'client', message: 'ClientHello' }, { sender: 'server', message: 'HelloVerifyRequest' }]);
  assert.deepEqual(dtlsPlaintextAlerts(f), [{ sender: 'server', level: 'fatal', name: 'protocol_version (70)', description: 70 }]);
});

test('encrypted records (epoch 1, unified headers), truncated and odd records are not read as plaintext', () => {
  const f = flow(
    { from: 'client', bytes: [...record(21, 1, [2, 47]), ...record(22, 0, [99])] },
    { from: 'client', bytes: [0x2c, 0, 1, 0, 17, ...new Array<number>(17).fill(9), ...record(21, 0, [1, 0])] },
    { from: 'server', bytes: [21, 0xfe, 0xfd, 0, 0] },
  );
  assert.deepEqual(dtlsPlaintextAlerts(f), [{ sender: 'client', level: 'warning', name: 'close_notify (0)', description: 0 }]);
  assert.deepEqual(dtlsPlaintextHandshakes(f), [{ sender: 'client', message: 'handshake type 99' }]);
});
