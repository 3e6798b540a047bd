// The downgrade attacker's ClientHello edit on a hand-built DTLS record (no network, no clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helloFacts } from '../analysis/dtls13-handshake.ts';
import { stripDtls13Offer } from './dtls13-offer-strip.ts';
import { ImpairmentPipeline, impairment, stripDtls13OfferAttack } from './impairments.ts';
import { DtlsDowngradeMitm } from './dtls-downgrade-mitm.ts';

/** One DTLSPlaintext record holding a whole ClientHello offering `versions` (RFC 6347 §4.2.2, RFC 8446 §4.2.1). */
function clientHelloRecord(versions: number[]): Buffer {
  const list = Buffer.alloc(1 + 2 * versions.length);
  list[0] = 2 * versions.length;
  versions.forEach((v, i) => list.writeUInt16BE(v, 1 + 2 * i));
  const ext = (type: number, data: Buffer) => Buffer.concat([Buffer.from([type >> 8, type & 0xff, data.length >> 8, data.length & 0xff]), data]);
  const extensions = Buffer.concat([ext(10, Buffer.from([0, 2, 0, 23])), ext(43, list)]);
  const body = Buffer.concat([
    Buffer.from([0xfe, 0xfd]), Buffer.alloc(32, 7), // legacy_version, random
    Buffer.from([0]), Buffer.from([0]), // session id, cookie
    Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0]), // one suite, null compression
    Buffer.from([extensions.length >> 8, extensions.length & 0xff]), extensions,
  ]);
  const hs = Buffer.alloc(12);
  hs[0] = 1;
  hs.writeUIntBE(body.length, 1, 3);
  hs.writeUIntBE(body.length, 9, 3); // one fragment: offset 0, length = message length
  const fragment = Buffer.concat([hs, body]);
  const header = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, fragment.length >> 8, fragment.length & 0xff]);
  return Buffer.concat([header, fragment]);
}

const offered = (record: Uint8Array) => helloFacts(Buffer.from(record).subarray(13))?.versions;

test('the DTLS 1.3 offer is hidden: supported_versions is renamed, every length stays, the original is untouched', () => {
  const original = clientHelloRecord([0xfefc, 0xfefd]);
  const copy = Buffer.from(original);
  const { bytes, replaced } = stripDtls13Offer(original);
  assert.equal(replaced, 1);
  assert.equal(bytes.length, original.length);
  assert.deepEqual(offered(original), [0xfefc, 0xfefd]);
  assert.deepEqual(offered(bytes), [], 'the edited ClientHello offers no versions: a server reads its legacy version, DTLS 1.2');
  assert.deepEqual(original, copy, 'the caller\'s datagram (what the capture holds) is not modified');
});

test('encrypted records, fragments, other handshake messages and garbage pass unchanged', () => {
  const unified = new Uint8Array([0x2c, 0, 1, 0, 3, 1, 2, 3]); // a DTLS 1.3 unified header record
  assert.equal(stripDtls13Offer(unified).replaced, 0);
  const serverHello = clientHelloRecord([0xfefc]);
  serverHello[13] = 2;
  assert.equal(stripDtls13Offer(serverHello).replaced, 0);
  const fragment = clientHelloRecord([0xfefc]);
  fragment.writeUIntBE(1, 13 + 6, 3); // fragment_offset 1
  assert.equal(stripDtls13Offer(fragment).replaced, 0);
  assert.equal(stripDtls13Offer(new Uint8Array([22, 0xfe, 0xfd, 0, 0])).replaced, 0);
  assert.equal(stripDtls13Offer(new Uint8Array(0)).replaced, 0);
});

test('as a link impairment it edits client datagrams and says so; it is refused on TCP', () => {
  const pipeline = new ImpairmentPipeline([stripDtls13OfferAttack()], { transport: 'udp' });
  const plan = pipeline.plan(clientHelloRecord([0xfefc, 0xfefd]), 0);
  assert.deepEqual(offered(plan.deliveries[0]?.bytes as Uint8Array), []);
  assert.match(plan.notes.join(), /supported_versions/);
  assert.throws(() => new ImpairmentPipeline([stripDtls13OfferAttack()], { transport: 'tcp' }), /for UDP links/);
  assert.deepEqual(impairment('strip-dtls13-offer', {}), { kind: 'strip-dtls13-offer' });
  assert.throws(() => impairment('strip-dtls13-offer', { rate: 1 }), /has no setting "rate"/);
});

/** A server's plaintext handshake record: `type`, message_seq `seq`, `body`. */
function serverRecord(type: number, seq: number, body: number[]): Buffer {
  const hs = Buffer.alloc(12);
  hs[0] = type;
  hs.writeUIntBE(body.length, 1, 3);
  hs.writeUInt16BE(seq, 4);
  hs.writeUIntBE(body.length, 9, 3);
  const fragment = Buffer.concat([hs, Buffer.from(body)]);
  return Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, seq, fragment.length >> 8, fragment.length & 0xff]), fragment]);
}

test('the downgrade MITM answers the HelloVerifyRequest with the cookie and renumbers the server\'s messages', () => {
  const mitm = new DtlsDowngradeMitm();
  const first = Buffer.from(mitm.fromClient(clientHelloRecord([0xfefc, 0xfefd])));
  assert.deepEqual(offered(first), [], 'the first ClientHello leaves with its 1.3 offer hidden');
  const cookie = [9, 8, 7, 6];
  const answer = mitm.fromServer(serverRecord(3, 0, [0xfe, 0xff, cookie.length, ...cookie]));
  assert.equal(answer.toClient, undefined, 'the client never sees the HelloVerifyRequest');
  const second = Buffer.from(answer.toServer as Uint8Array);
  assert.equal(second.length, first.length + cookie.length);
  assert.equal(second.readUInt16BE(11), second.length - 13, 'record length');
  assert.equal(second.readUInt16BE(13 + 4), 1, 'message_seq of a second ClientHello');
  assert.deepEqual([...second.subarray(13 + 12 + 2 + 32 + 1 + 1, 13 + 12 + 2 + 32 + 1 + 1 + 4)], cookie, 'the cookie in its field');
  assert.deepEqual(offered(second), []);
  const hello = Buffer.from(mitm.fromServer(serverRecord(2, 1, [0xfe, 0xfd])).toClient as Uint8Array);
  assert.equal(hello.readUInt16BE(13 + 4), 0, 'the ServerHello reaches the client as the server\'s first message');
  assert.match(mitm.notes.join(' | '), /hid the DTLS 1\.3 offer.*answered the server's HelloVerifyRequest itself with its 4-byte cookie/);
});

test('without a HelloVerifyRequest the downgrade MITM only hides the offer and leaves the server\'s datagrams alone', () => {
  const mitm = new DtlsDowngradeMitm();
  mitm.fromClient(clientHelloRecord([0xfefc]));
  const hello = serverRecord(2, 0, [0xfe, 0xfd]);
  assert.deepEqual(mitm.fromServer(hello).toClient, hello);
  assert.equal(mitm.fromServer(new Uint8Array([0x2c, 0, 1])).toServer, undefined);
});
