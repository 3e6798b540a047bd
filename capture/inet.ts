// Small IPv4 helpers shared by the pcap writer and reader: address parsing and formatting,
// and the Internet checksum (RFC 1071) used by IPv4 (RFC 791 §3.1), TCP (RFC 9293 §3.1) and
// UDP (RFC 768).

export interface Endpoint {
  /** IPv4 dotted quad, e.g. '127.0.0.1'. */
  address: string;
  port: number;
}

/** '10.0.0.7' → 4 bytes; throws a sentence saying what a valid address looks like. */
export function parseIPv4(address: string): Uint8Array {
  const parts = address.split('.');
  const bytes = new Uint8Array(4);
  const valid = parts.length === 4 && parts.every((p, i) => {
    if (!/^\d{1,3}$/.test(p)) return false;
    const n = Number(p);
    bytes[i] = n;
    return n <= 255;
  });
  if (!valid) {
    throw new Error(`capture: '${address}' is not an IPv4 dotted quad (IPv4 only; use e.g. '127.0.0.1')`);
  }
  return bytes;
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

export function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`capture: ${what} port must be an integer 0..65535, got ${port}`);
  }
}

/**
 * One's-complement sum of 16-bit big-endian words (RFC 1071 §4.1), not yet complemented, so
 * that the pseudo-header and the segment can be summed in pieces. An odd trailing byte is
 * padded with zero.
 */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even !== bytes.length) sum += bytes[even]! << 8;
  // Fold carries: at most two folds are needed for any 32-bit sum.
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Final Internet checksum over the given byte ranges. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    // Each part must start on a 16-bit boundary for the split sum to equal the whole sum;
    // callers pass the pseudo-header (12 bytes) and header+payload, which keep alignment.
    sum = onesComplementSum(part, sum);
  }
  return ~sum & 0xffff;
}
