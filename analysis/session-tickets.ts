/**
 * TLS 1.3 NewSessionTicket messages (RFC 8446 §4.6.1) per TCP connection of a capture. In TLS 1.3
 * they travel encrypted after the handshake, so only the key log shows them: tshark decrypts the
 * capture with it, as an analyst would in Wireshark, and the handshake type 4 records are counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NEW_SESSION_TICKET = '4';
const FINISHED = '20';

export interface ConnectionTickets {
  readonly tickets: number;
  /** tshark read a Finished message: the key log did decrypt this connection (so 0 tickets means none). */
  readonly decrypted: boolean;
}

/** Tickets per TCP connection (tshark's tcp.stream order, which is the capture's order). */
export async function sessionTicketsPerConnection(pcap: string, keyLog: string, tlsPort: number, binary = 'tshark'): Promise<ConnectionTickets[]> {
  const args = ['-r', pcap, '-o', `tls.keylog_file:${keyLog}`, '-d', `tcp.port==${tlsPort},tls`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'tcp.stream', '-e', 'tls.handshake.type'];
  const { stdout } = await run(binary, args, { maxBuffer: 64 * 1024 * 1024 }).catch((err: Error) => {
    throw new Error(`session-tickets: tshark could not read ${pcap} with key log ${keyLog} (${err.message.split('\n')[0]}); is tshark installed (testbed setup --only tshark)?`);
  });
  const counts: { tickets: number; decrypted: boolean }[] = [];
  for (const line of stdout.split('\n')) {
    const [stream, types = ''] = line.split('\t');
    if (stream === undefined || stream === '') continue;
    const i = Number(stream);
    while (counts.length <= i) counts.push({ tickets: 0, decrypted: false });
    const c = counts[i] as { tickets: number; decrypted: boolean };
    const list = types.split(',');
    c.tickets += list.filter((t) => t === NEW_SESSION_TICKET).length;
    c.decrypted ||= list.includes(FINISHED);
  }
  return counts;
}
