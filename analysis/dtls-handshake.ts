/**
 * DTLS 1.2 handshake analyser (RFC 6347): reads the records of one captured UDP flow and reports
 * what an observer on the wire can establish without a key — flights, round trips until the
 * handshake is done, the HelloVerifyRequest cookie exchange (§4.2.1), full or resumed, bytes.
 * The TLS analyser (handshake-analyser.ts) frames a TCP byte stream; DTLS records arrive whole
 * in datagrams and carry a 12-byte handshake header, so they get their own framing here, with the
 * same definitions of flights and round trips:
 * - a **flight** is a maximal run of datagrams in one direction;
 * - a **round trip** is a client flight answered by a server flight;
 * - the handshake is **done** at the server flight that carries the server's Finished (its first
 *   epoch-1 handshake record): in a full handshake the client waits for it before sending data;
 *   in a resumed one (§4.2.4: the server sends its Finished first) the client answers it with its
 *   own Finished and its first data at once.
 * A retransmitted flight (lost datagram, RFC 6347 §4.2.4 timer) appears as one more flight; the
 * analysis reports it in `problems` rather than hiding it.
 */
import type { UdpFlow } from '../capture/pcap-reader.ts';
import type { Endpoint } from '../capture/inet.ts';
import { dtlsRecords } from './dtls-records.ts';

export const DTLS_HANDSHAKE_TYPES: Readonly<Record<number, string>> = {
  1: 'ClientHello', 2: 'ServerHello', 3: 'HelloVerifyRequest', 11: 'Certificate', 12: 'ServerKeyExchange',
  13: 'CertificateRequest', 14: 'ServerHelloDone', 15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished',
};
/** RFC 6347 §4.2.2: msg_type, length (3), message_seq (2), fragment_offset (3), fragment_length (3). */
const HANDSHAKE_HEADER = 12;
const RECORD_HEADER = 13;

export interface DtlsFlight {
  readonly direction: 'client-to-server' | 'server-to-client';
  /** What it carried, e.g. ["ClientHello"] or ["ServerHello", "change_cipher_spec", "Finished (encrypted)"]. */
  readonly messages: readonly string[];
  readonly datagrams: number;
  readonly wireBytes: number;
  readonly startMicros: bigint;
}

export interface DtlsHandshakeAnalysis {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly kind: 'full' | 'resumed' | 'unknown';
  readonly helloVerifyRequest: boolean;
  readonly serverCertificateInClear: boolean;
  readonly flights: readonly DtlsFlight[];
  /** Round trips until the server's Finished arrived; undefined if it never did. */
  readonly roundTrips: number | undefined;
  /** From the first ClientHello to the server flight with the server's Finished, in the capture's clock. */
  readonly handshakeMs: number | undefined;
  readonly handshakeBytes: { readonly clientToServer: number; readonly serverToClient: number };
  readonly problems: readonly string[];
}

/** Names of the records in one datagram: handshake messages in epoch 0, "X (encrypted)" after. */
function namesOf(datagram: Uint8Array, problems: string[], direction: string): string[] {
  const records = dtlsRecords(datagram);
  if (records instanceof Error) {
    problems.push(`dtls-handshake: a ${direction} datagram is not DTLS: ${records.message}`);
    return [];
  }
  const names: string[] = [];
  let off = 0;
  for (const r of records) {
    if (r.contentType === 'handshake' && r.epoch === 0) {
      const type = datagram[off + RECORD_HEADER] as number;
      names.push(DTLS_HANDSHAKE_TYPES[type] ?? `handshake type ${type}`);
      if (r.length < HANDSHAKE_HEADER) problems.push(`dtls-handshake: a ${direction} handshake record of ${r.length} bytes is shorter than its header`);
    } else if (r.contentType === 'handshake') {
      // The first encrypted handshake message of each side is its Finished (RFC 6347 §4.2.4).
      names.push('Finished (encrypted)');
    } else {
      names.push(r.contentType);
    }
    off += RECORD_HEADER + r.length;
  }
  return names;
}

export function analyseDtlsFlow(flow: UdpFlow): DtlsHandshakeAnalysis {
  const problems: string[] = [];
  const flights: { direction: DtlsFlight['direction']; messages: string[]; datagrams: number; wireBytes: number; startMicros: bigint }[] = [];
  for (const d of flow.datagrams) {
    const direction = d.direction === 'a-to-b' ? 'client-to-server' : 'server-to-client';
    const names = namesOf(d.bytes, problems, direction);
    const last = flights.at(-1);
    if (last && last.direction === direction) {
      last.messages.push(...names);
      last.datagrams += 1;
      last.wireBytes += d.bytes.length;
    } else {
      flights.push({ direction, messages: names, datagrams: 1, wireBytes: d.bytes.length, startMicros: d.timestampMicros });
    }
  }
  const serverFinished = flights.findIndex((f) => f.direction === 'server-to-client' && f.messages.includes('Finished (encrypted)'));
  let roundTrips: number | undefined;
  if (serverFinished >= 0) {
    roundTrips = 0;
    for (let i = 1; i <= serverFinished; i++) if (flights[i]?.direction === 'server-to-client' && flights[i - 1]?.direction === 'client-to-server') roundTrips += 1;
  } else {
    problems.push('dtls-handshake: the server never sent its Finished in this flow (handshake failed or capture cut short)');
  }
  const clientHellos = flights.filter((f) => f.direction === 'client-to-server').flatMap((f) => f.messages).filter((m) => m === 'ClientHello').length;
  const helloVerifyRequest = flights.some((f) => f.messages.includes('HelloVerifyRequest'));
  if (clientHellos > (helloVerifyRequest ? 2 : 1)) problems.push(`dtls-handshake: ${clientHellos} ClientHellos: a flight was retransmitted`);
  const serverCertificateInClear = flights.some((f) => f.direction === 'server-to-client' && f.messages.includes('Certificate'));
  const serverHello = flights.find((f) => f.direction === 'server-to-client' && f.messages.includes('ServerHello'));
  // Resumed (RFC 5246 §7.3): the ServerHello is followed by ChangeCipherSpec and Finished, no Certificate.
  const kind = !serverHello ? 'unknown' : serverCertificateInClear ? 'full' : serverHello.messages.includes('change_cipher_spec') ? 'resumed' : 'unknown';
  const handshakeFlights = serverFinished >= 0 ? flights.slice(0, serverFinished + 1) : flights;
  const bytes = (d: DtlsFlight['direction']) => handshakeFlights.filter((f) => f.direction === d).reduce((n, f) => n + f.wireBytes, 0);
  const first = flights[0];
  const done = serverFinished >= 0 ? flights[serverFinished] : undefined;
  return {
    client: flow.a,
    server: flow.b,
    kind,
    helloVerifyRequest,
    serverCertificateInClear,
    flights,
    roundTrips,
    handshakeMs: first && done ? Number(done.startMicros - first.startMicros) / 1000 : undefined,
    handshakeBytes: { clientToServer: bytes('client-to-server'), serverToClient: bytes('server-to-client') },
    problems,
  };
}

/** One line per flight, for reports: "→ ClientHello (165 B)". */
export function describeDtlsFlights(a: DtlsHandshakeAnalysis): string[] {
  return a.flights.map((f) => `${f.direction === 'client-to-server' ? '→' : '←'} ${f.messages.join(', ')} (${f.wireBytes} B${f.datagrams > 1 ? ` in ${f.datagrams} datagrams` : ''})`);
}
