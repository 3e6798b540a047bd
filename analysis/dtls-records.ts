/**
 * Splits a UDP datagram into DTLS records (RFC 6347 §4.1: type u8, version u16, epoch u16,
 * sequence u48, length u16, fragment). Scenarios use it to show that a captured device link
 * carries nothing but DTLS: every datagram parses completely, and after the handshake every
 * record is epoch ≥ 1 (encrypted).
 */
import { isUnifiedHeader, unifiedHeaderRecord } from './dtls13-unified-header.ts';

export const DTLS_CONTENT_TYPES: Readonly<Record<number, string>> = { 20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 26: 'ack' /* RFC 9147 §7 */ };
const HEADER = 13;

export interface DtlsRecord {
  readonly contentType: string;
  readonly version: number;
  readonly epoch: number;
  readonly length: number;
}

/** The records of one datagram, or an Error saying where it stops being DTLS. */
export function dtlsRecords(datagram: Uint8Array): DtlsRecord[] | Error {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  const records: DtlsRecord[] = [];
  let off = 0;
  while (off < b.length) {
    if (isUnifiedHeader(b[off] as number)) {
      // DTLS 1.3 ciphertext (RFC 9147 §4): the epoch's low bits say what it carries; with no CID
      // on the wire (this parser is not told one) a CID record is an error, not a guess.
      const u = unifiedHeaderRecord(b, off);
      if (u instanceof Error) return u;
      records.push({ contentType: u.carries, version: 0xfefc, epoch: u.epochBits === 0 ? 4 : u.epochBits, length: u.length });
      off += u.headerLength + u.length;
      continue;
    }
    if (b.length - off < HEADER) return new Error(`dtls-records: ${b.length - off} trailing bytes at offset ${off} are shorter than a record header`);
    const type = DTLS_CONTENT_TYPES[b[off] as number];
    const version = b.readUInt16BE(off + 1);
    // DTLS 1.0 = 0xfeff, DTLS 1.2 = 0xfefd (RFC 6347 §4.1: the version is the 1's complement).
    if (!type || (version !== 0xfefd && version !== 0xfeff)) return new Error(`dtls-records: offset ${off}: type ${b[off]} version 0x${version.toString(16)} is not a DTLS record`);
    const length = b.readUInt16BE(off + 11);
    if (off + HEADER + length > b.length) return new Error(`dtls-records: record at offset ${off} claims ${length} bytes, the datagram has ${b.length - off - HEADER}`);
    records.push({ contentType: type, version, epoch: b.readUInt16BE(off + 3), length });
    off += HEADER + length;
  }
  return records;
}
