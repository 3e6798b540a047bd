/**
 * Handshake analyser: reads the TLS record layer (RFC 8446 §5.1, RFC 5246 §6.2) of a captured
 * TCP conversation and reports what an observer on the wire can establish without any key:
 * records per direction grouped into flights, round trips to the first application byte, bytes
 * per direction, and the kind of handshake (full, resumed, with a HelloRetryRequest).
 *
 * Definitions (used by the resumption scenarios and docs/benchmarks.md):
 * - A **flight** is a maximal run of records sent in one direction with no record from the other
 *   direction in between.
 * - A **round trip** is a client→server flight followed by the server's answering flight; the TCP
 *   three-way handshake counts as one more (SYN → SYN-ACK) when the capture holds the SYN.
 * - **Round trips to the first application byte** counts round trips up to and including the
 *   one whose server flight carries the server's first application data (for MQTT: CONNACK).
 *   Application data is the first server record of type application_data (23) in TLS 1.2; in
 *   TLS 1.3, where encrypted handshake messages also travel as type 23 (RFC 8446 §5.2), it is
 *   the first type-23 server record in a flight after the one holding the ServerHello.
 * - **Time to the first application byte** runs from the SYN (or the first client record) to the
 *   segment that carries that record, in the capture's clock.
 *
 * Records are framed independently of the transport: `analyseRecordStream` takes timestamped
 * byte chunks per direction, so DTLS records (RFC 6347 §4.1, a 13-byte header) can be added as a
 * second framing without touching flights and round trips.
 *
 * It never throws on bad input: garbage, truncation and gaps are reported in `problems`.
 */
import { reassembleTcpStreams, type CapturedPacket, type Endpoint, type TcpStream } from '../capture/pcap-reader.ts';

export type Direction = 'client-to-server' | 'server-to-client';

export const CONTENT_TYPES: Readonly<Record<number, string>> = { 20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data' };
export const HANDSHAKE_TYPES: Readonly<Record<number, string>> = {
  1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 8: 'EncryptedExtensions', 11: 'Certificate',
  12: 'ServerKeyExchange', 13: 'CertificateRequest', 14: 'ServerHelloDone', 15: 'CertificateVerify',
  16: 'ClientKeyExchange', 20: 'Finished',
};

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

const RECORD_HEADER = 5;
/** RFC 8446 §5.1: a record's length must not exceed 2^14 + 256 (ciphertext). */
const MAX_RECORD_LENGTH = 16384 + 256;
const EXT_SERVER_NAME = 0;
const EXT_PRE_SHARED_KEY = 41;
const EXT_SUPPORTED_VERSIONS = 43;

export interface TlsRecord {
  readonly direction: Direction;
  /** When the record's first byte was captured, in µs since the epoch. */
  readonly timestampMicros: bigint;
  readonly contentType: number;
  readonly contentTypeName: string;
  /** Record-layer version field (legacy_record_version in TLS 1.3). */
  readonly version: number;
  /** Bytes on the wire, header included. */
  readonly wireBytes: number;
  /** Handshake messages read from a plaintext handshake record (empty when encrypted). */
  readonly handshakeMessages: readonly string[];
}

export interface Flight {
  readonly direction: Direction;
  readonly records: readonly TlsRecord[];
  readonly wireBytes: number;
  readonly startMicros: bigint;
  readonly endMicros: bigint;
}

export interface RoundTrip {
  /** 'tcp' for SYN → SYN-ACK, 'tls' for a client flight and the server's answer. */
  readonly layer: 'tcp' | 'tls';
  readonly startMicros: bigint;
  readonly answerMicros: bigint;
  /** What was sent and what came back, e.g. "ClientHello → ServerHello, change_cipher_spec, …". */
  readonly summary: string;
}

export interface HandshakeAnalysis {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly protocol: 'TLS 1.2' | 'TLS 1.3' | 'unknown';
  readonly kind: 'full' | 'resumed' | 'unknown';
  readonly helloRetryRequest: boolean;
  /** The client offered a session to resume (TLS 1.3 pre_shared_key, or a TLS 1.2 session id/ticket). */
  readonly clientOfferedResumption: boolean;
  /** SNI of the (last) ClientHello. */
  readonly serverName: string | undefined;
  /** The server's Certificate message was seen in clear (TLS 1.2 full handshakes only). */
  readonly serverCertificateInClear: boolean;
  readonly records: readonly TlsRecord[];
  readonly flights: readonly Flight[];
  /** Round trips up to the first application byte, TCP's first when captured. */
  readonly roundTrips: readonly RoundTrip[];
  readonly roundTripsToFirstApplicationByte: number | undefined;
  /** Index in `flights` of the server flight carrying the first application data. */
  readonly firstApplicationFlight: number | undefined;
  readonly timeToFirstApplicationByteMs: number | undefined;
  readonly bytes: { readonly clientToServer: number; readonly serverToClient: number };
  /** Bytes of the flights before the server's first application-data flight. */
  readonly handshakeBytes: { readonly clientToServer: number; readonly serverToClient: number };
  readonly problems: readonly string[];
}

export interface TimedChunk {
  readonly direction: Direction;
  readonly timestampMicros: bigint;
  readonly bytes: Uint8Array;
}

interface Framed {
  record: TlsRecord;
  fragment: Uint8Array;
  /** Position of the chunk where the record began: orders records across directions. */
  order: number;
}

/** Frames TLS records out of each direction's byte stream; reports (does not throw) on garbage. */
function frameTlsRecords(chunks: readonly TimedChunk[], problems: string[]): Framed[] {
  const framed: Framed[] = [];
  const state = new Map<Direction, { buffer: Uint8Array; starts: { at: number; timestampMicros: bigint; order: number }[]; consumed: number; broken: boolean }>();
  chunks.forEach((chunk, order) => {
    let s = state.get(chunk.direction);
    if (!s) {
      s = { buffer: new Uint8Array(0), starts: [], consumed: 0, broken: false };
      state.set(chunk.direction, s);
    }
    if (s.broken || chunk.bytes.length === 0) return;
    s.starts.push({ at: s.consumed + s.buffer.length, timestampMicros: chunk.timestampMicros, order });
    s.buffer = Buffer.concat([s.buffer, chunk.bytes]);
    // Bounded: each pass consumes one whole record or stops.
    while (s.buffer.length >= RECORD_HEADER) {
      const type = s.buffer[0] as number;
      const version = ((s.buffer[1] as number) << 8) | (s.buffer[2] as number);
      const length = ((s.buffer[3] as number) << 8) | (s.buffer[4] as number);
      if (!(type in CONTENT_TYPES) || s.buffer[1] !== 3 || length > MAX_RECORD_LENGTH) {
        problems.push(`handshake-analyser: ${chunk.direction} byte ${s.consumed} is not a TLS record header `
          + `(type ${type}, version 0x${version.toString(16).padStart(4, '0')}, length ${length}); the rest of that direction is not analysed`);
        s.broken = true;
        break;
      }
      if (s.buffer.length < RECORD_HEADER + length) break;
      const start = [...s.starts].reverse().find((st) => st.at <= s.consumed) ?? (s.starts[0] as { timestampMicros: bigint; order: number });
      const fragment = s.buffer.subarray(RECORD_HEADER, RECORD_HEADER + length);
      framed.push({
        record: { direction: chunk.direction, timestampMicros: start.timestampMicros, contentType: type, contentTypeName: CONTENT_TYPES[type] as string, version, wireBytes: RECORD_HEADER + length, handshakeMessages: [] },
        fragment,
        order: start.order,
      });
      s.consumed += RECORD_HEADER + length;
      s.buffer = s.buffer.subarray(RECORD_HEADER + length);
      s.starts = s.starts.filter((st) => st.at >= s.consumed || st === start);
    }
  });
  for (const [direction, s] of state) {
    if (!s.broken && s.buffer.length > 0) {
      problems.push(`handshake-analyser: ${direction} ends with ${s.buffer.length} bytes of an incomplete TLS record (capture cut short?)`);
    }
  }
  return framed.sort((a, b) => a.order - b.order);
}

interface Hello {
  type: number;
  random?: Uint8Array;
  sessionIdLength: number;
  extensions: Map<number, Uint8Array>;
}

/** Reads a ClientHello or ServerHello body (RFC 8446 §4.1.2/§4.1.3); undefined if malformed. */
function parseHello(type: number, body: Uint8Array): Hello | undefined {
  let at = 2; // legacy_version
  const random = body.subarray(at, at + 32);
  at += 32;
  const sessionIdLength = body[at];
  if (sessionIdLength === undefined) return undefined;
  at += 1 + sessionIdLength;
  const u16 = (o: number) => (((body[o] ?? 0) << 8) | (body[o + 1] ?? 0));
  if (type === 1) {
    at += 2 + u16(at); // cipher_suites
    at += 1 + (body[at] ?? 0); // compression methods
  } else {
    at += 3; // cipher_suite + compression method
  }
  const extensions = new Map<number, Uint8Array>();
  if (at + 2 <= body.length) {
    const end = Math.min(body.length, at + 2 + u16(at));
    at += 2;
    // Bounded: each pass advances by at least 4 bytes.
    while (at + 4 <= end) {
      const extType = u16(at);
      const extLength = u16(at + 2);
      extensions.set(extType, body.subarray(at + 4, at + 4 + extLength));
      at += 4 + extLength;
    }
  }
  if (random.length < 32) return undefined;
  return { type, random, sessionIdLength, extensions };
}

function serverNameOf(ext: Uint8Array | undefined): string | undefined {
  // RFC 6066 §3: list length (2), name type (1, 0 = host_name), name length (2), name.
  if (!ext || ext.length < 5 || ext[2] !== 0) return undefined;
  const length = ((ext[3] as number) << 8) | (ext[4] as number);
  return Buffer.from(ext.subarray(5, 5 + length)).toString('latin1');
}

/** Analyses one captured TCP conversation; `packets` supply the SYN and SYN-ACK when captured. */
export function analyseTcpStream(stream: TcpStream, packets: readonly CapturedPacket[] = []): HandshakeAnalysis {
  const same = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;
  const syn = packets.find((p) => p.tcpFlags?.syn && !p.tcpFlags.ack && same(p.src, stream.client) && same(p.dst, stream.server));
  const synAck = packets.find((p) => p.tcpFlags?.syn && p.tcpFlags.ack && same(p.src, stream.server) && same(p.dst, stream.client));
  const problems: string[] = [];
  const { clientToServer, serverToClient } = stream.missingBytes;
  if (clientToServer + serverToClient > 0) {
    problems.push(`handshake-analyser: the capture misses ${clientToServer} client→server and ${serverToClient} server→client bytes; records after a gap may be misread`);
  }
  return analyseRecordStream(stream.client, stream.server, stream.segments, {
    ...(syn && synAck ? { tcpHandshake: { synMicros: syn.timestampMicros, synAckMicros: synAck.timestampMicros } } : {}),
    problems,
  });
}

/** Every TCP conversation in a capture, analysed. */
export function analyseCapture(packets: readonly CapturedPacket[]): HandshakeAnalysis[] {
  return reassembleTcpStreams([...packets]).map((s) => analyseTcpStream(s, packets));
}

export function analyseRecordStream(
  client: Endpoint,
  server: Endpoint,
  chunks: readonly TimedChunk[],
  options: { tcpHandshake?: { synMicros: bigint; synAckMicros: bigint }; problems?: string[] } = {},
): HandshakeAnalysis {
  const problems = options.problems ?? [];
  const framed = frameTlsRecords(chunks, problems);

  let protocol: HandshakeAnalysis['protocol'] = 'unknown';
  let helloRetryRequest = false;
  let clientOfferedResumption = false;
  let serverName: string | undefined;
  let serverCertificateInClear = false;
  let serverResumedTls13 = false;
  let serverChangeCipherSpecBeforeCertificate = false;
  let serverHelloSeen = false;
  const changedCipher = new Set<Direction>();
  const records: TlsRecord[] = [];
  for (const { record, fragment } of framed) {
    const messages: string[] = [];
    if (record.contentType === 20) {
      changedCipher.add(record.direction);
      if (record.direction === 'server-to-client' && serverHelloSeen && !serverCertificateInClear) serverChangeCipherSpecBeforeCertificate = true;
    }
    // Handshake records are plaintext until that side's ChangeCipherSpec (TLS 1.2); in TLS 1.3
    // encrypted ones travel as application_data, so every type-22 record is plaintext.
    const plaintext = record.contentType === 22 && (protocol === 'TLS 1.3' || !changedCipher.has(record.direction));
    // Bounded: each pass advances by at least the 4-byte message header.
    for (let at = 0; plaintext && at + 4 <= fragment.length;) {
      const type = fragment[at] as number;
      const length = ((fragment[at + 1] as number) << 16) | ((fragment[at + 2] as number) << 8) | (fragment[at + 3] as number);
      const body = fragment.subarray(at + 4, at + 4 + length);
      at += 4 + length;
      const hello = type === 1 || type === 2 ? parseHello(type, body) : undefined;
      if ((type === 1 || type === 2) && !hello) problems.push(`handshake-analyser: a malformed ${HANDSHAKE_TYPES[type]} in a ${record.direction} record`);
      if (hello && type === 1) {
        serverName = serverNameOf(hello.extensions.get(EXT_SERVER_NAME)) ?? serverName;
        // TLS 1.3 offers a session in pre_shared_key; TLS 1.2 in a non-empty ticket (RFC 5077 §3.1)
        // or a session id. A TLS 1.3-capable client always sends a legacy session id
        // (RFC 8446 §4.1.2, middlebox compatibility), so an id counts only from a TLS 1.2-only client.
        const ticket = hello.extensions.get(35);
        const tls12Only = !hello.extensions.has(EXT_SUPPORTED_VERSIONS);
        if (hello.extensions.has(EXT_PRE_SHARED_KEY) || (protocol !== 'TLS 1.3' && ((ticket?.length ?? 0) > 0 || (tls12Only && hello.sessionIdLength > 0)))) {
          clientOfferedResumption = true;
        }
      }
      let name = HANDSHAKE_TYPES[type] ?? `handshake type ${type}`;
      if (hello && type === 2) {
        const versions = hello.extensions.get(EXT_SUPPORTED_VERSIONS);
        protocol = versions && versions[0] === 3 && versions[1] === 4 ? 'TLS 1.3' : 'TLS 1.2';
        if (hello.random && Buffer.from(hello.random).equals(HELLO_RETRY_REQUEST_RANDOM)) {
          helloRetryRequest = true;
          name = 'HelloRetryRequest';
        } else {
          serverHelloSeen = true;
          if (hello.extensions.has(EXT_PRE_SHARED_KEY)) serverResumedTls13 = true;
        }
      }
      if (type === 11 && record.direction === 'server-to-client') serverCertificateInClear = true;
      messages.push(name);
    }
    records.push({ ...record, handshakeMessages: messages });
  }

  const flights: Flight[] = [];
  for (const record of records) {
    const last = flights[flights.length - 1];
    if (last && last.direction === record.direction) {
      flights[flights.length - 1] = { ...last, records: [...last.records, record], wireBytes: last.wireBytes + record.wireBytes, endMicros: record.timestampMicros };
    } else {
      flights.push({ direction: record.direction, records: [record], wireBytes: record.wireBytes, startMicros: record.timestampMicros, endMicros: record.timestampMicros });
    }
  }

  // The server flight with the first application byte (see the definitions above).
  const serverHelloFlight = flights.findIndex((f) => f.direction === 'server-to-client' && f.records.some((r) => r.handshakeMessages.includes('ServerHello')));
  const appFlight = flights.findIndex((f, i) => f.direction === 'server-to-client' && f.records.some((r) => r.contentType === 23)
    && (protocol !== 'TLS 1.3' || (serverHelloFlight >= 0 && i > serverHelloFlight)));

  const roundTrips: RoundTrip[] = [];
  if (options.tcpHandshake) {
    roundTrips.push({ layer: 'tcp', startMicros: options.tcpHandshake.synMicros, answerMicros: options.tcpHandshake.synAckMicros, summary: 'SYN → SYN-ACK' });
  }
  const describe = (f: Flight) => f.records.map((r) => (r.handshakeMessages.length ? r.handshakeMessages.join(', ') : r.contentTypeName)).join(', ');
  const until = appFlight >= 0 ? appFlight : flights.length - 1;
  for (let i = 0; i + 1 <= until; i++) {
    const ask = flights[i] as Flight;
    const answer = flights[i + 1] as Flight;
    if (ask.direction === 'client-to-server' && answer.direction === 'server-to-client') {
      roundTrips.push({ layer: 'tls', startMicros: ask.startMicros, answerMicros: answer.startMicros, summary: `${describe(ask)} → ${describe(answer)}` });
    }
  }

  let timeToFirstApplicationByteMs: number | undefined;
  if (appFlight >= 0) {
    const firstApp = (flights[appFlight] as Flight).records.find((r) => r.contentType === 23) as TlsRecord;
    const start = options.tcpHandshake?.synMicros ?? records.find((r) => r.direction === 'client-to-server')?.timestampMicros;
    if (start !== undefined) timeToFirstApplicationByteMs = Number(firstApp.timestampMicros - start) / 1000;
  } else if (records.length > 0) {
    problems.push('handshake-analyser: no application data from the server in this conversation (handshake failed or capture cut short)');
  }

  const sum = (list: readonly { direction: Direction; wireBytes: number }[], d: Direction) => list.filter((x) => x.direction === d).reduce((n, x) => n + x.wireBytes, 0);
  const handshakeFlights = appFlight >= 0 ? flights.slice(0, appFlight) : flights;
  let kind: HandshakeAnalysis['kind'] = 'unknown';
  if (protocol === 'TLS 1.3') kind = serverResumedTls13 ? 'resumed' : 'full';
  else if (protocol === 'TLS 1.2') kind = serverCertificateInClear ? 'full' : serverChangeCipherSpecBeforeCertificate ? 'resumed' : 'unknown';

  return {
    client, server, protocol, kind, helloRetryRequest, clientOfferedResumption, serverName, serverCertificateInClear,
    records, flights, roundTrips,
    roundTripsToFirstApplicationByte: appFlight >= 0 ? roundTrips.length : undefined,
    firstApplicationFlight: appFlight >= 0 ? appFlight : undefined,
    timeToFirstApplicationByteMs,
    bytes: { clientToServer: sum(records, 'client-to-server'), serverToClient: sum(records, 'server-to-client') },
    handshakeBytes: { clientToServer: sum(handshakeFlights, 'client-to-server'), serverToClient: sum(handshakeFlights, 'server-to-client') },
    problems,
  };
}

/** One line per flight, for reports: "→ ClientHello (517 B)". */
export function describeFlights(analysis: HandshakeAnalysis): string[] {
  return analysis.flights.map((f) => {
    const what = f.records.map((r) => (r.handshakeMessages.length ? r.handshakeMessages.join(', ') : r.contentTypeName)).join(', ');
    return `${f.direction === 'client-to-server' ? '→' : '←'} ${what} (${f.wireBytes} B)`;
  });
}
