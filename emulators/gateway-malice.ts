/**
 * What an untrusted gateway does to the readings it forwards (docs/architecture.md §3 Roles). Each malice is a
 * small object with an optional hook and a one-sentence explain() for the report, so a new
 * attack never touches the gateway core (STYLE.md: mitmproxy addons).
 *
 * A gateway that terminates the device's TLS holds every MQTT byte in the clear; what E3 must
 * guarantee is that those bytes are still ciphertext, and that every change is caught by the
 * cloud (source chapter §17.6: "If DTLS is stripped (MITM), E3 payload remains encrypted").
 */
import { E3_PACKET_BYTES, parseE3Header, pseudonymHex } from '../crypto/e3-packet.ts';

export interface InterceptedPublish {
  /** 1-based count of readings this gateway has seen, across connections. */
  readonly index: number;
  readonly topic: string;
  readonly payload: Uint8Array;
}

export type PublishVerdict = { readonly action: 'forward'; readonly payload: Uint8Array } | { readonly action: 'drop' };

export interface MaliceContext {
  /** Send an extra copy of a payload upstream, as if the device had sent it. */
  inject(topic: string, payload: Uint8Array): void;
  /**
   * Send a payload upstream after `wallMs` of wall-clock time (the gateway owns the timer and
   * cancels it when the connection closes). Only gateways that can hold traffic offer it.
   */
  injectAfter?(wallMs: number, topic: string, payload: Uint8Array): void;
  note(summary: string, detail: Record<string, unknown>): void;
}

export interface GatewayMalice {
  readonly name: string;
  /** The factory's options as plain data, so a gateway in another process or container is rebuilt with the same malice. */
  readonly options?: Readonly<Record<string, unknown>>;
  explain(): string;
  onPublish?(publish: InterceptedPublish, ctx: MaliceContext): PublishVerdict;
  /** What the gateway's device-facing TLS server offers instead of its defaults (malice `downgrade`). */
  readonly deviceTlsOffer?: DeviceTlsOffer;
}

/** node:tls server options a malice narrows the device-facing handshake to. */
export interface DeviceTlsOffer {
  readonly minVersion: 'TLSv1.2';
  readonly maxVersion: 'TLSv1.2';
  readonly ciphers: string;
}

const forward = (p: InterceptedPublish): PublishVerdict => ({ action: 'forward', payload: p.payload });

/**
 * Which reading a payload carries. An E3 packet shows its sequence number in clear (the nonce,
 * docs/architecture.md §4 The E3 packet), and an attacker picks readings by it: a count of packets would shift whenever a
 * device resends (DTLS readings are resent until acknowledged). Anything else is counted.
 */
function readingOf(p: InterceptedPublish): { reading: number; device: string } {
  if (p.payload.length === E3_PACKET_BYTES) {
    const header = parseE3Header(p.payload);
    return { reading: Number(header.sequence), device: pseudonymHex(header.pseudonym) };
  }
  return { reading: p.index, device: 'count' };
}

/** Chosen readings, each acted on once per device (a resent copy passes untouched). */
function chosenReadings(numbers: readonly number[]) {
  const done = new Set<string>();
  return (p: InterceptedPublish): number | undefined => {
    const { reading, device } = readingOf(p);
    const key = `${device}:${reading}`;
    if (!numbers.includes(reading) || done.has(key)) return undefined;
    done.add(key);
    return reading;
  };
}

function checkIndices(name: string, indices: readonly number[]): void {
  if (indices.length === 0 || indices.some((i) => !Number.isInteger(i) || i < 1 || i > 1_000_000)) {
    throw new Error(`gateway-malice ${name}: packet numbers must be whole numbers from 1 (the first reading), got [${indices.join(', ')}]`);
  }
}

/** Honest-but-curious: forwards everything and keeps a copy of every payload it read. */
export function sniff(): GatewayMalice {
  return {
    name: 'sniff',
    options: {},
    explain: () => 'keeps a copy of every MQTT payload it forwards, hoping to read the readings',
    onPublish: (p, ctx) => {
      ctx.note(`kept a copy of reading ${readingOf(p).reading} (${p.payload.length} bytes)`, { index: p.index });
      return forward(p);
    },
  };
}

/**
 * Flips one bit of chosen readings. The default bit lies in the encrypted readings field (byte
 * 30 of the 96-byte packet, docs/architecture.md §4 The E3 packet); GCM's tag covers it (NIST SP 800-38D §7.2).
 */
export function tamper(options: { packets: readonly number[]; byteOffset?: number; bit?: number }): GatewayMalice {
  checkIndices('tamper', options.packets);
  const byteOffset = options.byteOffset ?? 30;
  const bit = options.bit ?? 0;
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || !Number.isInteger(bit) || bit < 0 || bit > 7) {
    throw new Error(`gateway-malice tamper: byteOffset must be a whole number ≥ 0 and bit 0..7, got ${byteOffset}/${bit}`);
  }
  const chosen = chosenReadings(options.packets);
  return {
    name: 'tamper',
    options: { packets: [...options.packets], byteOffset, bit },
    explain: () => `flips bit ${bit} of byte ${byteOffset} in reading(s) ${options.packets.join(', ')} before forwarding`,
    onPublish: (p, ctx) => {
      const reading = byteOffset < p.payload.length ? chosen(p) : undefined;
      if (reading === undefined) return forward(p);
      const changed = Uint8Array.from(p.payload);
      changed[byteOffset] = (changed[byteOffset] as number) ^ (1 << bit);
      ctx.note(`flipped bit ${bit} of byte ${byteOffset} in reading ${reading}`, { index: p.index, reading, byteOffset, bit });
      return { action: 'forward', payload: changed };
    },
  };
}

/** Forwards chosen readings, then sends each again `copies` times. */
export function replay(options: { packets: readonly number[]; copies?: number }): GatewayMalice {
  checkIndices('replay', options.packets);
  const copies = options.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > 100) throw new Error(`gateway-malice replay: copies must be 1..100, got ${copies}`);
  const chosen = chosenReadings(options.packets);
  return {
    name: 'replay',
    options: { packets: [...options.packets], copies },
    explain: () => `re-sends reading(s) ${options.packets.join(', ')} ${copies} more time(s) after forwarding them`,
    onPublish: (p, ctx) => {
      const reading = chosen(p);
      if (reading !== undefined) {
        for (let i = 0; i < copies; i++) ctx.inject(p.topic, p.payload);
        ctx.note(`replayed reading ${reading} ×${copies}`, { index: p.index, reading, copies });
      }
      return forward(p);
    },
  };
}

/** Silently drops chosen readings and tells the device they were delivered. */
export function drop(options: { packets: readonly number[] }): GatewayMalice {
  checkIndices('drop', options.packets);
  return {
    name: 'drop',
    options: { packets: [...options.packets] },
    explain: () => `drops reading(s) ${options.packets.join(', ')} and acknowledges them to the device itself`,
    onPublish: (p, ctx) => {
      // Every copy of a dropped reading is dropped: a resend must not slip it through.
      const { reading } = readingOf(p);
      if (!options.packets.includes(reading)) return forward(p);
      ctx.note(`dropped reading ${reading}`, { index: p.index, reading });
      return { action: 'drop' };
    },
  };
}

/**
 * Holds chosen readings for `heldSeconds` of simulated time, acknowledging them to the device at
 * once, then forwards them. The cloud judges the E3 timestamp (authenticated as AAD, docs/architecture.md
 * §4 The E3 packet) against its own clock: past its skew window the reading is "stale timestamp", within it
 * the reading is accepted late (source chapter §17.6: the timestamp bounds how long an
 * intermediary can sit on a reading). `speedup` converts simulated to wall time (sim-clock.ts).
 */
export function delay(options: { packets: readonly number[]; heldSeconds: number; speedup: number }): GatewayMalice {
  checkIndices('delay', options.packets);
  const { heldSeconds, speedup } = options;
  if (!Number.isInteger(heldSeconds) || heldSeconds < 1 || heldSeconds > 86_400) throw new Error(`gateway-malice delay: heldSeconds must be a whole number of seconds from 1 to 86400 (a day), got ${heldSeconds}`);
  if (!Number.isInteger(speedup) || speedup < 1 || speedup > 10_000) throw new Error(`gateway-malice delay: speedup must be a whole number from 1 to 10000 (the scenario's simulated seconds per wall second), got ${speedup}`);
  const chosen = chosenReadings(options.packets);
  const wallMs = (heldSeconds * 1000) / speedup;
  return {
    name: 'delay',
    options: { packets: [...options.packets], heldSeconds, speedup },
    explain: () => `holds reading(s) ${options.packets.join(', ')} for ${heldSeconds} s (simulated) before forwarding them, and acknowledges them to the device at once`,
    onPublish: (p, ctx) => {
      const reading = chosen(p);
      if (reading === undefined) return forward(p);
      if (!ctx.injectAfter) throw new Error('gateway-malice delay: this gateway cannot hold traffic; use the TLS-terminating gateway');
      ctx.injectAfter(wallMs, p.topic, p.payload);
      ctx.note(`holding reading ${reading} for ${heldSeconds} s (simulated, ${wallMs.toFixed(0)} ms wall)`, { index: p.index, reading, heldSeconds });
      return { action: 'drop' };
    },
  };
}

/**
 * Swaps each chosen reading with the one after it: the gateway acknowledges both to the device
 * itself, and sends the next reading, then the held one. E3's replay window accepts
 * an older sequence it has not seen (RFC 4303 §3.4.3's sliding window, crypto/replay-window.ts),
 * so both are accepted and the audit shows the order they arrived in.
 */
export function reorder(options: { packets: readonly number[] }): GatewayMalice {
  checkIndices('reorder', options.packets);
  const chosen = chosenReadings(options.packets);
  const held: InterceptedPublish[] = [];
  return {
    name: 'reorder',
    options: { packets: [...options.packets] },
    explain: () => `swaps reading(s) ${options.packets.join(', ')} with the reading after each`,
    onPublish: (p, ctx) => {
      if (held.length > 0) {
        // Both leave as the gateway's own copies, in swapped order, on the same path (QoS 0):
        // forwarding the next reading at the device's QoS 1 and the held one at QoS 0 lets Aedes
        // deliver them in either order (its QoS 1 path takes an extra turn of the event loop).
        ctx.inject(p.topic, p.payload);
        for (const h of held.splice(0)) {
          ctx.inject(h.topic, h.payload);
          ctx.note(`released held reading ${readingOf(h).reading} right after reading ${readingOf(p).reading}`, { index: h.index, reading: readingOf(h).reading, after: readingOf(p).reading });
        }
        return { action: 'drop' };
      }
      const reading = chosen(p);
      if (reading === undefined) return forward(p);
      held.push(p);
      ctx.note(`holding reading ${reading} until the next one has passed`, { index: p.index, reading });
      return { action: 'drop' };
    },
  };
}

/**
 * Offers the device TLS 1.2 with one weak suite only: ECDHE-ECDSA-AES128-SHA, CBC with
 * HMAC-SHA1 and no AEAD (the gateway's ECDSA certificate serves it). RFC 9325 §4.1 says clients
 * SHOULD NOT fall back to TLS 1.2 when 1.3 is possible and §4.2 lists CBC suites as not
 * recommended; the source chapter (§17.3.1) puts CBC under "legacy only". A device whose floor
 * is TLS 1.3 refuses the handshake; one that still accepts 1.2 and its default suites takes it.
 */
export function downgrade(): GatewayMalice {
  return {
    name: 'downgrade',
    options: {},
    explain: () => 'offers the device only TLS 1.2 with ECDHE-ECDSA-AES128-SHA (CBC, no AEAD) instead of TLS 1.3',
    deviceTlsOffer: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' },
  };
}

export const maliceNames = ['sniff', 'tamper', 'replay', 'drop', 'delay', 'reorder', 'downgrade'] as const;
export type MaliceName = (typeof maliceNames)[number];
