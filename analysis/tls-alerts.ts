/**
 * TLS alerts on the wire, read from a captured TCP conversation: who refused a handshake and with
 * which alert (RFC 8446 §6, RFC 5246 §7.2). Before the ServerHello an alert is a plaintext record
 * of type 21; in TLS 1.3 every record after the ServerHello is encrypted as type 23 (RFC 8446
 * §5.2), so the refusal of a client certificate — judged after the server's Finished — is only
 * readable with the connection's traffic secrets. Given a key log (SSLKEYLOGFILE lines, as the
 * probe writes them), each such record is decrypted (RFC 8446 §5.3 nonce, §7.1 HKDF-Expand-Label,
 * §7.3 traffic keys) and the alert inside it named.
 *
 * It never throws on bad input: what it cannot read is reported in `problems`.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import type { TcpStream } from '../capture/pcap-reader.ts';

/** RFC 8446 §6 and RFC 5246 §7.2 AlertDescription values. */
export const ALERT_NAMES: Readonly<Record<number, string>> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 22: 'record_overflow', 40: 'handshake_failure', 42: 'bad_certificate',
  43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown', 47: 'illegal_parameter',
  48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error', 70: 'protocol_version', 71: 'insufficient_security',
  80: 'internal_error', 86: 'inappropriate_fallback', 90: 'user_canceled', 109: 'missing_extension', 110: 'unsupported_extension',
  112: 'unrecognized_name', 113: 'bad_certificate_status_response', 115: 'unknown_psk_identity', 116: 'certificate_required', 120: 'no_application_protocol',
};

export type AlertSender = 'server' | 'client';

export interface WireAlert {
  readonly from: AlertSender;
  readonly level: 'warning' | 'fatal' | 'unknown';
  readonly description: number;
  /** e.g. "certificate_required (116)". */
  readonly name: string;
  /** Read from an encrypted record with the key log (TLS 1.3), or in clear. */
  readonly encrypted: boolean;
}

export interface WireAlerts {
  readonly alerts: readonly WireAlert[];
  /** What the server chose in its ServerHello, when the capture holds one. */
  readonly serverHello?: { readonly version: number; readonly cipherSuite: number };
  /** Encrypted records no secret in the key log opened. */
  readonly undecrypted: number;
  /** Application data the server sent under its traffic keys (a session that got past the handshake). */
  readonly serverApplicationRecords: number;
  readonly problems: readonly string[];
}

export const alertName = (d: number): string => `${ALERT_NAMES[d] ?? 'unknown'} (${d})`;

/** TLS 1.3 suites (RFC 8446 §B.4): AEAD, key length and hash of the key schedule. */
const TLS13_SUITES: Readonly<Record<number, { cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'; keyBytes: number; hash: 'sha256' | 'sha384' }>> = {
  0x1301: { cipher: 'aes-128-gcm', keyBytes: 16, hash: 'sha256' },
  0x1302: { cipher: 'aes-256-gcm', keyBytes: 32, hash: 'sha384' },
  0x1303: { cipher: 'chacha20-poly1305', keyBytes: 32, hash: 'sha256' },
};

/** RFC 5869 §2.3 HKDF-Expand. */
function hkdfExpand(hash: string, prk: Buffer, info: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, prk).update(Buffer.concat([previous, info, Buffer.from([i])])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RFC 8446 §7.1 HKDF-Expand-Label with an empty context. */
function expandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  return hkdfExpand(hash, secret, info, length);
}

interface TrafficKey {
  readonly open: (header: Buffer, body: Buffer) => Buffer | undefined;
}

/** RFC 8446 §7.3 traffic key and IV, §5.3 per-record nonce (IV XOR the 64-bit sequence number). */
function trafficKey(suite: number, secret: Buffer): TrafficKey | undefined {
  const s = TLS13_SUITES[suite];
  if (!s) return undefined;
  const key = expandLabel(s.hash, secret, 'key', s.keyBytes);
  const iv = expandLabel(s.hash, secret, 'iv', 12);
  let seq = 0n;
  return {
    open: (header, body) => {
      if (body.length < 17) return undefined;
      const nonce = Buffer.from(iv);
      for (let i = 0; i < 8; i++) nonce[11 - i] = (nonce[11 - i] as number) ^ Number((seq >> BigInt(8 * i)) & 0xffn);
      try {
        const d = createDecipheriv(s.cipher, key, nonce, { authTagLength: 16 } as never) as ReturnType<typeof createDecipheriv> & { setAuthTag(t: Buffer): void; setAAD(a: Buffer, o?: unknown): void };
        d.setAAD(header, { plaintextLength: body.length - 16 });
        d.setAuthTag(body.subarray(body.length - 16));
        const plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
        seq += 1n;
        return plain;
      } catch {
        return undefined;
      }
    },
  };
}

/** SSLKEYLOGFILE lines by label, for one client random. */
export function keyLogSecrets(keyLog: string, clientRandomHex: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const line of keyLog.split('\n')) {
    const [label, random, secret] = line.trim().split(/\s+/);
    if (label && secret && random?.toLowerCase() === clientRandomHex.toLowerCase()) out.set(label, Buffer.from(secret, 'hex'));
  }
  return out;
}

interface RawRecord {
  readonly type: number;
  readonly header: Buffer;
  readonly body: Buffer;
}

function records(bytes: Uint8Array, problems: string[], direction: string): RawRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawRecord[] = [];
  let at = 0;
  while (at + 5 <= buf.length) {
    const type = buf[at] as number;
    const length = buf.readUInt16BE(at + 3);
    if (type < 20 || type > 23 || length > 16_384 + 256) {
      problems.push(`${direction}: no TLS record at byte ${at} (type ${type}, length ${length})`);
      return out;
    }
    if (at + 5 + length > buf.length) {
      problems.push(`${direction}: the last record is truncated (${buf.length - at - 5} of ${length} bytes captured)`);
      return out;
    }
    out.push({ type, header: buf.subarray(at, at + 5), body: buf.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** The client random of the first ClientHello (RFC 8446 §4.1.2), hex. */
function clientRandom(first: RawRecord | undefined): string | undefined {
  if (!first || first.type !== 22 || first.body[0] !== 1 || first.body.length < 38) return undefined;
  return first.body.subarray(6, 38).toString('hex');
}

/** Negotiated version (supported_versions wins, RFC 8446 §4.2.1) and suite of a ServerHello. */
function serverHello(first: RawRecord | undefined): { version: number; cipherSuite: number } | undefined {
  const b = first?.body;
  if (!b || first.type !== 22 || b[0] !== 2 || b.length < 40) return undefined;
  let at = 4 + 2 + 32;
  const sidLength = b[at] as number;
  at += 1 + sidLength;
  if (at + 3 > b.length) return undefined;
  const cipherSuite = b.readUInt16BE(at);
  let version = b.readUInt16BE(4);
  at += 3;
  if (at + 2 <= b.length) {
    const end = Math.min(b.length, at + 2 + b.readUInt16BE(at));
    at += 2;
    while (at + 4 <= end) {
      const type = b.readUInt16BE(at);
      const length = b.readUInt16BE(at + 2);
      if (type === 43 && length === 2) version = b.readUInt16BE(at + 4);
      at += 4 + length;
    }
  }
  return { version, cipherSuite };
}

function alertOf(from: AlertSender, level: number, description: number, encrypted: boolean): WireAlert {
  return { from, level: level === 1 ? 'warning' : level === 2 ? 'fatal' : 'unknown', description, name: alertName(description), encrypted };
}

/**
 * Every alert in one captured TLS conversation, both directions, in clear or decrypted with
 * `keyLog` (SSLKEYLOGFILE text holding this connection's TLS 1.3 traffic secrets).
 */
export function wireAlerts(stream: TcpStream, keyLog = ''): WireAlerts {
  const problems: string[] = [];
  const fromClient = records(stream.clientToServer, problems, 'client→server');
  const fromServer = records(stream.serverToClient, problems, 'server→client');
  const hello = serverHello(fromServer[0]);
  const random = clientRandom(fromClient[0]);
  const secrets = random ? keyLogSecrets(keyLog, random) : new Map<string, Buffer>();
  const alerts: WireAlert[] = [];
  let undecrypted = 0;
  let serverApplicationRecords = 0;
  const read = (from: AlertSender, list: readonly RawRecord[]) => {
    const prefix = from === 'server' ? 'SERVER' : 'CLIENT';
    const keys = hello && hello.version === 0x0304 ? [`${prefix}_HANDSHAKE_TRAFFIC_SECRET`, `${prefix}_TRAFFIC_SECRET_0`].map((l) => {
      const secret = secrets.get(l);
      return secret ? trafficKey(hello.cipherSuite, secret) : undefined;
    }) : [];
    for (const r of list) {
      if (r.type === 21 && r.body.length === 2) alerts.push(alertOf(from, r.body[0] as number, r.body[1] as number, false));
      if (r.type !== 23 || !hello) continue;
      // Handshake keys first, then the application keys the sender switches to after its Finished.
      let inner: Buffer | undefined;
      let phase = -1;
      for (const [i, k] of keys.entries()) {
        inner = k?.open(r.header, r.body);
        if (inner) {
          phase = i;
          break;
        }
      }
      if (!inner) {
        undecrypted += 1;
        continue;
      }
      let end = inner.length;
      while (end > 0 && inner[end - 1] === 0) end -= 1;
      const type = inner[end - 1];
      if (type === 21 && end - 1 === 2) alerts.push(alertOf(from, inner[0] as number, inner[1] as number, true));
      if (type === 23 && from === 'server' && phase === 1) serverApplicationRecords += 1;
    }
  };
  read('server', fromServer);
  read('client', fromClient);
  if (hello?.version === 0x0304 && secrets.size === 0) problems.push(`no TLS 1.3 secrets for client random ${random ?? '(no ClientHello)'} in the key log: encrypted alerts cannot be read`);
  return { alerts, ...(hello ? { serverHello: hello } : {}), undecrypted, serverApplicationRecords, problems };
}
