/**
 * What a UDP capture says about loss and reordering without decrypting anything: every DTLS 1.2
 * record carries its epoch and a 48-bit sequence number in clear (RFC 6347 §4.1), one counter
 * per epoch and direction, and a retransmission goes out under a NEW number (§4.2.4). So, per
 * flow and direction, among the encrypted records (epoch ≥ 1) seen at one point of the link:
 * a number lower than one already seen arrived out of order (reordered before this point), and
 * a number inside the seen range that never came was lost before this point.
 */
import type { UdpFlow } from '../capture/pcap-reader.ts';

const HEADER = 13;
const APPLICATION_DATA = 23;
const HANDSHAKE = 22;

export interface DtlsDirectionOrder {
  /** Encrypted records seen. */
  readonly records: number;
  /** Records whose sequence number is below the highest already seen in their flow and epoch. */
  readonly outOfOrder: number;
  /** Sequence numbers between the lowest and highest seen that never arrived. */
  readonly missing: number;
}

export interface DtlsCaptureOrder {
  /**
   * Flows whose client was seen speaking DTLS: a ClientHello or an encrypted record. A capture on
   * a loaded host misses packets (tcpdump, a full socket buffer), so either one is enough.
   */
  readonly clientFlows: number;
  /** Flows (client address and port) with a ClientHello and then application data (either way). */
  readonly sessionsWithApplicationData: number;
  /** Flows in which the server's HelloVerifyRequest (RFC 6347 §4.2.1 cookie exchange) was seen. */
  readonly helloVerifyRequests: number;
  readonly clientToServer: DtlsDirectionOrder;
  readonly serverToClient: DtlsDirectionOrder;
}

interface RecordHeader {
  readonly type: number;
  readonly epoch: number;
  readonly sequence: number;
  /** First handshake message type of an epoch-0 handshake record. */
  readonly handshakeType?: number;
}

/** The DTLS 1.2 record headers of one datagram; stops at the first thing that is not one. */
export function recordHeaders(datagram: Uint8Array): RecordHeader[] {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  const out: RecordHeader[] = [];
  let off = 0;
  while (b.length - off >= HEADER) {
    const type = b[off] as number;
    const version = b.readUInt16BE(off + 1);
    if (type < 20 || type > 26 || (version !== 0xfefd && version !== 0xfeff)) break;
    const epoch = b.readUInt16BE(off + 3);
    const sequence = b.readUIntBE(off + 5, 6);
    const length = b.readUInt16BE(off + 11);
    out.push({ type, epoch, sequence, ...(type === HANDSHAKE && epoch === 0 && length > 0 ? { handshakeType: b[off + HEADER] as number } : {}) });
    off += HEADER + length;
  }
  return out;
}

class DirectionTally {
  records = 0;
  outOfOrder = 0;
  missing = 0;

  add(sequences: readonly number[]): void {
    if (sequences.length === 0) return;
    let highest = -1;
    const seen = new Set<number>();
    for (const s of sequences) {
      if (s < highest) this.outOfOrder++;
      highest = Math.max(highest, s);
      seen.add(s);
    }
    this.records += sequences.length;
    this.missing += highest - Math.min(...seen) + 1 - seen.size;
  }
}

const endpointKey = (e: UdpFlow['a']): string => `${e.address}:${e.port}`;

/**
 * The server's end of a device link's flows: the endpoint every flow shares. udpFlows() calls
 * the first sender `a`, and a capture that missed a client's first datagram would otherwise turn
 * that flow round.
 */
function serverEndpoint(flows: readonly UdpFlow[]): string | undefined {
  const seen = new Map<string, number>();
  for (const f of flows) for (const e of [f.a, f.b]) seen.set(endpointKey(e), (seen.get(endpointKey(e)) ?? 0) + 1);
  let best: [string, number] | undefined;
  for (const entry of seen) if (!best || entry[1] > best[1]) best = entry;
  return best?.[0];
}

/** Judge every flow of a capture taken at one point of a device link, many clients to one server. */
export function dtlsCaptureOrder(flows: readonly UdpFlow[]): DtlsCaptureOrder {
  const server = serverEndpoint(flows);
  const toServer = new DirectionTally();
  const toClient = new DirectionTally();
  let sessions = 0;
  let verified = 0;
  let clients = 0;
  for (const flow of flows) {
    const sequences = { 'a-to-b': new Map<number, number[]>(), 'b-to-a': new Map<number, number[]>() };
    let clientHello = false;
    let applicationData = false;
    let helloVerify = false;
    let encrypted = false;
    const turned = flows.length > 1 && endpointKey(flow.a) === server;
    for (const captured of flow.datagrams) {
      const d = { bytes: captured.bytes, direction: turned === (captured.direction === 'a-to-b') ? 'b-to-a' as const : 'a-to-b' as const };
      for (const r of recordHeaders(d.bytes)) {
        if (d.direction === 'a-to-b' && r.handshakeType === 1) clientHello = true;
        if (d.direction === 'b-to-a' && r.handshakeType === 3) helloVerify = true;
        // Either way: a missed datagram (tcpdump, a full socket buffer) may hide one side's.
        if (r.type === APPLICATION_DATA && r.epoch >= 1 && clientHello) applicationData = true;
        if (r.epoch < 1) continue;
        if (d.direction === 'a-to-b') encrypted = true;
        const byEpoch = sequences[d.direction];
        const list = byEpoch.get(r.epoch) ?? [];
        list.push(r.sequence);
        byEpoch.set(r.epoch, list);
      }
    }
    if (applicationData) sessions++;
    if (clientHello || encrypted) clients++;
    if (helloVerify) verified++;
    for (const list of sequences['a-to-b'].values()) toServer.add(list);
    for (const list of sequences['b-to-a'].values()) toClient.add(list);
  }
  const view = (t: DirectionTally): DtlsDirectionOrder => ({ records: t.records, outOfOrder: t.outOfOrder, missing: t.missing });
  return { clientFlows: clients, sessionsWithApplicationData: sessions, helloVerifyRequests: verified, clientToServer: view(toServer), serverToClient: view(toClient) };
}
