/**
 * Sealed E3 messages of variable length: cloud→device commands and the device's responses to
 * them (issue 13; source chapter §17.5 "Missing Input Validation on Device Commands", §17.6 E3).
 * Readings keep their fixed 96-byte packet (e3-packet.ts); a command is JSON of varying size, so
 * it gets its own envelope, sealed the same way: AES-128-GCM or ChaCha20-Poly1305 under a
 * per-device, per-epoch key from ECDH P-256 + HKDF-SHA256 (e3-key-derivation.ts), but with a
 * channel label of its own in HKDF info (E3Channel: why one key per direction).
 *
 * | offset | size | field                                   | protection                       |
 * |      0 |    1 | kind: 0x43 'C' command, 0x52 'R' response | AAD                            |
 * |      1 |   16 | device pseudonym                         | AAD; selects the device key      |
 * |     17 |    4 | timestamp, u32 BE seconds                | AAD; selects the key epoch       |
 * |     21 |   12 | nonce = 4-byte salt ‖ 8-byte BE sequence | AAD and nonce; drives the replay window |
 * |     33 |    n | ciphertext (1..1024 bytes)               | encrypted                        |
 * |   33+n |   16 | AEAD tag                                 |                                  |
 *
 * The whole 33-byte header is AAD: the kind byte too, so a response can never be replayed to a
 * device as a command (it would also fail for its key, which is another channel's).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import type { E3Channel } from './e3-key-derivation.ts';
import { E3_EPOCH_SECONDS, E3_MAX_SEQUENCE, E3_PSEUDONYM_BYTES, E3_SALT_BYTES, E3_TAG_BYTES, assertE3Key, type E3Algorithm } from './e3-packet.ts';
import { ReplayWindow } from './replay-window.ts';

export type E3MessageKind = 'command' | 'response';
const KIND_BYTES: Readonly<Record<E3MessageKind, number>> = { command: 0x43, response: 0x52 };
/** The key channel of each kind of message. */
export const E3_MESSAGE_CHANNEL: Readonly<Record<E3MessageKind, E3Channel>> = { command: 'commands', response: 'responses' };

export const E3_MESSAGE_HEADER_BYTES = 33;
export const E3_MESSAGE_MAX_PLAINTEXT = 1024;
export const E3_MESSAGE_MIN_BYTES = E3_MESSAGE_HEADER_BYTES + 1 + E3_TAG_BYTES;
export const E3_MESSAGE_MAX_BYTES = E3_MESSAGE_HEADER_BYTES + E3_MESSAGE_MAX_PLAINTEXT + E3_TAG_BYTES;
const NONCE_OFFSET = 21;

export interface E3MessageHeader {
  readonly kind: E3MessageKind;
  readonly pseudonym: Uint8Array;
  readonly timestamp: number;
  readonly salt: Uint8Array;
  readonly sequence: bigint;
}

/** Which AEAD implementation seals or opens: the device's software crypto, or the cloud's OpenSSL. */
export type E3Implementation = 'noble' | 'node';

export function writeMessageHeader(h: E3MessageHeader): Uint8Array {
  if (h.pseudonym.length !== E3_PSEUDONYM_BYTES || h.salt.length !== E3_SALT_BYTES) throw new Error('e3-message: pseudonym must be 16 bytes and salt 4');
  if (!Number.isInteger(h.timestamp) || h.timestamp < 0 || h.timestamp > 0xffff_ffff) throw new Error(`e3-message: timestamp must be u32 seconds, got ${h.timestamp}`);
  if (h.sequence < 0n || h.sequence >= E3_MAX_SEQUENCE) throw new Error(`e3-message: sequence must be in 0..2^64-2, got ${h.sequence}`);
  const header = new Uint8Array(E3_MESSAGE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header[0] = KIND_BYTES[h.kind];
  header.set(h.pseudonym, 1);
  view.setUint32(17, h.timestamp, false);
  header.set(h.salt, NONCE_OFFSET);
  view.setBigUint64(25, h.sequence, false);
  return header;
}

/** The header of a received message, or a sentence saying why it is not one. Never throws. */
export function parseMessageHeader(bytes: unknown): E3MessageHeader | string {
  if (!(bytes instanceof Uint8Array)) return `expected bytes, got ${typeof bytes}`;
  if (bytes.length < E3_MESSAGE_MIN_BYTES || bytes.length > E3_MESSAGE_MAX_BYTES) {
    return `a sealed message is ${E3_MESSAGE_MIN_BYTES}..${E3_MESSAGE_MAX_BYTES} bytes, got ${bytes.length}`;
  }
  const kind = bytes[0] === KIND_BYTES.command ? 'command' : bytes[0] === KIND_BYTES.response ? 'response' : undefined;
  if (kind === undefined) return `unknown message kind byte 0x${(bytes[0] as number).toString(16).padStart(2, '0')} (0x43 command, 0x52 response)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    kind,
    pseudonym: bytes.slice(1, 17),
    timestamp: view.getUint32(17, false),
    salt: bytes.slice(NONCE_OFFSET, NONCE_OFFSET + E3_SALT_BYTES),
    sequence: view.getBigUint64(25, false),
  };
}

function nodeAead(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, decrypt: boolean): CipherGCM | DecipherGCM {
  const options = { authTagLength: E3_TAG_BYTES } as const;
  const name = algorithm === 'aes-128-gcm' ? 'aes-128-gcm' : 'chacha20-poly1305';
  return (decrypt ? createDecipheriv(name as 'aes-128-gcm', key, nonce, options) : createCipheriv(name as 'aes-128-gcm', key, nonce, options));
}

function nobleAead(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) {
  return algorithm === 'aes-128-gcm' ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
}

/** Seals `plaintext` (1..1024 bytes) under `key`; the header is authenticated, the body encrypted. */
export function sealE3Message(impl: E3Implementation, key: Uint8Array, algorithm: E3Algorithm, header: E3MessageHeader, plaintext: Uint8Array): Uint8Array {
  assertE3Key(key, algorithm);
  if (plaintext.length < 1 || plaintext.length > E3_MESSAGE_MAX_PLAINTEXT) throw new Error(`e3-message: the body must be 1..${E3_MESSAGE_MAX_PLAINTEXT} bytes, got ${plaintext.length}; shorten the command`);
  const head = writeMessageHeader(header);
  const nonce = head.subarray(NONCE_OFFSET);
  const out = new Uint8Array(E3_MESSAGE_HEADER_BYTES + plaintext.length + E3_TAG_BYTES);
  out.set(head);
  if (impl === 'noble') {
    out.set(nobleAead(algorithm, key, nonce, head).encrypt(plaintext), E3_MESSAGE_HEADER_BYTES);
  } else {
    const cipher = nodeAead(algorithm, key, nonce, false) as CipherGCM;
    cipher.setAAD(head);
    out.set(cipher.update(plaintext), E3_MESSAGE_HEADER_BYTES);
    cipher.final();
    out.set(cipher.getAuthTag(), E3_MESSAGE_HEADER_BYTES + plaintext.length);
  }
  return out;
}

/** The body of a sealed message, or undefined when its tag does not verify under `key`. */
export function openE3Message(impl: E3Implementation, key: Uint8Array, algorithm: E3Algorithm, message: Uint8Array): Uint8Array | undefined {
  const head = message.subarray(0, E3_MESSAGE_HEADER_BYTES);
  const nonce = message.subarray(NONCE_OFFSET, E3_MESSAGE_HEADER_BYTES);
  const tagAt = message.length - E3_TAG_BYTES;
  if (impl === 'noble') {
    try {
      return nobleAead(algorithm, key, nonce, head).decrypt(message.subarray(E3_MESSAGE_HEADER_BYTES));
    } catch {
      return undefined;
    }
  }
  const decipher = nodeAead(algorithm, key, nonce, true) as DecipherGCM;
  decipher.setAAD(head);
  decipher.setAuthTag(message.subarray(tagAt));
  const body = decipher.update(message.subarray(E3_MESSAGE_HEADER_BYTES, tagAt));
  try {
    decipher.final();
    return body;
  } catch {
    body.fill(0); // unauthenticated plaintext never leaves this function
    return undefined;
  }
}

/** Key of one epoch for one device and channel (ECDH + HKDF, e3-key-derivation.ts). */
export type EpochKey = (epoch: number) => Uint8Array;

/** Derives a key once per epoch and keeps the last two (rotation: yesterday's and today's). */
function cachedEpochKeys(derive: EpochKey): EpochKey {
  const keys = new Map<number, Uint8Array>();
  return (epoch) => {
    let key = keys.get(epoch);
    if (key === undefined) {
      key = derive(epoch);
      keys.set(epoch, key);
      for (const [old, k] of keys) {
        if (keys.size <= 2) break;
        k.fill(0);
        keys.delete(old);
      }
    }
    return key;
  };
}

export interface E3MessageEnd {
  readonly kind: E3MessageKind;
  readonly impl: E3Implementation;
  readonly algorithm: E3Algorithm;
  readonly pseudonym: Uint8Array;
  readonly key: EpochKey;
}

/** The E3 end of one device's command channel, for the device (noble) or the cloud (node). */
export function commandChannelEnd(kind: E3MessageKind, impl: E3Implementation, pseudonymHex: string, algorithm: E3Algorithm, derive: (kind: E3MessageKind, epoch: number) => Uint8Array): E3MessageEnd {
  return { kind, impl, algorithm, pseudonym: Buffer.from(pseudonymHex, 'hex'), key: (epoch) => derive(kind, epoch) };
}

/** One direction's sending end: a sequence that only increases (the nonce is never reused under one key). */
export class E3MessageSender {
  readonly #end: E3MessageEnd;
  readonly #salt: Uint8Array;
  readonly #key: EpochKey;
  #sequence: bigint;

  constructor(end: E3MessageEnd, salt: Uint8Array, nextSequence = 1n) {
    this.#end = end;
    this.#salt = salt.slice();
    this.#key = cachedEpochKeys(end.key);
    this.#sequence = nextSequence;
  }

  get nextSequence(): bigint {
    return this.#sequence;
  }

  seal(plaintext: Uint8Array, timestampSec: number): { sequence: bigint; message: Uint8Array } {
    const sequence = this.#sequence;
    const key = this.#key(Math.floor(timestampSec / E3_EPOCH_SECONDS));
    const message = sealE3Message(this.#end.impl, key, this.#end.algorithm, { kind: this.#end.kind, pseudonym: this.#end.pseudonym, timestamp: timestampSec, salt: this.#salt, sequence }, plaintext);
    this.#sequence += 1n; // only after a successful seal
    return { sequence, message };
  }
}

export type E3MessageRejection = 'malformed' | 'wrong device' | 'stale timestamp' | 'bad tag' | 'replay';
export type E3MessageOpened = { ok: true; sequence: bigint; timestamp: number; body: Uint8Array } | { ok: false; reason: E3MessageRejection; detail: string; sequence?: bigint };

/**
 * One direction's receiving end for one device, checked in the cloud opener's order
 * (e3-opener.ts): shape, whose, timestamp window (before any key is derived), tag, replay
 * window — and the window is marked only after the tag verified (RFC 4303 §3.4.3), so a forger
 * can never slide it and get genuine messages refused.
 */
export class E3MessageReceiver {
  readonly #end: E3MessageEnd;
  readonly #key: EpochKey;
  readonly #window: ReplayWindow;
  readonly #maxSkewSec: number;

  constructor(end: E3MessageEnd, o: { maxSkewSec?: number; windowSize?: number } = {}) {
    this.#end = end;
    this.#key = cachedEpochKeys(end.key);
    this.#window = new ReplayWindow(o.windowSize ?? 64);
    this.#maxSkewSec = o.maxSkewSec ?? 300;
  }

  open(bytes: unknown, nowSec: number): E3MessageOpened {
    const header = parseMessageHeader(bytes);
    if (typeof header === 'string') return { ok: false, reason: 'malformed', detail: header };
    const message = bytes as Uint8Array;
    const { sequence } = header;
    if (header.kind !== this.#end.kind) return { ok: false, reason: 'malformed', detail: `a ${header.kind} where a ${this.#end.kind} was expected`, sequence };
    if (!equalBytes(header.pseudonym, this.#end.pseudonym)) return { ok: false, reason: 'wrong device', detail: `addressed to pseudonym ${Buffer.from(header.pseudonym).toString('hex')}, not this device`, sequence };
    const skew = header.timestamp - nowSec;
    if (Math.abs(skew) > this.#maxSkewSec) {
      return { ok: false, reason: 'stale timestamp', detail: `timestamp ${header.timestamp} is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this clock (${nowSec}); accepted skew is ±${this.#maxSkewSec} s`, sequence };
    }
    const body = openE3Message(this.#end.impl, this.#key(Math.floor(header.timestamp / E3_EPOCH_SECONDS)), this.#end.algorithm, message);
    if (body === undefined) return { ok: false, reason: 'bad tag', detail: `${this.#end.algorithm} tag does not verify: altered, forged, or sealed under another key`, sequence };
    const verdict = this.#window.check(sequence);
    if (verdict !== 'fresh') {
      body.fill(0);
      return { ok: false, reason: 'replay', detail: verdict === 'replay' ? `sequence ${sequence} was already accepted (duplicate)` : `sequence ${sequence} is below the replay window (highest ${this.#window.highest})`, sequence };
    }
    this.#window.accept(sequence);
    return { ok: true, sequence, timestamp: header.timestamp, body };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
