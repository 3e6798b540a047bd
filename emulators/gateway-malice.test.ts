import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sealE3 } from '../crypto/e3-sealer.ts';
import { parseE3Header } from '../crypto/e3-packet.ts';
import { delay, downgrade, drop, reorder, replay, tamper, type InterceptedPublish, type MaliceContext } from './gateway-malice.ts';

const key = randomBytes(16);
const pseudonym = randomBytes(16);
const packet = (sequence: number) => sealE3(key, 'aes-128-gcm', { pseudonym, timestamp: 1_800_000_000, salt: randomBytes(4), sequence: BigInt(sequence) }, new Uint8Array(48));

function harness() {
  const injected: Uint8Array[] = [];
  const ctx: MaliceContext = { inject: (_t, p) => injected.push(p), note: () => undefined };
  let index = 0;
  const seen = (payload: Uint8Array): InterceptedPublish => ({ index: ++index, topic: 'wearables/x/e3', payload });
  return { injected, ctx, seen };
}

test('tamper picks the reading by its E3 sequence, once: a resent copy passes untouched', () => {
  const m = tamper({ packets: [4] });
  const { ctx, seen } = harness();
  // Readings 1, 1 (resent), 2, 3, 4, 4 (resent): counting packets would have hit reading 3.
  const changed = [1, 1, 2, 3, 4, 4].map((s) => {
    const original = packet(s);
    const v = m.onPublish?.(seen(original), ctx);
    return v?.action === 'forward' && !Buffer.from(v.payload).equals(Buffer.from(original));
  });
  assert.deepEqual(changed, [false, false, false, false, true, false]);
});

test('drop drops every copy of a chosen reading, so a resend cannot slip it through', () => {
  const m = drop({ packets: [2] });
  const { ctx, seen } = harness();
  assert.deepEqual([1, 2, 2, 3].map((s) => m.onPublish?.(seen(packet(s)), ctx)?.action), ['forward', 'drop', 'drop', 'forward']);
});

test('replay injects the chosen reading once, however often the device resends it', () => {
  const m = replay({ packets: [3], copies: 2 });
  const { ctx, seen, injected } = harness();
  for (const s of [1, 2, 3, 3, 4]) m.onPublish?.(seen(packet(s)), ctx);
  assert.equal(injected.length, 2);
});

test('payloads that are not E3 packets are chosen by their count', () => {
  const m = drop({ packets: [2] });
  const { ctx, seen } = harness();
  assert.deepEqual(['a', 'b', 'c'].map((t) => m.onPublish?.(seen(new TextEncoder().encode(t)), ctx)?.action), ['forward', 'drop', 'forward']);
});

test('reading numbers are validated with a sentence', () => {
  assert.throws(() => tamper({ packets: [0] }), /whole numbers from 1/);
  assert.throws(() => replay({ packets: [1], copies: 0 }), /copies must be 1\.\.100/);
});

test('reorder holds the chosen reading and releases it right after the next one', () => {
  const m = reorder({ packets: [2] });
  const { ctx, seen, injected } = harness();
  const actions = [1, 2, 3, 4].map((s) => m.onPublish?.(seen(packet(s)), ctx)?.action);
  assert.deepEqual(actions, ['forward', 'drop', 'drop', 'forward']);
  assert.deepEqual(injected.map((p) => Number(parseE3Header(p).sequence)), [3, 2], 'reading 3, then reading 2, each sent once');
});

test('delay holds a chosen reading for heldSeconds/speedup of wall time, and refuses a gateway that cannot hold', () => {
  const m = delay({ packets: [3], heldSeconds: 600, speedup: 600 });
  const held: number[] = [];
  const ctx: MaliceContext = { inject: () => undefined, injectAfter: (ms) => held.push(ms), note: () => undefined };
  let index = 0;
  const actions = [1, 2, 3].map((s) => m.onPublish?.({ index: ++index, topic: 't', payload: packet(s) }, ctx)?.action);
  assert.deepEqual(actions, ['forward', 'forward', 'drop']);
  assert.deepEqual(held, [1000]);
  assert.throws(() => delay({ packets: [3], heldSeconds: 600, speedup: 600 }).onPublish?.({ index: 1, topic: 't', payload: packet(3) }, { inject: () => undefined, note: () => undefined }), /cannot hold traffic/);
  assert.throws(() => delay({ packets: [3], heldSeconds: 0, speedup: 600 }), /heldSeconds/);
});

test('downgrade narrows the device-facing handshake to TLS 1.2 with one CBC suite, and is rebuilt from its data', async () => {
  const m = downgrade();
  assert.deepEqual(m.deviceTlsOffer, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' });
  assert.equal(m.onPublish, undefined, 'it leaves the readings alone');
  const { maliceFromData } = await import('../containers/roles/malice-data.ts');
  assert.deepEqual(maliceFromData({ name: m.name, options: m.options ?? {} }).deviceTlsOffer, m.deviceTlsOffer);
});
