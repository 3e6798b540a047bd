/**
 * The cloud's DTLS 1.2 endpoint (docs/architecture.md §3 Roles, §5): a dtls-bridge server in front of the cloud
 * service. Every reading datagram goes to the service's E3 ingest (the audit decides), and the
 * sequence numbers the cloud holds as accepted are acknowledged on the same DTLS connection
 * (cloud-acks.ts). Anything else a peer sends is recorded and refused, never ingested.
 */
import { ObservationLog } from '../observation-log.ts';
import type { AuditEntry } from '../cloud/cloud-service.ts';
import { e3Topic } from '../wearable.ts';
import { DtlsBridgeProcess, type DtlsServerOptions, type UdpAddress } from './dtls-bridge-process.ts';
import { decodeReadingDatagram, encodeAckDatagram } from './reading-datagram.ts';
import { ackFor } from './cloud-acks.ts';

export type DtlsCloudObservationKind = 'listening' | 'peer-dtls' | 'dtls-error' | 'datagram' | 'datagram-refused' | 'ack-sent';

export interface DtlsCloudEndpointConfig {
  /** Bridge options except mode and addresses (certificate, client auth, PSK, key log …). */
  readonly dtls: Omit<DtlsServerOptions, 'mode' | 'listen'>;
  readonly listen: UdpAddress;
  /** The cloud service's ingest (CloudService.ingest). */
  readonly ingest: (payload: Uint8Array, meta: { topic: string; deliveredBy: string }) => AuditEntry;
  readonly wasAccepted: (deviceId: string, sequence: bigint) => boolean;
}

export class DtlsCloudEndpoint {
  readonly log = new ObservationLog<DtlsCloudObservationKind>('cloud-dtls');
  readonly #config: DtlsCloudEndpointConfig;
  readonly #identity = new Map<number, string>();
  #bridge: DtlsBridgeProcess | undefined;

  constructor(config: DtlsCloudEndpointConfig) {
    this.#config = config;
  }

  get bridgeLog(): ObservationLog | undefined {
    return this.#bridge?.log;
  }

  async start(): Promise<UdpAddress> {
    const bridge = await DtlsBridgeProcess.start({ ...this.#config.dtls, mode: 'server', listen: this.#config.listen }, { name: 'cloud-dtls/bridge' });
    this.#bridge = bridge;
    bridge.onEvent((o) => {
      if (o.kind === 'handshake') {
        const cert = o.detail.peerCertificate as { subjectCN?: string } | undefined;
        const who = cert?.subjectCN ?? (o.detail.pskIdentity ? `PSK identity ${String(o.detail.pskIdentity)}` : 'an anonymous peer');
        this.#identity.set(Number(o.detail.peerId), who);
        this.log.record('peer-dtls', `DTLS peer ${String(o.detail.peerId)} (${who}): ${String(o.detail.version)} ${String(o.detail.cipherSuite)}`, { ...o.detail, identity: who });
      } else if (o.kind === 'handshake-failed') {
        this.log.record('dtls-error', `DTLS handshake refused: ${String(o.detail.reason)}`, { ...o.detail });
      }
    });
    bridge.onDatagram((payload, peerId) => this.#received(payload, peerId));
    this.log.record('listening', `cloud DTLS endpoint on ${bridge.dtlsAddress.host}:${bridge.dtlsAddress.port}`, { ...bridge.dtlsAddress });
    return bridge.dtlsAddress;
  }

  #received(datagram: Uint8Array, peerId: number): void {
    const deliveredBy = `DTLS peer ${peerId} (${this.#identity.get(peerId) ?? 'unknown'})`;
    this.log.record('datagram', `${datagram.length}-byte datagram from ${deliveredBy}`, { peerId, deliveredBy }, datagram);
    const decoded = decodeReadingDatagram(datagram);
    if (decoded instanceof Error || decoded.type !== 'reading') {
      this.log.record('datagram-refused', `refused from ${deliveredBy}: ${decoded instanceof Error ? decoded.message : 'devices do not send acks'}`, { peerId, deliveredBy });
      return;
    }
    const pseudonymHex = Buffer.from(decoded.packet.subarray(0, 16)).toString('hex');
    const entry = this.#config.ingest(decoded.packet, { topic: `dtls:${e3Topic(pseudonymHex)}`, deliveredBy });
    const ack = ackFor(entry, this.#config.wasAccepted);
    if (!ack || !this.#bridge) return;
    this.#bridge.send(encodeAckDatagram(ack.pseudonymHex, [ack.sequence]), peerId);
    this.log.record('ack-sent', `acknowledged #${ack.sequence}${ack.duplicate ? ' (again: a duplicate)' : ''} to ${deliveredBy}`, { peerId, sequence: ack.sequence, duplicate: ack.duplicate });
  }

  async stop(): Promise<void> {
    const bridge = this.#bridge;
    this.#bridge = undefined;
    if (bridge) await bridge.stop();
  }
}
