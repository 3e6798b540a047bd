/**
 * The JSON encoding of what crosses the control channel between the test process and a role in
 * a container: observations and audit entries hold Uint8Array (bytes on the wire) and bigint
 * (E3 sequence numbers), which JSON has not. Bytes travel as {"$hex": "…"}, bigints as
 * {"$bigint": "123"} (decimal), and come back as the same types — defined here, once.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function toWire(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return { $bigint: value.toString(10) };
  if (value instanceof Uint8Array) return { $hex: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  throw new Error(`wire: cannot encode a ${typeof value}; only JSON data, Uint8Array and bigint cross the control channel`);
}

export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.$hex === 'string') {
      if (!/^(?:[0-9a-f]{2})*$/.test(o.$hex)) throw new Error('wire: "$hex" must be lower-case hex with an even number of digits');
      return new Uint8Array(Buffer.from(o.$hex, 'hex'));
    }
    if (keys.length === 1 && typeof o.$bigint === 'string') {
      if (!/^-?\d+$/.test(o.$bigint)) throw new Error(`wire: "$bigint" must be a decimal integer, got "${o.$bigint}"`);
      return BigInt(o.$bigint);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = fromWire(v);
    return out;
  }
  return value;
}

export const encodeWire = (value: unknown): string => JSON.stringify(toWire(value));
export const decodeWire = (text: string): unknown => fromWire(JSON.parse(text));
