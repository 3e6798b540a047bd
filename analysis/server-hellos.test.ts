import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countServerHellos, serverHelloKind } from './server-hellos.ts';
import type { CapturedPacket } from '../capture/pcap-reader.ts';

/** A TLS 1.3 ServerHello record (RFC 8446 §4.1.3) with the given extensions. */
function serverHello(extensions: [number, Buffer][], random = Buffer.alloc(32, 7)): Uint8Array {
  const ext = Buffer.concat(extensions.map(([type, body]) => Buffer.concat([Buffer.from([type >> 8, type & 0xff, body.length >> 8, body.length & 0xff]), body])));
  const body = Buffer.concat([Buffer.from([3, 3]), random, Buffer.from([32]), Buffer.alloc(32, 1), Buffer.from([0x13, 0x01, 0]), Buffer.from([ext.length >> 8, ext.length & 0xff]), ext]);
  const hs = Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 3, hs.length >> 8, hs.length & 0xff]), hs]);
}

const SUPPORTED_VERSIONS: [number, Buffer] = [43, Buffer.from([3, 4])];
const KEY_SHARE: [number, Buffer] = [51, Buffer.alloc(36, 2)];
const PSK: [number, Buffer] = [41, Buffer.from([0, 0])];

test('a ServerHello that selects a pre_shared_key is a resumption; one without is full; a HelloRetryRequest is neither', () => {
  assert.equal(serverHelloKind(serverHello([SUPPORTED_VERSIONS, KEY_SHARE])), 'full');
  assert.equal(serverHelloKind(serverHello([SUPPORTED_VERSIONS, PSK, KEY_SHARE])), 'resumed');
  assert.equal(serverHelloKind(serverHello([SUPPORTED_VERSIONS], Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'))), undefined);
  assert.equal(serverHelloKind(Uint8Array.of(0x17, 3, 3, 0, 1, 0)), undefined, 'application data');
  assert.equal(serverHelloKind(serverHello([SUPPORTED_VERSIONS]).subarray(0, 20)), undefined, 'truncated');
});

test('countServerHellos counts only the server port and from the given time', () => {
  const packet = (port: number, t: bigint, payload: Uint8Array): CapturedPacket => ({ index: 1, timestampMicros: t, src: { address: '10.0.0.1', port }, dst: { address: '10.0.0.2', port: 40000 }, protocol: 'tcp', payload });
  const packets = [packet(8883, 1n, serverHello([PSK])), packet(8883, 5n, serverHello([PSK])), packet(8883, 6n, serverHello([KEY_SHARE])), packet(40000, 7n, serverHello([PSK]))];
  assert.deepEqual(countServerHellos(packets, 8883, 5n), { full: 1, resumed: 1 });
});
