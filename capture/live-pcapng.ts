/**
 * A link's capture as a live pcapng stream with its TLS secrets inside: follows the classic pcap
 * the graph writes and the key log(s) beside it, and writes pcapng blocks (capture/pcapng.ts).
 *
 * Order matters for a one-pass reader (`wireshark -k -i -`, `tshark -i -`): a TLS record can only
 * be decrypted if the secrets came before it in the stream. Every poll takes the packets first,
 * then the key log: a TLS stack logs a session's secrets when its handshake completes, before it
 * sends application data (RFC 8446 §7.1 derives the traffic secrets from the handshake), so the
 * secrets of every packet already captured are on disk by the time the key log is read, and go
 * out in a Decryption Secrets Block ahead of those packets.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PcapFollower } from './pcap-follower.ts';
import { decryptionSecretsBlock, enhancedPacketBlock, interfaceDescriptionBlock, sectionHeaderBlock } from './pcapng.ts';

/** New complete lines of a set of key-log files (SSLKEYLOGFILE format), each once. */
export class KeyLogFollower {
  readonly #seen = new Set<string>();

  constructor(readonly files: () => readonly string[]) {}

  poll(): string[] {
    const fresh: string[] = [];
    for (const file of this.files()) {
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'latin1');
      // Only complete lines: the last may still be being written.
      for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
        if (!line.trim() || line.startsWith('#') || this.#seen.has(line)) continue;
        this.#seen.add(line);
        fresh.push(line);
      }
    }
    return fresh;
  }
}

export interface LiveStreamOptions {
  readonly capture: string;
  readonly keyLogFiles: () => readonly string[];
  /** Writes a chunk; resolves when the reader can take more. */
  readonly write: (chunk: Buffer) => Promise<void>;
  /** Stop after this many packets. */
  readonly count?: number;
  /** Stop at this time (ms since the epoch). */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

export interface LiveStreamResult {
  readonly packets: number;
  readonly secrets: number;
}

export async function streamLivePcapng(o: LiveStreamOptions): Promise<LiveStreamResult> {
  const packets = new PcapFollower(o.capture);
  const keys = new KeyLogFollower(o.keyLogFiles);
  let started = false;
  let sent = 0;
  let secrets = 0;
  for (;;) {
    const fresh = packets.poll();
    const header = packets.header;
    if (header && !started) {
      await o.write(Buffer.concat([sectionHeaderBlock(), interfaceDescriptionBlock(header.linkType, header.snapLen)]));
      started = true;
    }
    if (started) {
      const lines = keys.poll();
      if (lines.length > 0) {
        secrets += lines.length;
        await o.write(decryptionSecretsBlock(`${lines.join('\n')}\n`));
      }
      const take = o.count === undefined ? fresh : fresh.slice(0, o.count - sent);
      if (take.length > 0) await o.write(Buffer.concat(take.map((p) => enhancedPacketBlock(p.timestampMicros, p.data, p.originalLength))));
      sent += take.length;
    }
    if ((o.count !== undefined && sent >= o.count) || o.signal?.aborted || (o.deadlineMs !== undefined && Date.now() >= o.deadlineMs)) return { packets: sent, secrets };
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}
