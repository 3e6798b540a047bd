/**
 * pcapng blocks, written for a live stream (`testbed tail capture LINK | wireshark -k -i -`):
 * draft-ietf-opsawg-pcapng (the PCAP Next Generation capture file format), little-endian:
 *
 *   Section Header Block (§4.1)       once, first
 *   Interface Description Block (§4.2) the link type of the classic pcap being followed
 *   Decryption Secrets Block (§4.7)   the TLS key log (secrets type 0x544c534b, "TLSK"), so
 *                                      Wireshark decrypts without a key-log file of its own
 *   Enhanced Packet Block (§4.3)      one per packet
 *
 * Every block is padded to 32 bits and ends with its total length repeated. No options are
 * written: the defaults (microsecond timestamps, §4.2 if_tsresol absent) fit our captures.
 */

const SHB_TYPE = 0x0a0d0d0a;
const IDB_TYPE = 0x00000001;
const EPB_TYPE = 0x00000006;
const DSB_TYPE = 0x0000000a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Decryption Secrets Block: TLS key log in NSS SSLKEYLOGFILE format (draft §4.7). */
export const SECRETS_TYPE_TLS_KEY_LOG = 0x544c534b;

const pad4 = (n: number): number => (n + 3) & ~3;

/** A block: type, total length, `body` padded to 32 bits, total length. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + pad4(body.length);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(total, 4);
  body.copy(out, 8);
  out.writeUInt32LE(total, total - 4);
  return out;
}

export function sectionHeaderBlock(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  body.writeUInt16LE(1, 4); // major version
  body.writeUInt16LE(0, 6); // minor version
  body.writeBigInt64LE(-1n, 8); // section length: unknown (a stream)
  return block(SHB_TYPE, body);
}

export function interfaceDescriptionBlock(linkType: number, snapLen: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(linkType, 0);
  body.writeUInt32LE(snapLen, 4);
  return block(IDB_TYPE, body);
}

export function decryptionSecretsBlock(keyLog: string): Buffer {
  const secrets = Buffer.from(keyLog, 'latin1');
  const body = Buffer.alloc(8 + pad4(secrets.length));
  body.writeUInt32LE(SECRETS_TYPE_TLS_KEY_LOG, 0);
  body.writeUInt32LE(secrets.length, 4);
  secrets.copy(body, 8);
  return block(DSB_TYPE, body);
}

/** One packet on interface 0; `timestampMicros` since the epoch (the IDB's default resolution). */
export function enhancedPacketBlock(timestampMicros: bigint, data: Buffer, originalLength: number = data.length): Buffer {
  const body = Buffer.alloc(20 + pad4(data.length));
  body.writeUInt32LE(0, 0);
  body.writeUInt32LE(Number(timestampMicros >> 32n), 4);
  body.writeUInt32LE(Number(timestampMicros & 0xffffffffn), 8);
  body.writeUInt32LE(data.length, 12);
  body.writeUInt32LE(originalLength, 16);
  data.copy(body, 20);
  return block(EPB_TYPE, body);
}

export interface PcapngBlock {
  readonly type: number;
  /** Where the block starts in the stream. */
  readonly offset: number;
  /** The block's body (between the length fields, padding included). */
  readonly body: Buffer;
}

/** The blocks of a little-endian pcapng stream, in order; a truncated last block is left out. */
export function readPcapngBlocks(stream: Buffer): PcapngBlock[] {
  const blocks: PcapngBlock[] = [];
  for (let at = 0; at + 12 <= stream.length; ) {
    const type = stream.readUInt32LE(at);
    const total = stream.readUInt32LE(at + 4);
    if (total < 12 || total % 4 !== 0) throw new Error(`pcapng: the block at byte ${at} claims ${total} bytes; the stream is not little-endian pcapng`);
    if (at + total > stream.length) break;
    blocks.push({ type, offset: at, body: stream.subarray(at + 8, at + total - 4) });
    at += total;
  }
  return blocks;
}

export const PCAPNG_BLOCK = { sectionHeader: SHB_TYPE, interfaceDescription: IDB_TYPE, enhancedPacket: EPB_TYPE, decryptionSecrets: DSB_TYPE } as const;

/** A Decryption Secrets Block's key-log text (undefined for another secrets type). */
export function keyLogOfSecretsBlock(b: PcapngBlock): string | undefined {
  if (b.type !== DSB_TYPE || b.body.readUInt32LE(0) !== SECRETS_TYPE_TLS_KEY_LOG) return undefined;
  return b.body.subarray(8, 8 + b.body.readUInt32LE(4)).toString('latin1');
}

/** An Enhanced Packet Block's captured bytes. */
export function packetOfBlock(b: PcapngBlock): Buffer {
  return b.body.subarray(20, 20 + b.body.readUInt32LE(12));
}
