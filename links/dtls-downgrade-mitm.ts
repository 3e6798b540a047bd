/**
 * The downgrade attacker of RFC 8446 §4.1.3 on a DTLS flow, for a server that answers a DTLS 1.2
 * ClientHello with a HelloVerifyRequest (RFC 6347 §4.2.1), as wolfSSL's always does. Hiding the
 * DTLS 1.3 offer (dtls13-offer-strip.ts) alone lets the client see that HelloVerifyRequest, which
 * wolfSSL 5.5.4's DTLS 1.3 client refuses before any ServerHello. This attacker answers it
 * itself: the cookie exchange is not part of the DTLS 1.2 handshake transcript (RFC 6347 §4.2.1),
 * so it resends the edited ClientHello with the server's cookie (message_seq 1, as a client's
 * second ClientHello has) and keeps the HelloVerifyRequest from the client, then shifts the
 * server's handshake message_seq down by one so the client reads the ServerHello as the server's
 * first message. The client then meets only what the sentinel is there for: a DTLS 1.2
 * ServerHello from a DTLS 1.3-capable server.
 *
 * One instance per flow. Plaintext (epoch 0) records only; everything else passes unchanged.
 */
import { stripDtls13Offer } from './dtls13-offer-strip.ts';

const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const HELLO_VERIFY_REQUEST = 3;

export class DtlsDowngradeMitm {
  /** The client's ClientHello as last edited (offer hidden), waiting for the server's cookie. */
  #clientHello: Buffer | undefined;
  #cookie: Buffer | undefined;
  readonly notes: string[] = [];

  /** A datagram from the client: its ClientHello's 1.3 offer hidden, and the server's cookie added once known. */
  fromClient(datagram: Uint8Array): Uint8Array {
    const stripped = stripDtls13Offer(datagram);
    if (stripped.replaced === 0) return datagram;
    const b = Buffer.from(stripped.bytes);
    if (!isWholeClientHello(b)) return b;
    this.#clientHello = b;
    this.notes.push('hid the DTLS 1.3 offer in a ClientHello');
    return this.#cookie ? withCookie(b, this.#cookie) : b;
  }

  /**
   * A datagram from the server: a HelloVerifyRequest is answered here (`toServer`, nothing to the
   * client); once answered, the server's handshake messages reach the client numbered as if there
   * had been no cookie exchange.
   */
  fromServer(datagram: Uint8Array): { toClient?: Uint8Array; toServer?: Uint8Array } {
    const b = Buffer.from(datagram);
    if (isPlaintextHandshake(b, HELLO_VERIFY_REQUEST) && this.#clientHello) {
      // HelloVerifyRequest body: server_version(2) cookie<0..255>.
      const at = RECORD_HEADER + HANDSHAKE_HEADER + 2;
      const length = b[at] as number;
      if (at + 1 + length > b.length) return { toClient: datagram };
      this.#cookie = Buffer.from(b.subarray(at + 1, at + 1 + length));
      this.notes.push(`answered the server's HelloVerifyRequest itself with its ${length}-byte cookie`);
      return { toServer: withCookie(this.#clientHello, this.#cookie) };
    }
    if (!this.#cookie) return { toClient: datagram };
    return { toClient: shiftServerMessageSeq(b) };
  }
}

function isPlaintextHandshake(b: Buffer, type: number): boolean {
  return b.length >= RECORD_HEADER + HANDSHAKE_HEADER + 3 && b[0] === HANDSHAKE && b.readUInt16BE(3) === 0 && b[RECORD_HEADER] === type;
}

/** One record holding one whole ClientHello (what dtls13-offer-strip.ts edits). */
function isWholeClientHello(b: Buffer): boolean {
  if (!isPlaintextHandshake(b, CLIENT_HELLO)) return false;
  const length = b.readUIntBE(RECORD_HEADER + 1, 3);
  return b.readUInt16BE(11) === HANDSHAKE_HEADER + length && b.length === RECORD_HEADER + HANDSHAKE_HEADER + length && b.readUIntBE(RECORD_HEADER + 9, 3) === length;
}

/** The ClientHello with `cookie` in its cookie field, message_seq 1 and record sequence 1, every length fixed. */
function withCookie(clientHello: Buffer, cookie: Buffer): Buffer {
  const body = RECORD_HEADER + HANDSHAKE_HEADER;
  const cookieAt = body + 2 + 32 + 1 + (clientHello[body + 34] as number); // after version, random, session id
  const oldLength = clientHello[cookieAt] as number;
  const out = Buffer.concat([clientHello.subarray(0, cookieAt), Buffer.from([cookie.length]), cookie, clientHello.subarray(cookieAt + 1 + oldLength)]);
  const handshakeLength = out.length - body;
  out.writeUIntBE(1, 5, 6); // record sequence number: the client's second record
  out.writeUInt16BE(HANDSHAKE_HEADER + handshakeLength, 11);
  out.writeUIntBE(handshakeLength, RECORD_HEADER + 1, 3);
  out.writeUInt16BE(1, RECORD_HEADER + 4); // message_seq: a second ClientHello (RFC 6347 §4.2.2)
  out.writeUIntBE(handshakeLength, RECORD_HEADER + 9, 3);
  return out;
}

/** Every plaintext handshake record's message_seq minus one (the HelloVerifyRequest the client never saw). */
function shiftServerMessageSeq(b: Buffer): Buffer {
  let off = 0;
  while (off + RECORD_HEADER <= b.length && (b[off] as number) < 0x20) {
    const length = b.readUInt16BE(off + 11);
    if (b[off] === HANDSHAKE && b.readUInt16BE(off + 3) === 0 && length >= HANDSHAKE_HEADER && off + RECORD_HEADER + length <= b.length) {
      const seqAt = off + RECORD_HEADER + 4;
      const seq = b.readUInt16BE(seqAt);
      if (seq > 0) b.writeUInt16BE(seq - 1, seqAt);
    }
    off += RECORD_HEADER + length;
  }
  return b;
}
