/**
 * A minimal DER encoder and reader (ITU-T X.690 §8 and §10): just what issuing fleet device
 * certificates needs (certs/fleet-certificates.ts). Definite lengths only, as DER requires
 * (X.690 §10.1); the reader walks a buffer it was given and never allocates beyond it.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>>= 8) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV: tag, definite length (X.690 §8.1.3), contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(contents);
  return Buffer.concat([Uint8Array.of(tag), lengthBytes(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG.sequence, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.set, ...items);
/** [n] EXPLICIT, constructed context-specific tag (X.690 §8.14). */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.octetString, bytes);
export const utf8 = (text: string): Uint8Array => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
export const boolean = (value: boolean): Uint8Array => tlv(TAG.boolean, Uint8Array.of(value ? 0xff : 0x00));

/** A non-negative INTEGER from big-endian bytes: leading zeros trimmed, a 0x00 added when the top bit is set (X.690 §8.3.2). */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(TAG.integer, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), trimmed]) : trimmed);
}

export const smallInteger = (value: number): Uint8Array => unsignedInteger(Uint8Array.of(value));

/** BIT STRING with `unusedBits` padding bits in the last octet (X.690 §8.6.2). */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Uint8Array => tlv(TAG.bitString, Uint8Array.of(unusedBits), bytes);

/** OBJECT IDENTIFIER from dotted text (X.690 §8.19: first two arcs in one octet, base-128 arcs after). */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0)) throw new Error(`der: "${dotted}" is not a dotted object identifier`);
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(TAG.oid, Uint8Array.from(out));
}

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime from 2050; seconds,
 * no fraction, always Zulu.
 */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  return year < 2050 ? tlv(TAG.utcTime, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(TAG.generalizedTime, Buffer.from(`${digits}Z`, 'ascii'));
}

export interface DerElement {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** The element at `offset` (single-octet tags only, which X.509 needs). */
export function readElement(der: Uint8Array, offset: number): DerElement {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new Error(`der: truncated element at offset ${offset}`);
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error(`der: unsupported length form at offset ${offset} (indefinite or over 4 octets)`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[contentStart + i] ?? 0);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error(`der: element at offset ${offset} runs past the end (${end} > ${der.length})`);
  return { tag, start: offset, contentStart, end };
}

/** The direct children of a constructed element. */
export function children(der: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readElement(der, at);
    out.push(child);
    at = child.end;
  }
  return out;
}
