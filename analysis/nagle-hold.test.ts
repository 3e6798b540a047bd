// connackHold on record streams the test builds itself, with exact (fake) timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseRecordStream, type TimedChunk } from './handshake-analyser.ts';
import { connackHold, median, TLS13_CONNACK_RECORD_BYTES } from './nagle-hold.ts';

const client = { address: '10.0.0.1', port: 40000 };
const server = { address: '10.0.0.2', port: 8883 };
const u16 = (n: number) => [n >> 8, n & 0xff];
const record = (type: number, bodyBytes: number, version = [3, 3]) => Uint8Array.from([type, ...version, ...u16(bodyBytes), ...new Array<number>(bodyBytes).fill(7)]);
/** A ClientHello or ServerHello with only supported_versions (43) naming TLS 1.3 when asked. */
function hello(type: 1 | 2, tls13: boolean): Uint8Array {
  const ext = tls13 ? (type === 1 ? [0, 43, 0, 3, 2, 3, 4] : [0, 43, 0, 2, 3, 4]) : [];
  const middle = type === 1 ? [0, 2, 0x13, 0x01, 1, 0] : [0x13, 0x01, 0];
  const body = [3, 3, ...new Array<number>(32).fill(0x42), 0, ...middle, ...u16(ext.length), ...ext];
  const message = [type, 0, ...u16(body.length), ...body];
  return Uint8Array.from([22, 3, 3, ...u16(message.length), ...message]);
}
const at = (ms: number, direction: TimedChunk['direction'], ...records: Uint8Array[]): TimedChunk => ({
  direction,
  timestampMicros: 1_700_000_000_000_000n + BigInt(ms * 1000),
  bytes: Buffer.concat(records),
});
const CONNACK_BODY = TLS13_CONNACK_RECORD_BYTES - 5;

/** A full TLS 1.3 connection whose tickets leave at 10 ms and CONNACK at `connackMs`. */
function connection(connackMs: number, tls13 = true, lastBody = CONNACK_BODY) {
  return analyseRecordStream(client, server, [
    at(0, 'client-to-server', hello(1, tls13)),
    at(5, 'server-to-client', hello(2, tls13), record(23, 2000)),
    at(8, 'client-to-server', record(23, 1500)),
    at(10, 'server-to-client', record(23, 906), record(23, 906)),
    at(connackMs, 'server-to-client', record(23, lastBody)),
  ], { tcpHandshake: { synMicros: 1_700_000_000_000_000n, synAckMicros: 1_700_000_000_000_000n } });
}

test('a CONNACK held behind the tickets: the hold and the time to CONNACK, from the record times', () => {
  const hold = connackHold(connection(52));
  assert.ok(typeof hold !== 'string', String(hold));
  assert.equal(hold.heldMs, 42);
  assert.equal(hold.timeToConnackMs, 52);
  assert.equal(hold.connack.wireBytes, 26);
  assert.deepEqual(hold.flightRecords.map((r) => r.wireBytes), [911, 911, 26]);
});

test('a CONNACK sent right behind the tickets is held 0 ms', () => {
  const hold = connackHold(connection(10));
  assert.ok(typeof hold !== 'string', String(hold));
  assert.equal(hold.heldMs, 0);
  assert.equal(hold.timeToConnackMs, 10);
});

test('a flight that does not end in a CONNACK-sized record, or a TLS 1.2 connection, is explained, not guessed', () => {
  assert.match(String(connackHold(connection(52, true, 40))), /ends with a 45-byte application_data record, not a 26-byte CONNACK/);
  assert.match(String(connackHold(connection(52, false))), /this connection is TLS 1\.2/);
  const noAnswer = analyseRecordStream(client, server, [at(0, 'client-to-server', hello(1, true)), at(5, 'server-to-client', hello(2, true))]);
  assert.match(String(connackHold(noAnswer)), /no application data/);
});

test('median of odd, even and empty lists', () => {
  assert.equal(median([42, 1, 7]), 7);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
