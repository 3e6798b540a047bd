// Known-answer tests: the two AEAD implementations (@noble/ciphers on the device, node:crypto in
// the cloud) and the two HKDFs against published vectors, typed in from the cited sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface AeadVector {
  name: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B test vectors, as
// adopted by NIST for SP 800-38D validation (AES-128 cases 1–4).
const GCM_VECTORS: AeadVector[] = [
  { name: 'GCM spec test case 1 (empty plaintext, no AAD)', key: '00000000000000000000000000000000', iv: '000000000000000000000000', aad: '', plaintext: '', ciphertext: '', tag: '58e2fccefa7e3061367f1d57a4e7455a' },
  {
    name: 'GCM spec test case 2 (one zero block)',
    key: '00000000000000000000000000000000',
    iv: '000000000000000000000000',
    aad: '',
    plaintext: '00000000000000000000000000000000',
    ciphertext: '0388dace60b6a392f328c2b971b2fe78',
    tag: 'ab6e47d42cec13bdf53a67b21257bddf',
  },
  {
    name: 'GCM spec test case 3 (64-byte plaintext)',
    key: 'feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: '',
    plaintext: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
    ciphertext: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985',
    tag: '4d5c2af327cd64a62cf35abd2ba6fab4',
  },
  {
    name: 'GCM spec test case 4 (60-byte plaintext, 20-byte AAD)',
    key: 'feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    plaintext: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    ciphertext: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    tag: '5bc94fbc3221a5db94fae95ae7121a47',
  },
];

// RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305".
const CHACHA_VECTOR: AeadVector = {
  name: 'RFC 8439 §2.8.2',
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  iv: '070000004041424344454647',
  aad: '50515253c0c1c2c3c4c5c6c7',
  plaintext: toHex(new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")),
  ciphertext:
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  tag: '1ae10b594f09e26a7e902ecbd0600691',
};

type NodeAead = 'aes-128-gcm' | 'chacha20-poly1305';

function nobleSeal(alg: NodeAead, v: AeadVector): string {
  const aead = alg === 'aes-128-gcm' ? gcm(hex(v.key), hex(v.iv), hex(v.aad)) : chacha20poly1305(hex(v.key), hex(v.iv), hex(v.aad));
  return toHex(aead.encrypt(hex(v.plaintext)));
}

function nobleOpen(alg: NodeAead, v: AeadVector, tag: string): string {
  const aead = alg === 'aes-128-gcm' ? gcm(hex(v.key), hex(v.iv), hex(v.aad)) : chacha20poly1305(hex(v.key), hex(v.iv), hex(v.aad));
  return toHex(aead.decrypt(hex(v.ciphertext + tag)));
}

function nodeSeal(alg: NodeAead, v: AeadVector): string {
  const c = createCipheriv(alg as 'aes-128-gcm', hex(v.key), hex(v.iv), { authTagLength: 16 });
  c.setAAD(hex(v.aad));
  const ct = Buffer.concat([c.update(hex(v.plaintext)), c.final()]);
  return toHex(Buffer.concat([ct, c.getAuthTag()]));
}

function nodeOpen(alg: NodeAead, v: AeadVector, tag: string): string {
  const d = createDecipheriv(alg as 'aes-128-gcm', hex(v.key), hex(v.iv), { authTagLength: 16 });
  d.setAAD(hex(v.aad));
  d.setAuthTag(hex(tag));
  return toHex(Buffer.concat([d.update(hex(v.ciphertext)), d.final()]));
}

/** The vector's tag with its last bit flipped: a FAIL case both implementations must refuse. */
function flippedTag(v: AeadVector): string {
  const t = hex(v.tag);
  t[15] = (t[15] as number) ^ 0x01;
  return toHex(t);
}

const cases: [NodeAead, AeadVector][] = [...GCM_VECTORS.map((v): [NodeAead, AeadVector] => ['aes-128-gcm', v]), ['chacha20-poly1305', CHACHA_VECTOR]];

for (const [alg, v] of cases) {
  test(`${alg} ${v.name}: noble and node:crypto seal to the published ciphertext ‖ tag`, () => {
    assert.equal(nobleSeal(alg, v), v.ciphertext + v.tag);
    assert.equal(nodeSeal(alg, v), v.ciphertext + v.tag);
  });

  test(`${alg} ${v.name}: noble and node:crypto open it, and refuse it with one tag bit flipped`, () => {
    assert.equal(nobleOpen(alg, v, v.tag), v.plaintext);
    assert.equal(nodeOpen(alg, v, v.tag), v.plaintext);
    const bad = flippedTag(v);
    assert.throws(() => nobleOpen(alg, v, bad), /invalid tag/i);
    assert.throws(() => nodeOpen(alg, v, bad), /unable to authenticate/i);
  });
}

// RFC 5869 Appendix A.1, "Test Case 1: Basic test case with SHA-256".
test('HKDF-SHA256 RFC 5869 test case 1 through @noble/hashes and node:crypto hkdfSync', () => {
  const ikm = hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
  const salt = hex('000102030405060708090a0b0c');
  const info = hex('f0f1f2f3f4f5f6f7f8f9');
  const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
  assert.equal(toHex(hkdf(sha256, ikm, salt, info, 42)), okm);
  assert.equal(toHex(new Uint8Array(hkdfSync('sha256', ikm, salt, info, 42))), okm);
});
