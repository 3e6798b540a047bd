import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtlsRecords } from './dtls-records.ts';

const record = (type: number, epoch: number, body: number) => {
  const b = Buffer.alloc(13 + body);
  b[0] = type;
  b.writeUInt16BE(0xfefd, 1);
  b.writeUInt16BE(epoch, 3);
  b.writeUInt16BE(body, 11);
  return b;
};

test('splits a datagram into its DTLS records', () => {
  const r = dtlsRecords(Buffer.concat([record(22, 0, 40), record(20, 0, 1), record(23, 1, 96)]));
  assert.deepEqual(r, [
    { contentType: 'handshake', version: 0xfefd, epoch: 0, length: 40 },
    { contentType: 'change_cipher_spec', version: 0xfefd, epoch: 0, length: 1 },
    { contentType: 'application_data', version: 0xfefd, epoch: 1, length: 96 },
  ]);
});

test('refuses what is not DTLS: plaintext, truncation, trailing bytes', () => {
  assert.match((dtlsRecords(Buffer.from('\x01' + 'x'.repeat(96))) as Error).message, /not a DTLS record/);
  assert.match((dtlsRecords(record(23, 1, 96).subarray(0, 50)) as Error).message, /claims 96 bytes/);
  assert.match((dtlsRecords(Buffer.concat([record(23, 1, 4), Buffer.of(1, 2)])) as Error).message, /trailing bytes/);
});
