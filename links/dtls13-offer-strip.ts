/**
 * The downgrade attacker's edit of a DTLS ClientHello (RFC 8446 §4.1.3, RFC 9147 §5.3): the
 * supported_versions extension, which carries the DTLS 1.3 offer, is renamed to an extension
 * type no one knows, so a downgrade-capable server sees a plain DTLS 1.2 ClientHello (legacy
 * version 0xfefd) and ignores the unknown extension (RFC 8446 §4.2). Lengths stay the same, and a
 * DTLS 1.2 ClientHello is covered by nothing but the Finished messages, so the server cannot
 * tell; only the client can, from the sentinel a DTLS 1.3-capable server writes into its
 * ServerHello.random.
 *
 * (Rewriting the list's 0xfefc entries to 0xfefd instead does not downgrade wolfSSL 5.5.4: its
 * server answers such a ClientHello with a DTLS 1.3 ServerHello that lacks supported_versions,
 * and the client never completes; see features/dtls13-downgrade.feature.)
 *
 * Works on plaintext records (content type 22) holding a whole ClientHello; anything else
 * (encrypted records, fragments, other messages) is returned unchanged.
 */
const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const SUPPORTED_VERSIONS = 43;
/** Not assigned by IANA (TLS ExtensionType registry): a server skips it. */
const UNKNOWN_EXTENSION = 0xfe2b;

/** The datagram with the DTLS 1.3 offer hidden, and how many ClientHellos were edited (0: untouched). */
export function stripDtls13Offer(datagram: Uint8Array): { bytes: Uint8Array; replaced: number } {
  const b = Buffer.from(datagram); // a copy: the caller's bytes (and the capture of them) stay as sent
  let replaced = 0;
  let off = 0;
  while (off + RECORD_HEADER <= b.length && b[off] !== undefined && (b[off] as number) < 0x20) {
    const length = b.readUInt16BE(off + 11);
    const end = off + RECORD_HEADER + length;
    if (end > b.length) break;
    if (b[off] === 22) replaced += rewriteClientHello(b, off + RECORD_HEADER, end);
    off = end;
  }
  return { bytes: replaced > 0 ? b : datagram, replaced };
}

/** Renames the supported_versions extension of the ClientHello in b[at, end) in place; returns 1 if it did. */
function rewriteClientHello(b: Buffer, at: number, end: number): number {
  if (b[at] !== 1 || end - at < HANDSHAKE_HEADER + 40) return 0;
  const length = b.readUIntBE(at + 1, 3);
  if (b.readUIntBE(at + 6, 3) !== 0 || b.readUIntBE(at + 9, 3) !== length || at + HANDSHAKE_HEADER + length > end) return 0; // a fragment
  const m = at + HANDSHAKE_HEADER;
  const stop = m + length;
  let off = m + 2 + 32; // legacy_version, random
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (off + lengthBytes > stop) return false;
    off += lengthBytes + (lengthBytes === 1 ? (b[off] as number) : b.readUInt16BE(off));
    return off <= stop;
  };
  // legacy_session_id, DTLS cookie, cipher_suites, compression methods
  if (!skip(1) || !skip(1) || !skip(2) || !skip(1) || off + 2 > stop) return 0;
  const extEnd = Math.min(stop, off + 2 + b.readUInt16BE(off));
  off += 2;
  let replaced = 0;
  while (off + 4 <= extEnd) {
    const type = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    if (off + 4 + len > extEnd) break;
    if (type === SUPPORTED_VERSIONS) {
      b.writeUInt16BE(UNKNOWN_EXTENSION, off);
      replaced += 1;
    }
    off += 4 + len;
  }
  return replaced;
}
