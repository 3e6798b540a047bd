import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreAndForwardQueue } from './store-and-forward.ts';

test('the queue keeps readings in sealed order until acknowledged and counts what a full queue refuses', () => {
  const q = new StoreAndForwardQueue(2);
  const a = q.offer(1n, new Uint8Array(96), 0);
  const b = q.offer(2n, new Uint8Array(96), 0);
  assert.ok(a && b);
  assert.equal(q.offer(3n, new Uint8Array(96), 0), undefined);
  assert.equal(q.overflows, 1);
  assert.deepEqual([...q.pending()].map((e) => e.sequence), [1n, 2n]);
  assert.equal(q.acknowledge(a.messageId)?.sequence, 1n);
  assert.equal(q.acknowledge(a.messageId), undefined, 'a second PUBACK for the same id acknowledges nothing');
  assert.ok(q.offer(4n, new Uint8Array(96), 0));
  assert.deepEqual([...q.pending()].map((e) => e.sequence), [2n, 4n]);
});

test('packet ids are non-zero, wrap at 65535 and never reuse one still in flight (MQTT 3.1.1 §2.3.1)', () => {
  const q = new StoreAndForwardQueue(3);
  const held = q.offer(1n, new Uint8Array(1), 0);
  assert.equal(held?.messageId, 1);
  for (let i = 0; i < 70_000; i++) {
    const e = q.offer(2n, new Uint8Array(1), 0);
    assert.ok(e && e.messageId !== 0 && e.messageId !== 1);
    q.acknowledge(e.messageId);
  }
  assert.throws(() => new StoreAndForwardQueue(0), /capacity must be/);
});
