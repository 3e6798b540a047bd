/**
 * Cloud side of E3: opens 96-byte packets with node:crypto (OpenSSL) and decides, for every
 * packet, accept or reject-with-a-reason (docs/architecture.md §4 The E3 packet). It never throws: a packet is input from
 * an untrusted network, and the audit log needs a verdict for each one.
 *
 * Order of checks, and why:
 *  1. length — nothing else can be parsed from a packet of the wrong size.
 *  2. unknown pseudonym — the pseudonym (clear AAD) selects the device key; without a device
 *     record there is no key to verify with.
 *  3. timestamp outside ±maxSkew — 'stale timestamp', decided on the header as received, BEFORE
 *     any key is derived. The timestamp selects the 24 h key epoch (source chapter §17.6,
 *     docs/architecture.md §4 The E3 packet), and it is attacker-chosen until the tag verifies: were the window checked
 *     after the tag, anyone could make the cloud run ECDH + HKDF for any epoch they write into
 *     the header, one derivation per packet, and churn the key cache. Checked first, only the
 *     epochs the window touches (at most two for a skew under 12 h) are ever derived. Nothing is
 *     lost: an authentic packet outside the window is refused all the same, and a forged one
 *     inside it still fails at 5. The verdict is about the header, not about what the device
 *     sent, and the detail says so.
 *  4. derive the key for the timestamp's epoch (cached per pseudonym + epoch; at most
 *     `keysPerDevice` epochs per device, and device state exists only for registered
 *     pseudonyms, so the cache is bounded by the registry).
 *  5. AEAD open — 'bad tag'. Everything after this point trusts the header, and only now may
 *     it: before this, timestamp and sequence are attacker-chosen. A tampered timestamp inside
 *     the window either selects another epoch's key or changes the AAD; both end here.
 *  6. replay window — 'replay' (duplicate, or below the window: the detail says which). Per
 *     pseudonym, RFC 4303 §3.4.3 / RFC 6347 §4.1.2.6.
 *  7. accept — only now is the sequence marked in the window, so a forged or stale packet can
 *     never slide the window forward and get genuine packets rejected (RFC 4303 §3.4.3).
 */
import type { KeyObject } from 'node:crypto';
import { deriveDeviceKeyNode } from './e3-key-derivation.ts';
import { openE3Node } from './e3-node-aead.ts';
import {
  E3_EPOCH_SECONDS,
  E3_PACKET_BYTES,
  E3_PSEUDONYM_BYTES,
  E3_PSEUDONYM_OFFSET,
  E3_SEQUENCE_OFFSET,
  E3_TIMESTAMP_OFFSET,
  type E3Algorithm,
} from './e3-packet.ts';
import { ReplayWindow } from './replay-window.ts';

export { sealE3Node, openE3Node } from './e3-node-aead.ts';

export type E3RejectionReason = 'length' | 'unknown pseudonym' | 'bad tag' | 'replay' | 'stale timestamp';
export const E3_REJECTION_REASONS: readonly E3RejectionReason[] = ['length', 'unknown pseudonym', 'bad tag', 'replay', 'stale timestamp'];

export interface E3DeviceRecord {
  deviceId: string;
  pseudonym: Uint8Array;
  publicKey: KeyObject;
  algorithm: E3Algorithm;
}

export type E3OpenResult =
  | { ok: true; deviceId: string; pseudonym: string; timestamp: number; sequence: bigint; reading: Uint8Array }
  | { ok: false; reason: E3RejectionReason; detail: string; pseudonym?: string; sequence?: bigint; deviceId?: string };

export interface E3OpenerOptions {
  cloudPrivateKey: KeyObject;
  lookup: (pseudonymHex: string) => E3DeviceRecord | undefined;
  nowSec: () => number;
  maxSkewSec?: number; // default 300
  replayWindowSize?: number; // default 64
  keysPerDevice?: number; // epoch keys cached per device, default 3 (yesterday, today, tomorrow)
  /** Told of every key derivation (ECDH + HKDF), e.g. to count them; not called for cache hits. */
  onKeyDerived?: (derivation: { deviceId: string; epoch: number }) => void;
}

export const E3_DEFAULT_MAX_SKEW_SEC = 300;
export const E3_DEFAULT_KEYS_PER_DEVICE = 3;

interface CachedKey {
  key: Buffer;
  publicKey: KeyObject; // the record's key it was derived from: a re-provisioned device re-derives
  algorithm: E3Algorithm;
}

/** What the opener keeps per registered pseudonym. */
interface DeviceState {
  keys: Map<number, CachedKey>; // epoch → key, insertion order = least recently derived first
  window: ReplayWindow | undefined; // created on the first accept only
}

export class E3Opener {
  readonly #cloudPrivateKey: KeyObject;
  readonly #lookup: (pseudonymHex: string) => E3DeviceRecord | undefined;
  readonly #nowSec: () => number;
  readonly #maxSkewSec: number;
  readonly #replayWindowSize: number;
  readonly #keysPerDevice: number;
  readonly #onKeyDerived: ((derivation: { deviceId: string; epoch: number }) => void) | undefined;
  // Only registered pseudonyms get an entry, so this is bounded by the registry; replay windows
  // are never evicted (forgetting one would let old packets replay).
  readonly #devices = new Map<string, DeviceState>();

  constructor(o: E3OpenerOptions) {
    if (o === null || typeof o !== 'object' || o.cloudPrivateKey?.type !== 'private') {
      throw new Error('e3-opener: cloudPrivateKey must be a private KeyObject (createPrivateKey of the cloud E3 key PEM)');
    }
    if (typeof o.lookup !== 'function' || typeof o.nowSec !== 'function') {
      throw new Error('e3-opener: lookup(pseudonymHex) and nowSec() must be functions');
    }
    if (o.onKeyDerived !== undefined && typeof o.onKeyDerived !== 'function') {
      throw new Error('e3-opener: onKeyDerived must be a function ({ deviceId, epoch }) => void, or left out');
    }
    const maxSkewSec = o.maxSkewSec ?? E3_DEFAULT_MAX_SKEW_SEC;
    if (!Number.isFinite(maxSkewSec) || maxSkewSec < 0) {
      throw new Error(`e3-opener: maxSkewSec must be a number of seconds ≥ 0, got ${maxSkewSec}`);
    }
    const keysPerDevice = o.keysPerDevice ?? E3_DEFAULT_KEYS_PER_DEVICE;
    if (!Number.isInteger(keysPerDevice) || keysPerDevice < 1) {
      throw new Error(`e3-opener: keysPerDevice must be a whole number ≥ 1, got ${keysPerDevice}`);
    }
    this.#replayWindowSize = o.replayWindowSize ?? 64;
    new ReplayWindow(this.#replayWindowSize); // validates the size now, not at the first packet
    this.#cloudPrivateKey = o.cloudPrivateKey;
    this.#lookup = o.lookup;
    this.#nowSec = o.nowSec;
    this.#maxSkewSec = maxSkewSec;
    this.#keysPerDevice = keysPerDevice;
    this.#onKeyDerived = o.onKeyDerived;
  }

  open(packet: Uint8Array): E3OpenResult {
    try {
      return this.#open(packet);
    } catch (err) {
      // Unreachable for any packet by design; a throwing lookup() or nowSec() lands here. The
      // packet could not be authenticated, so it is rejected rather than allowed to crash the
      // caller's receive loop.
      return reject('bad tag', `packet could not be authenticated: internal error (${(err as Error)?.message ?? String(err)})`);
    }
  }

  #open(packet: Uint8Array): E3OpenResult {
    // 1. length
    if (!(packet instanceof Uint8Array)) {
      return reject('length', `expected a ${E3_PACKET_BYTES}-byte Uint8Array, got ${describe(packet)}`);
    }
    if (packet.length !== E3_PACKET_BYTES) {
      return reject('length', `E3 packets are ${E3_PACKET_BYTES} bytes, got ${packet.length}`);
    }
    // 2. unknown pseudonym
    const pseudonymBytes = packet.subarray(E3_PSEUDONYM_OFFSET, E3_PSEUDONYM_OFFSET + E3_PSEUDONYM_BYTES);
    // A Buffer view (no copy) gives a flat hex string: cheaper to hash in the lookups below than
    // a concatenated one (found while profiling the opener against bench/e3.ts).
    const pseudonym = Buffer.from(packet.buffer, packet.byteOffset + E3_PSEUDONYM_OFFSET, E3_PSEUDONYM_BYTES).toString('hex');
    const record = this.#lookupDevice(pseudonym);
    if (typeof record === 'string') return reject('unknown pseudonym', record, { pseudonym });
    const { deviceId } = record;
    const timestamp = readU32(packet, E3_TIMESTAMP_OFFSET);
    const sequenceHigh = readU32(packet, E3_SEQUENCE_OFFSET);
    const sequenceLow = BigInt(readU32(packet, E3_SEQUENCE_OFFSET + 4));
    const sequence = sequenceHigh === 0 ? sequenceLow : (BigInt(sequenceHigh) << 32n) | sequenceLow;
    // 3. timestamp window, on the header as received: before any key derivation (see above)
    const now = this.#nowSec();
    const skew = timestamp - now;
    if (Math.abs(skew) > this.#maxSkewSec) {
      const direction = skew > 0 ? 'ahead of' : 'behind';
      return reject(
        'stale timestamp',
        `timestamp ${timestamp} is ${Math.abs(skew)} s ${direction} the cloud clock (${now}); accepted skew is ±${this.#maxSkewSec} s (checked before the tag, so no key is derived for it)`,
        { pseudonym, sequence, deviceId },
      );
    }
    // 4. key for the epoch named by the (not yet authenticated, but in-window) timestamp
    const epoch = Math.floor(timestamp / E3_EPOCH_SECONDS);
    let device = this.#devices.get(pseudonym);
    if (device === undefined) {
      device = { keys: new Map(), window: undefined };
      this.#devices.set(pseudonym, device);
    }
    const key = this.#keyFor(device, record, pseudonym, pseudonymBytes, epoch);
    if (typeof key === 'string') return reject('unknown pseudonym', key, { pseudonym, sequence, deviceId });
    // 5. AEAD
    const reading = openE3Node(key, record.algorithm, packet);
    if (reading === undefined) {
      return reject(
        'bad tag',
        `${record.algorithm} tag does not verify for device ${deviceId} (key epoch ${epoch}): the packet was altered, forged, or sealed under another key`,
        { pseudonym, sequence, deviceId },
      );
    }
    // 6. replay window, per pseudonym
    let window = device.window;
    const verdict = window === undefined ? 'fresh' : window.check(sequence);
    if (verdict !== 'fresh') {
      reading.fill(0);
      const detail =
        verdict === 'replay'
          ? `sequence ${sequence} was already accepted from device ${deviceId} (duplicate)`
          : `sequence ${sequence} is too old: more than ${this.#replayWindowSize} below the highest accepted (${window?.highest}) for device ${deviceId}`;
      return reject('replay', detail, { pseudonym, sequence, deviceId });
    }
    // 7. accept: mark the sequence only now that the packet is authentic and current
    if (window === undefined) {
      window = new ReplayWindow(this.#replayWindowSize);
      device.window = window;
    }
    window.accept(sequence);
    return { ok: true, deviceId, pseudonym, timestamp, sequence, reading };
  }

  /** The device record, or a sentence saying why there is none. */
  #lookupDevice(pseudonym: string): E3DeviceRecord | string {
    let record: E3DeviceRecord | undefined;
    try {
      record = this.#lookup(pseudonym);
    } catch (err) {
      return `device registry lookup failed for pseudonym ${pseudonym}: ${(err as Error)?.message ?? String(err)}`;
    }
    return record ?? `no device is registered under pseudonym ${pseudonym}`;
  }

  /** The device's key for an epoch, from its cache or freshly derived; or why it cannot be had. */
  #keyFor(device: DeviceState, record: E3DeviceRecord, pseudonym: string, pseudonymBytes: Uint8Array, epoch: number): Buffer | string {
    const cached = device.keys.get(epoch);
    if (cached !== undefined && cached.publicKey === record.publicKey && cached.algorithm === record.algorithm) return cached.key;
    let key: Buffer;
    try {
      key = deriveDeviceKeyNode({
        cloudPrivateKey: this.#cloudPrivateKey,
        devicePublicKey: record.publicKey,
        pseudonym: pseudonymBytes,
        epoch,
        algorithm: record.algorithm,
      });
    } catch (err) {
      return `device record ${record.deviceId} for pseudonym ${pseudonym} is unusable: ${(err as Error).message}`;
    }
    this.#onKeyDerived?.({ deviceId: record.deviceId, epoch });
    cached?.key.fill(0);
    device.keys.delete(epoch);
    device.keys.set(epoch, { key, publicKey: record.publicKey, algorithm: record.algorithm });
    // Bounded: drop the least recently derived epochs (normally yesterday's, after rotation).
    for (const [oldEpoch, old] of device.keys) {
      if (device.keys.size <= this.#keysPerDevice) break;
      old.key.fill(0);
      device.keys.delete(oldEpoch);
    }
    return key;
  }
}

function reject(
  reason: E3RejectionReason,
  detail: string,
  context: { pseudonym?: string; sequence?: bigint; deviceId?: string } = {},
): E3OpenResult {
  return { ok: false, reason, detail, ...context };
}

function readU32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
