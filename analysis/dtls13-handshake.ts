/**
 * DTLS 1.3 handshake analyser (RFC 9147): what an observer without keys establishes from one
 * captured UDP flow. Flights and round trips as in dtls-handshake.ts (a flight is a maximal run
 * of datagrams one way; a round trip is a client flight answered by a server flight). DTLS 1.3
 * encrypts everything after the ServerHello, so the analyser reads:
 * - the plaintext ClientHello (its supported_versions, pre_shared_key, early_data and cookie
 *   extensions) and ServerHello / HelloRetryRequest (RFC 8446 §4.1.3: an HRR is a ServerHello
 *   whose random is SHA-256("HelloRetryRequest"), §4.1.4), with the version selected;
 * - the encrypted records' unified header (RFC 9147 §4, dtls13-unified-header.ts): epoch 1 is
 *   0-RTT early data, 2 the encrypted handshake, 3 and up application data.
 * `roundTripsBeforeData` counts the server flights the client waited for before its first flight
 * that carries application or early data: 0 for 0-RTT, 1 for a plain or resumed handshake, 2 with
 * the HelloRetryRequest cookie.
 */
import type { UdpFlow } from '../capture/pcap-reader.ts';
import type { Endpoint } from '../capture/inet.ts';
import { isUnifiedHeader, unifiedHeaderRecord } from './dtls13-unified-header.ts';

/** RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest. */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
export const DTLS13_VERSION = 0xfefc;
export const DTLS12_VERSION = 0xfefd;
/** RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2 ("DOWNGRD\x01"). */
export const DOWNGRADE_SENTINEL_TLS12 = Buffer.from('444f574e47524401', 'hex');

const EXT = { preSharedKey: 41, earlyData: 42, supportedVersions: 43, cookie: 44 } as const;

export interface HelloFacts {
  readonly kind: 'ClientHello' | 'ServerHello' | 'HelloRetryRequest';
  readonly extensions: readonly number[];
  /** ClientHello: the versions offered; ServerHello/HRR: the one selected. */
  readonly versions: readonly number[];
  /** ServerHello only: its random ends with RFC 8446 §4.1.3's TLS 1.2 downgrade sentinel. */
  readonly downgradeSentinel?: boolean;
}

export interface Dtls13Flight {
  readonly direction: 'client-to-server' | 'server-to-client';
  /** e.g. ["ClientHello", "early data"] or ["ServerHello", "encrypted handshake ×4"]. */
  readonly messages: string[];
  readonly hellos: HelloFacts[];
  readonly datagrams: number;
  readonly wireBytes: number;
  readonly startMicros: bigint;
}

export interface Dtls13HandshakeAnalysis {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly flights: readonly Dtls13Flight[];
  /** The version the (last) ServerHello selected, e.g. 0xfefc; undefined if none was seen. */
  readonly selectedVersion: number | undefined;
  readonly helloRetryRequest: boolean;
  /** The client's first ClientHello offered a PSK (a ticket: resumption). */
  readonly pskOffered: boolean;
  /** The ServerHello accepted the offered PSK (RFC 8446 §4.2.11): a resumed handshake. */
  readonly resumed: boolean;
  /** Early data (epoch 1) records the client sent, and in which flight. */
  readonly earlyDataRecords: number;
  readonly roundTripsBeforeData: number | undefined;
  /** Server flights before the client's Finished flight (its first encrypted handshake): 1, or 2 with an HRR. */
  readonly handshakeRoundTrips: number | undefined;
  /** Time from the first ClientHello to the client's first data-carrying flight. */
  readonly msBeforeData: number | undefined;
  readonly clientHellos: number;
  readonly problems: readonly string[];
}

function extensionsOf(b: Buffer, at: number, end: number): { type: number; data: Buffer }[] {
  const out: { type: number; data: Buffer }[] = [];
  let off = at;
  while (off + 4 <= end) {
    const type = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    if (off + 4 + len > end) break;
    out.push({ type, data: b.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  return out;
}

/** The hello in one complete (unfragmented) handshake record body, or undefined. */
export function helloFacts(body: Buffer): HelloFacts | undefined {
  const type = body[0];
  if ((type !== 1 && type !== 2) || body.length < HANDSHAKE_HEADER + 38) return undefined;
  const length = body.readUIntBE(1, 3);
  const fragmentOffset = body.readUIntBE(6, 3);
  const fragmentLength = body.readUIntBE(9, 3);
  if (fragmentOffset !== 0 || fragmentLength !== length || body.length < HANDSHAKE_HEADER + length) return undefined;
  const m = body.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + length);
  let off = 2 + 32;
  const random = m.subarray(2, 34);
  off += 1 + (m[off] as number); // legacy_session_id
  if (type === 1) {
    off += 1 + (m[off] as number); // DTLS legacy_cookie
    off += 2 + m.readUInt16BE(off); // cipher_suites
    off += 1 + (m[off] as number); // compression
  } else {
    off += 2 + 1; // cipher_suite, compression
  }
  if (off + 2 > m.length) return undefined;
  const exts = extensionsOf(m, off + 2, Math.min(m.length, off + 2 + m.readUInt16BE(off)));
  const sv = exts.find((e) => e.type === EXT.supportedVersions)?.data;
  let versions: number[] = [];
  if (sv && type === 1) for (let i = 1; i + 1 < sv.length + 0 && i < 1 + (sv[0] as number); i += 2) versions.push(sv.readUInt16BE(i));
  else if (sv && sv.length === 2) versions = [sv.readUInt16BE(0)];
  else if (type === 2) versions = [m.readUInt16BE(0)]; // no supported_versions: the legacy version is the one selected
  if (type === 1) return { kind: 'ClientHello', extensions: exts.map((e) => e.type), versions };
  const hrr = random.equals(HRR_RANDOM);
  return { kind: hrr ? 'HelloRetryRequest' : 'ServerHello', extensions: exts.map((e) => e.type), versions, ...(hrr ? {} : { downgradeSentinel: random.subarray(24).equals(DOWNGRADE_SENTINEL_TLS12) }) };
}

function readDatagram(bytes: Uint8Array, problems: string[], cidLength: number): { messages: string[]; hellos: HelloFacts[]; data: boolean; early: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const messages: string[] = [];
  const hellos: HelloFacts[] = [];
  let data = false;
  let early = 0;
  let off = 0;
  while (off < b.length) {
    if (isUnifiedHeader(b[off] as number)) {
      const u = unifiedHeaderRecord(b, off, cidLength);
      if (u instanceof Error) {
        problems.push(u.message);
        break;
      }
      messages.push(u.carries === 'early_data' ? 'early data' : u.carries === 'encrypted_handshake' ? 'encrypted handshake' : 'application data');
      if (u.carries === 'early_data') early += 1;
      if (u.carries !== 'encrypted_handshake') data = true;
      off += u.headerLength + u.length;
      continue;
    }
    if (b.length - off < RECORD_HEADER) {
      problems.push(`dtls13: ${b.length - off} trailing bytes at ${off}`);
      break;
    }
    const type = b[off] as number;
    const length = b.readUInt16BE(off + 11);
    const body = b.subarray(off + RECORD_HEADER, off + RECORD_HEADER + length);
    if (type === 22) {
      const hello = helloFacts(body);
      if (hello) hellos.push(hello);
      messages.push(hello?.kind ?? 'handshake (plaintext)');
    } else if (type === 21) messages.push('alert (plaintext)');
    else if (type === 23) {
      messages.push('application data (DTLS 1.2 record)');
      data = true;
    } else if (type === 26) messages.push('ack (plaintext)');
    else messages.push(`content type ${type}`);
    off += RECORD_HEADER + length;
  }
  return { messages, hellos, data, early };
}

/**
 * One UDP flow, `a` the client. `cidLength`: the server's Connection ID length when CIDs are in
 * use (the bridge's is 2), so records towards the server parse; records towards the client carry
 * none here (wolfSSL's client asks for an empty CID).
 */
export function analyseDtls13Flow(flow: UdpFlow, cidLength = 0): Dtls13HandshakeAnalysis {
  const problems: string[] = [];
  const flights: Dtls13Flight[] = [];
  let firstDataFlight = -1;
  let earlyDataRecords = 0;
  for (const d of flow.datagrams) {
    const direction = d.direction === 'a-to-b' ? 'client-to-server' : 'server-to-client';
    const read = readDatagram(d.bytes, problems, direction === 'client-to-server' ? cidLength : 0);
    const last = flights.at(-1);
    let flight: Dtls13Flight;
    if (last && last.direction === direction) {
      last.messages.push(...read.messages);
      last.hellos.push(...read.hellos);
      (last as { datagrams: number }).datagrams += 1;
      (last as { wireBytes: number }).wireBytes += d.bytes.length;
      flight = last;
    } else {
      flight = { direction, messages: read.messages, hellos: read.hellos, datagrams: 1, wireBytes: d.bytes.length, startMicros: d.timestampMicros };
      flights.push(flight);
    }
    if (direction === 'client-to-server') earlyDataRecords += read.early;
    if (direction === 'client-to-server' && read.data && firstDataFlight < 0) firstDataFlight = flights.indexOf(flight);
  }
  const hellos = flights.flatMap((f) => f.hellos);
  const serverHello = hellos.filter((h) => h.kind === 'ServerHello').at(-1);
  const firstClientHello = hellos.find((h) => h.kind === 'ClientHello');
  const clientHellos = hellos.filter((h) => h.kind === 'ClientHello').length;
  const helloRetryRequest = hellos.some((h) => h.kind === 'HelloRetryRequest');
  if (!serverHello) problems.push('dtls13: no ServerHello in this flow (the handshake failed, or the capture was cut short)');
  const roundTripsUntil = (flight: number): number | undefined => {
    if (flight < 0) return undefined;
    let n = 0;
    for (let i = 1; i <= flight; i++) if (flights[i]?.direction === 'client-to-server' && flights[i - 1]?.direction === 'server-to-client') n += 1;
    return n;
  };
  const roundTrips = roundTripsUntil(firstDataFlight);
  const clientFinished = flights.findIndex((f) => f.direction === 'client-to-server' && f.messages.includes('encrypted handshake'));
  const first = flights[0];
  const dataFlight = firstDataFlight >= 0 ? flights[firstDataFlight] : undefined;
  return {
    client: flow.a,
    server: flow.b,
    flights,
    selectedVersion: serverHello?.versions[0],
    helloRetryRequest,
    pskOffered: firstClientHello?.extensions.includes(EXT.preSharedKey) ?? false,
    resumed: serverHello?.extensions.includes(EXT.preSharedKey) ?? false,
    earlyDataRecords,
    roundTripsBeforeData: roundTrips,
    handshakeRoundTrips: roundTripsUntil(clientFinished),
    msBeforeData: first && dataFlight ? Number(dataFlight.startMicros - first.startMicros) / 1000 : undefined,
    clientHellos,
    problems,
  };
}

/** One line per flight, for reports: "→ ClientHello, early data (412 B)". */
export function describeDtls13Flights(a: Dtls13HandshakeAnalysis): string[] {
  return a.flights.map((f) => `${f.direction === 'client-to-server' ? '→' : '←'} ${collapse(f.messages).join(', ')} (${f.wireBytes} B)`);
}

function collapse(messages: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    const last = out.at(-1);
    const base = last?.replace(/ ×\d+$/, '');
    if (base === m) out[out.length - 1] = `${m} ×${Number(/×(\d+)$/.exec(last as string)?.[1] ?? 1) + 1}`;
    else out.push(m);
  }
  return out;
}
