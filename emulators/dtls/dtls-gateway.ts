/**
 * Gateway mode `dtls-terminate` (docs/architecture.md §2 The modelled system, §3): the patient's home router terminates the
 * wearable's DTLS 1.2 (E2 link) with its own certificate through a dtls-bridge server, reads each
 * datagram in the clear, applies its malice, and forwards the inner E3 packet upstream as an MQTT
 * PUBLISH over its own mutual-TLS session (E4). The cloud's acknowledgements come back on
 * `cloud/acks/<pseudonym>` and go to the DTLS peer that sent that pseudonym.
 *
 * This is the headline case of the source chapter (§17.6: "If DTLS is stripped (MITM), E3
 * payload remains encrypted"): the gateway records every byte it could read, and scenarios
 * search those records for readings and identities.
 */
import mqtt from 'mqtt';
import type { TLSSocket } from 'node:tls';
import { ObservationLog } from '../observation-log.ts';
import { connectTls } from '../tls-connect.ts';
import { tlsClientOptions, secureProfile } from '../tls-client-profile.ts';
import { noEvidence, type EvidenceSink } from '../evidence.ts';
import type { GatewayMalice } from '../gateway-malice.ts';
import { e3Topic } from '../wearable.ts';
import { E3_PSEUDONYM_BYTES } from '../../crypto/e3-packet.ts';
import { DtlsBridgeProcess, type UdpAddress } from './dtls-bridge-process.ts';
import { decodeReadingDatagram } from './reading-datagram.ts';
import { ACK_TOPIC_FILTER } from './cloud-acks.ts';
import { runMalice } from './malice-chain.ts';

export type DtlsGatewayObservationKind = 'listening' | 'device-dtls' | 'dtls-error' | 'datagram' | 'datagram-refused' | 'upstream-tls' | 'mqtt-packet' | 'ack-forwarded' | 'malice' | 'closed'
  /** DTLS 1.3 with a Connection ID (RFC 9146 §6): a device's records now come from a new address. */
  | 'device-address-changed';

export interface DtlsGatewayConfig {
  readonly name?: string;
  readonly listen: UdpAddress;
  /** The cloud broker (MQTT over TLS), usually through a link. */
  readonly upstream: { readonly host: string; readonly port: number; readonly serverName: string };
  readonly certChainFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  /**
   * Devices authenticate with this pre-shared key (RFC 4279) instead of certificates: the cloud's
   * PSK DTLS endpoint in front of an MQTT broker (the containers placement). The cert files are
   * then not used on the DTLS side.
   */
  readonly devicePskHex?: string;
  readonly malice?: readonly GatewayMalice[];
  readonly evidence?: EvidenceSink;
  readonly keyLogFile?: string;
  readonly handshakeTimeoutMs?: number;
  readonly timeoutMs?: number;
}

export class DtlsGateway {
  readonly log: ObservationLog<DtlsGatewayObservationKind>;
  readonly #config: DtlsGatewayConfig;
  readonly #peerOf = new Map<string, number>();
  #bridge: DtlsBridgeProcess | undefined;
  #client: mqtt.MqttClient | undefined;
  #readings = 0;

  constructor(config: DtlsGatewayConfig) {
    this.#config = config;
    this.log = new ObservationLog(config.name ?? 'gateway');
  }

  /** The bridge's own event log (handshakes, alerts), for scenarios about the DTLS layer. */
  get bridgeLog(): ObservationLog | undefined {
    return this.#bridge?.log;
  }

  async start(): Promise<UdpAddress> {
    await this.#connectUpstream();
    const c = this.#config;
    const bridge = await DtlsBridgeProcess.start(
      {
        mode: 'server',
        listen: c.listen,
        ...(c.devicePskHex
          ? { pskHex: c.devicePskHex, ciphers: ['PSK-AES128-GCM-SHA256'] }
          : { certFile: c.certChainFile, keyFile: c.keyFile, caFile: c.caFile, clientAuth: 'require' as const, ciphers: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'] }),
        sessionStore: true,
        handshakeTimeoutMs: c.handshakeTimeoutMs ?? 15_000,
        ...(c.keyLogFile ? { keyLogFile: c.keyLogFile } : {}),
      },
      { name: `${this.log.role}/dtls` },
    );
    this.#bridge = bridge;
    bridge.onEvent((o) => {
      if (o.kind === 'handshake') {
        const cert = o.detail.peerCertificate as { subjectCN?: string } | undefined;
        this.log.record('device-dtls', `device ${String(cert?.subjectCN ?? o.detail.pskIdentity)} (peer ${String(o.detail.peerId)}) connected with ${String(o.detail.version)} ${String(o.detail.cipherSuite)}`, { ...o.detail });
      } else if (o.kind === 'handshake-failed') {
        this.log.record('dtls-error', `device DTLS refused: ${String(o.detail.reason)}`, { ...o.detail });
      } else if (o.kind === 'peer-address-changed') {
        this.log.record('device-address-changed', `device peer ${String(o.detail.peerId)} moved from ${String(o.detail.from)} to ${String(o.detail.to)} (same Connection ID, no new handshake)`, { ...o.detail });
      }
    });
    bridge.onDatagram((payload, peerId) => this.#fromDevice(payload, peerId));
    this.log.record('listening', `DTLS-terminating gateway on ${bridge.dtlsAddress.host}:${bridge.dtlsAddress.port} → ${c.upstream.host}:${c.upstream.port}`, { ...bridge.dtlsAddress, mode: 'dtls-terminate' });
    return bridge.dtlsAddress;
  }

  async #connectUpstream(): Promise<void> {
    const { upstream, evidence = noEvidence, timeoutMs = 10_000 } = this.#config;
    const options = tlsClientOptions(secureProfile, { ca: this.#config.caPem, certChain: this.#config.certChainPem, key: this.#config.keyPem, serverName: upstream.serverName });
    const client = new mqtt.MqttClient(
      (): TLSSocket => {
        const socket = connectTls(upstream.host, upstream.port, options);
        evidence.tlsEndpoint(this.log.role, socket);
        socket.once('secureConnect', () => this.log.record('upstream-tls', `upstream ${socket.getProtocol()} ${socket.getCipher().standardName} to ${upstream.serverName}`, { protocol: socket.getProtocol() }));
        return socket;
      },
      { protocolVersion: 4, clientId: `${this.log.role}-dtls-uplink`, clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs, keepalive: 60 },
    );
    this.#client = client;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dtls-gateway: no CONNACK from the cloud broker ${upstream.host}:${upstream.port} within ${timeoutMs} ms`)), timeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`dtls-gateway: upstream MQTT/TLS to ${upstream.serverName} failed: ${err.message}`));
      });
    });
    client.on('message', (topic, payload) => this.#fromCloud(topic, payload));
    await client.subscribeAsync(ACK_TOPIC_FILTER, { qos: 0 });
  }

  #fromDevice(datagram: Uint8Array, peerId: number): void {
    this.log.record('datagram', `device peer ${peerId}: ${datagram.length}-byte datagram in the clear after DTLS`, { peerId, direction: 'device-to-cloud' }, datagram);
    const decoded = decodeReadingDatagram(datagram);
    if (decoded instanceof Error || decoded.type !== 'reading') {
      this.log.record('datagram-refused', `not forwarded: ${decoded instanceof Error ? decoded.message : 'an ack from a device'}`, { peerId });
      return;
    }
    // The pseudonym is clear AAD (docs/architecture.md §4 The E3 packet): enough to route acks, not to read anything.
    const pseudonymHex = Buffer.from(decoded.packet.subarray(0, E3_PSEUDONYM_BYTES)).toString('hex');
    this.#peerOf.set(pseudonymHex, peerId);
    const topic = e3Topic(pseudonymHex);
    const index = ++this.#readings;
    const { verdict, injected } = runMalice(this.#config.malice ?? [], index, topic, decoded.packet, (summary, detail) => this.log.record('malice', summary, detail));
    if (verdict.action === 'forward') this.#publish(topic, verdict.payload, 1);
    for (const copy of injected) {
      this.#publish(topic, copy, 0);
      this.log.record('malice', `injected a copy on ${topic}`, { action: 'inject', topic }, copy);
    }
  }

  #publish(topic: string, payload: Uint8Array, qos: 0 | 1): void {
    this.log.record('mqtt-packet', `device-to-cloud PUBLISH ${topic} (${payload.length} bytes)`, { direction: 'device-to-cloud', cmd: 'publish', topic, qos }, payload);
    this.#client?.publish(topic, Buffer.from(payload), { qos });
  }

  #fromCloud(topic: string, payload: Buffer): void {
    const pseudonymHex = topic.split('/')[2] ?? '';
    const peerId = this.#peerOf.get(pseudonymHex);
    if (peerId === undefined || !this.#bridge) return;
    this.#bridge.send(payload, peerId);
    this.log.record('ack-forwarded', `cloud ack on ${topic} to device peer ${peerId}`, { peerId, pseudonymHex, direction: 'cloud-to-device' }, payload);
  }

  async stop(): Promise<void> {
    const bridge = this.#bridge;
    const client = this.#client;
    this.#bridge = undefined;
    this.#client = undefined;
    if (bridge) await bridge.stop();
    if (client) await client.endAsync(false).catch(() => client.end(true));
    this.log.record('closed', 'gateway stopped');
  }
}
