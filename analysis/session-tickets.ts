/**
 * TLS 1.3 NewSessionTicket messages (RFC 8446 §4.6.1) per TCP connection of a capture. In TLS 1.3
 * they travel encrypted after the handshake, so only the key log shows them: tshark decrypts the
 * capture with it, as an analyst would in Wireshark, and the handshake type 4 records are counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NEW_SESSION_TICKET = 4;
const FINISHED = 20;

export interface ConnectionTickets {
  readonly tickets: number;
  /** tshark read a Finished message: the key log did decrypt this connection (so 0 tickets means none). */
  readonly decrypted: boolean;
}

/** The handshake messages the server sent on one TCP connection, as tshark decoded them. */
export interface ServerHandshakeMessages {
  /** Handshake types (RFC 8446 §4) the server sent, in order: 2 ServerHello, 11 Certificate, 4 NewSessionTicket, … */
  readonly types: readonly number[];
  /** tshark read the server's Finished: the key log did decrypt this connection. */
  readonly decrypted: boolean;
}

/**
 * Per TCP connection (tshark's tcp.stream order, the capture's order), the handshake messages sent
 * from `tlsPort`, decrypted with the key log: in TLS 1.3 all but the ServerHello are encrypted
 * (RFC 8446 §2), so whether the server sent its Certificate is only seen this way.
 */
export async function serverHandshakeMessagesPerConnection(pcap: string, keyLog: string, tlsPort: number, binary = 'tshark'): Promise<ServerHandshakeMessages[]> {
  const args = ['-r', pcap, '-o', `tls.keylog_file:${keyLog}`, '-d', `tcp.port==${tlsPort},tls`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'tls.handshake.type'];
  const { stdout } = await run(binary, args, { maxBuffer: 64 * 1024 * 1024 }).catch((err: Error) => {
    throw new Error(`session-tickets: tshark could not read ${pcap} with key log ${keyLog} (${err.message.split('\n')[0]}); is tshark installed (testbed setup --only tshark)?`);
  });
  const connections: { types: number[]; decrypted: boolean }[] = [];
  for (const line of stdout.split('\n')) {
    const [stream, srcPort, types = ''] = line.split('\t');
    if (stream === undefined || stream === '') continue;
    const i = Number(stream);
    while (connections.length <= i) connections.push({ types: [], decrypted: false });
    if (Number(srcPort) !== tlsPort) continue;
    const c = connections[i] as { types: number[]; decrypted: boolean };
    const list = types.split(',').filter((t) => t !== '').map(Number);
    c.types.push(...list);
    c.decrypted ||= list.includes(FINISHED);
  }
  return connections;
}

/** Tickets per TCP connection (tshark's tcp.stream order, which is the capture's order). */
export async function sessionTicketsPerConnection(pcap: string, keyLog: string, tlsPort: number, binary = 'tshark'): Promise<ConnectionTickets[]> {
  const connections = await serverHandshakeMessagesPerConnection(pcap, keyLog, tlsPort, binary);
  return connections.map((c) => ({ tickets: c.types.filter((t) => t === NEW_SESSION_TICKET).length, decrypted: c.decrypted }));
}
