/**
 * What an observer without keys reads in a DTLS flow's plaintext (epoch 0) records: the alerts, as
 * a handshake refused before any key exists sends them (content type 21), and the handshake
 * message types (content type 22), e.g. a DTLS 1.2 HelloVerifyRequest (3, RFC 6347 §4.2.1).
 * DTLS 1.3 sends its later alerts encrypted (RFC 9147 §4), and this does not guess at those.
 * Alert names are TLS's (analysis/tls-alerts.ts, RFC 8446 §6).
 */
import type { UdpFlow } from '../capture/pcap-reader.ts';
import { isUnifiedHeader, unifiedHeaderRecord } from './dtls13-unified-header.ts';
import { alertName } from './tls-alerts.ts';

const RECORD_HEADER = 13;
const ALERT = 21;
const HANDSHAKE = 22;
/** Handshake message types (RFC 6347 §4.3.2, RFC 8446 §4). */
const HANDSHAKE_TYPES: Readonly<Record<number, string>> = { 1: 'ClientHello', 2: 'ServerHello', 3: 'HelloVerifyRequest', 4: 'NewSessionTicket', 11: 'Certificate', 12: 'ServerKeyExchange', 13: 'CertificateRequest', 14: 'ServerHelloDone', 15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished' };

export interface DtlsPlaintextAlert {
  readonly sender: 'client' | 'server';
  readonly level: 'warning' | 'fatal';
  /** e.g. "protocol_version (70)". */
  readonly name: string;
  readonly description: number;
}

export interface DtlsPlaintextHandshake {
  readonly sender: 'client' | 'server';
  /** e.g. "HelloVerifyRequest"; "handshake type N" for one not listed. */
  readonly message: string;
}

/** Every plaintext record of the flow, `a` being the client, in capture order. */
function eachPlaintextRecord(flow: UdpFlow, visit: (sender: 'client' | 'server', type: number, body: Buffer) => void): void {
  for (const d of flow.datagrams) {
    const b = Buffer.from(d.bytes.buffer, d.bytes.byteOffset, d.bytes.length);
    let off = 0;
    while (off < b.length) {
      if (isUnifiedHeader(b[off] as number)) {
        const u = unifiedHeaderRecord(b, off);
        if (u instanceof Error) break; // a CID record: its length is not ours to guess
        off += u.headerLength + u.length;
        continue;
      }
      if (b.length - off < RECORD_HEADER) break;
      const length = b.readUInt16BE(off + 11);
      if (b.readUInt16BE(off + 3) === 0 && off + RECORD_HEADER + length <= b.length) visit(d.direction === 'a-to-b' ? 'client' : 'server', b[off] as number, b.subarray(off + RECORD_HEADER, off + RECORD_HEADER + length));
      off += RECORD_HEADER + length;
    }
  }
}

/** Every plaintext alert in the flow, in capture order. */
export function dtlsPlaintextAlerts(flow: UdpFlow): DtlsPlaintextAlert[] {
  const alerts: DtlsPlaintextAlert[] = [];
  eachPlaintextRecord(flow, (sender, type, body) => {
    if (type !== ALERT || body.length !== 2) return;
    const description = body[1] as number;
    alerts.push({ sender, level: body[0] === 2 ? 'fatal' : 'warning', name: alertName(description), description });
  });
  return alerts;
}

/** The message type of every plaintext handshake record (its first fragment's header), in capture order. */
export function dtlsPlaintextHandshakes(flow: UdpFlow): DtlsPlaintextHandshake[] {
  const out: DtlsPlaintextHandshake[] = [];
  eachPlaintextRecord(flow, (sender, type, body) => {
    if (type === HANDSHAKE && body.length > 0) out.push({ sender, message: HANDSHAKE_TYPES[body[0] as number] ?? `handshake type ${body[0] as number}` });
  });
  return out;
}
