/**
 * Count a broker's handshakes, full or resumed, from the ServerHellos in a capture: a TLS 1.3
 * ServerHello that selects a pre_shared_key resumes a session (RFC 8446 §4.2.11: "the server
 * MUST include the pre_shared_key extension … to indicate the selected identity"); one without
 * is a full handshake. Reads each packet that starts with a handshake record on its own, so a
 * capture that keeps only those packets (a narrow filter: SERVER_HELLO_FILTER) is enough, and
 * two connections that happened to reuse one client port are still two handshakes.
 */
import type { CapturedPacket } from '../capture/pcap-reader.ts';

const HANDSHAKE = 0x16;
const SERVER_HELLO = 2;
const EXT_PRE_SHARED_KEY = 41;
/** RFC 8446 §4.1.3: the random of a HelloRetryRequest, which is not a handshake's answer. */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

/** tcpdump filter: SYNs, and segments whose payload starts with a TLS handshake record (0x16). */
export function serverHelloFilter(port: number): string {
  return `tcp port ${port} and (tcp[tcpflags] & tcp-syn != 0 or tcp[((tcp[12] & 0xf0) >> 2)] = 0x16)`;
}

export type ServerHelloKind = 'full' | 'resumed';

/** The kind of the ServerHello at the start of `payload`, or undefined when it holds none. */
export function serverHelloKind(payload: Uint8Array): ServerHelloKind | undefined {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (b.length < 5 + 4 + 2 + 32 + 1 || b[0] !== HANDSHAKE || b[5] !== SERVER_HELLO) return undefined;
  let at = 5 + 4 + 2; // record header, handshake header, legacy_version
  if (b.subarray(at, at + 32).equals(HRR_RANDOM)) return undefined;
  at += 32;
  at += 1 + (b[at] ?? 0); // legacy_session_id_echo
  at += 2 + 1; // cipher_suite, legacy_compression_method
  if (at + 2 > b.length) return undefined;
  const end = Math.min(b.length, at + 2 + b.readUInt16BE(at));
  for (at += 2; at + 4 <= end; ) {
    const type = b.readUInt16BE(at);
    const length = b.readUInt16BE(at + 2);
    if (type === EXT_PRE_SHARED_KEY) return 'resumed';
    at += 4 + length;
  }
  return 'full';
}

/** ServerHellos sent from `serverPort` at or after `sinceMicros`. */
export function countServerHellos(packets: readonly CapturedPacket[], serverPort: number, sinceMicros = 0n): { full: number; resumed: number } {
  const out = { full: 0, resumed: 0 };
  for (const p of packets) {
    if (p.src.port !== serverPort || p.timestampMicros < sinceMicros) continue;
    const kind = serverHelloKind(p.payload);
    if (kind) out[kind]++;
  }
  return out;
}
