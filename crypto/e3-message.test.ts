/**
 * Sealed command/response envelopes: the device's @noble/ciphers and the cloud's node:crypto
 * seal identical bytes and open each other's, for both AEADs; the header is authenticated; the
 * receiver refuses in the opener's order and never lets a forgery move its replay window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { E3_MESSAGE_HEADER_BYTES, E3MessageReceiver, E3MessageSender, openE3Message, parseMessageHeader, sealE3Message, type E3MessageEnd } from './e3-message.ts';
import type { E3Algorithm } from './e3-packet.ts';

const NOW = 1_700_000_000;
const body = new TextEncoder().encode('{"command":"set_temp","temp":22}');

for (const algorithm of ['aes-128-gcm', 'chacha20-poly1305'] as E3Algorithm[]) {
  test(`${algorithm}: noble and node:crypto seal the same bytes and open each other's`, () => {
    const key = new Uint8Array(randomBytes(algorithm === 'aes-128-gcm' ? 16 : 32));
    const header = { kind: 'command' as const, pseudonym: new Uint8Array(randomBytes(16)), timestamp: NOW, salt: new Uint8Array(4), sequence: 9n };
    const a = sealE3Message('noble', key, algorithm, header, body);
    const b = sealE3Message('node', key, algorithm, header, body);
    assert.equal(Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'));
    assert.deepEqual(Buffer.from(openE3Message('node', key, algorithm, a) ?? []), Buffer.from(body));
    assert.deepEqual(Buffer.from(openE3Message('noble', key, algorithm, b) ?? []), Buffer.from(body));
    assert.ok(!Buffer.from(a).includes(Buffer.from('set_temp')), 'the command is not in clear');
    for (const at of [0, 1, 17, 21, 25, E3_MESSAGE_HEADER_BYTES, a.length - 1]) {
      const c = Uint8Array.from(a);
      c[at] = (c[at] as number) ^ 0x01;
      assert.equal(openE3Message('node', key, algorithm, c), undefined, `a flipped bit at ${at} must fail the tag`);
    }
  });
}

function ends(kind: 'command' | 'response') {
  const key = new Uint8Array(randomBytes(16));
  let derivations = 0;
  const end: E3MessageEnd = { kind, impl: 'node', algorithm: 'aes-128-gcm', pseudonym: new Uint8Array(16).fill(7), key: () => (derivations++, key) };
  return { sender: new E3MessageSender(end, new Uint8Array(4)), receiver: new E3MessageReceiver({ ...end, impl: 'noble' }), derivations: () => derivations };
}

test('the receiver refuses malformed, wrong kind, stale, forged and replayed messages; a forgery never slides the window', () => {
  const { sender, receiver } = ends('command');
  const first = sender.seal(body, NOW).message;
  assert.equal(receiver.open(first, NOW).ok, true);
  assert.equal((receiver.open(first, NOW) as { reason: string }).reason, 'replay');
  assert.equal((receiver.open(new Uint8Array(10), NOW) as { reason: string }).reason, 'malformed');
  const asResponse = Uint8Array.from(sender.seal(body, NOW).message);
  asResponse[0] = 0x52;
  assert.equal((receiver.open(asResponse, NOW) as { reason: string }).reason, 'malformed');
  assert.equal((receiver.open(sender.seal(body, NOW - 301).message, NOW) as { reason: string }).reason, 'stale timestamp');
  const forged = Uint8Array.from(first);
  new DataView(forged.buffer).setBigUint64(25, 1_000n, false);
  assert.equal((receiver.open(forged, NOW) as { reason: string }).reason, 'bad tag');
  const next = sender.seal(body, NOW).message; // sequence 5: still fresh, the forged 1000 moved nothing
  assert.equal(receiver.open(next, NOW).ok, true);
});

test('a stale timestamp is refused before any key is derived (an attacker cannot make the device run ECDH per packet)', () => {
  const { sender, receiver, derivations } = ends('command');
  const before = derivations();
  for (let day = 1; day <= 20; day++) receiver.open(sender.seal(body, NOW + day * 86_400).message, NOW);
  assert.equal(derivations() - before, 20, 'only the sender derived (one key per day it sealed for)');
});

test('the header parser says why bytes are not a message', () => {
  assert.match(String(parseMessageHeader(new Uint8Array(5))), /a sealed message is 50\.\.1073 bytes, got 5/);
  const bad = new Uint8Array(60);
  bad[0] = 0x41;
  assert.match(String(parseMessageHeader(bad)), /unknown message kind byte 0x41/);
  assert.throws(() => sealE3Message('node', new Uint8Array(16), 'aes-128-gcm', { kind: 'command', pseudonym: new Uint8Array(16), timestamp: NOW, salt: new Uint8Array(4), sequence: 1n }, new Uint8Array(2000)), /body must be 1\.\.1024 bytes, got 2000; shorten the command/);
});
