/**
 * Follows a classic libpcap file while it is written (the relay's tap locally, tcpdump -U in
 * containers): each call to `poll()` returns the packets whole since the last call. The file
 * header says the byte order and timestamp resolution (magic 0xa1b2c3d4 µs, 0xa1b23c4d ns;
 * draft-ietf-opsawg-pcap §4); a record still being written is left for the next poll.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

export interface FollowedPacket {
  readonly timestampMicros: bigint;
  readonly data: Buffer;
  readonly originalLength: number;
}

export interface PcapHeader {
  readonly linkType: number;
  readonly snapLen: number;
}

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

export class PcapFollower {
  #offset = 0;
  #pending = Buffer.alloc(0);
  #header: (PcapHeader & { readonly little: boolean; readonly nanos: boolean }) | undefined;

  constructor(readonly path: string) {}

  /** The file's link type and snap length, once its global header is on disk. */
  get header(): PcapHeader | undefined {
    return this.#header;
  }

  poll(): FollowedPacket[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size < this.#offset) throw new Error(`${this.path} shrank from ${this.#offset} to ${size} bytes: the capture was restarted; follow it again`);
    if (size > this.#offset) {
      const chunk = Buffer.alloc(size - this.#offset);
      const fd = openSync(this.path, 'r');
      try {
        const n = readSync(fd, chunk, 0, chunk.length, this.#offset);
        this.#offset += n;
        this.#pending = Buffer.concat([this.#pending, chunk.subarray(0, n)]);
      } finally {
        closeSync(fd);
      }
    }
    if (!this.#header) {
      if (this.#pending.length < GLOBAL_HEADER) return [];
      this.#header = parseGlobalHeader(this.#pending, this.path);
      this.#pending = this.#pending.subarray(GLOBAL_HEADER);
    }
    const h = this.#header;
    const out: FollowedPacket[] = [];
    let at = 0;
    while (this.#pending.length - at >= RECORD_HEADER) {
      const u32 = (o: number) => (h.little ? this.#pending.readUInt32LE(at + o) : this.#pending.readUInt32BE(at + o));
      const captured = u32(8);
      if (captured > 0x4000000) throw new Error(`${this.path}: a record claims ${captured} bytes; the file is not a pcap this testbed wrote`);
      if (this.#pending.length - at < RECORD_HEADER + captured) break;
      const fraction = BigInt(u32(4));
      const micros = BigInt(u32(0)) * 1_000_000n + (h.nanos ? fraction / 1000n : fraction);
      out.push({ timestampMicros: micros, data: Buffer.from(this.#pending.subarray(at + RECORD_HEADER, at + RECORD_HEADER + captured)), originalLength: u32(12) });
      at += RECORD_HEADER + captured;
    }
    this.#pending = this.#pending.subarray(at);
    return out;
  }
}

function parseGlobalHeader(b: Buffer, path: string): PcapHeader & { little: boolean; nanos: boolean } {
  const magics: Record<number, { little: boolean; nanos: boolean }> = {
    0xa1b2c3d4: { little: false, nanos: false },
    0xd4c3b2a1: { little: true, nanos: false },
    0xa1b23c4d: { little: false, nanos: true },
    0x4d3cb2a1: { little: true, nanos: true },
  };
  const kind = magics[b.readUInt32BE(0)];
  if (!kind) throw new Error(`${path} is not a classic pcap file (magic 0x${b.readUInt32BE(0).toString(16)}); tail capture follows the captures testbed up writes`);
  const u32 = (o: number) => (kind.little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  return { ...kind, snapLen: u32(16), linkType: u32(20) & 0x0fffffff };
}
