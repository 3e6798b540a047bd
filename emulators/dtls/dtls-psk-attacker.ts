/**
 * An on-path attacker that breaks the DTLS layer because it holds the DTLS pre-shared key
 * (RFC 4279: whoever has the PSK can be either end). It terminates the wearable's DTLS, reads
 * every datagram, applies its malice (gateway-malice.ts) to the E3 packets, and re-encrypts them
 * towards the cloud's DTLS endpoint with the same PSK; the cloud's acks travel back the same way.
 *
 * What E3 must guarantee (source chapter §17.6): the attacker holds only 96-byte ciphertext, and
 * every change it makes is caught by the cloud's audit.
 */
import { ObservationLog } from '../observation-log.ts';
import type { GatewayMalice } from '../gateway-malice.ts';
import { E3_PSEUDONYM_BYTES } from '../../crypto/e3-packet.ts';
import { e3Topic } from '../wearable.ts';
import { DtlsBridgeProcess, type UdpAddress } from './dtls-bridge-process.ts';
import { decodeReadingDatagram, encodeReadingDatagram } from './reading-datagram.ts';
import { runMalice } from './malice-chain.ts';

export type DtlsAttackerObservationKind = 'listening' | 'device-dtls' | 'upstream-dtls' | 'dtls-error' | 'datagram' | 'malice' | 'closed';

export interface DtlsPskAttackerConfig {
  readonly listen: UdpAddress;
  /** The genuine DTLS endpoint it impersonates the device to. */
  readonly upstream: UdpAddress;
  readonly pskHex: string;
  readonly pskIdentityHint?: string;
  readonly malice?: readonly GatewayMalice[];
  readonly handshakeTimeoutMs?: number;
}

interface Upstream {
  bridge: Promise<DtlsBridgeProcess>;
}

export class DtlsPskAttacker {
  readonly log = new ObservationLog<DtlsAttackerObservationKind>('on-path-attacker');
  readonly #config: DtlsPskAttackerConfig;
  readonly #upstreams = new Map<number, Upstream>();
  #server: DtlsBridgeProcess | undefined;
  #readings = 0;

  constructor(config: DtlsPskAttackerConfig) {
    this.#config = config;
  }

  async start(): Promise<UdpAddress> {
    const c = this.#config;
    const server = await DtlsBridgeProcess.start(
      { mode: 'server', listen: c.listen, pskHex: c.pskHex, ciphers: ['PSK-AES128-GCM-SHA256'], handshakeTimeoutMs: c.handshakeTimeoutMs ?? 15_000, ...(c.pskIdentityHint ? { pskIdentityHint: c.pskIdentityHint } : {}) },
      { name: 'on-path-attacker/device-side' },
    );
    this.#server = server;
    server.onEvent((o) => {
      if (o.kind === 'handshake') this.log.record('device-dtls', `broke into the device's DTLS with the PSK: peer ${String(o.detail.peerId)} (identity ${String(o.detail.pskIdentity)})`, { ...o.detail });
      if (o.kind === 'handshake-failed') this.log.record('dtls-error', `device handshake failed: ${String(o.detail.reason)}`, { ...o.detail });
    });
    server.onDatagram((payload, peerId) => void this.#fromDevice(payload, peerId));
    this.log.record('listening', `attacker on ${server.dtlsAddress.host}:${server.dtlsAddress.port}, re-encrypting to ${c.upstream.host}:${c.upstream.port}`, { ...server.dtlsAddress });
    return server.dtlsAddress;
  }

  #upstreamFor(peerId: number, identity: string): Promise<DtlsBridgeProcess> {
    let up = this.#upstreams.get(peerId);
    if (!up) {
      const c = this.#config;
      const bridge = DtlsBridgeProcess.start(
        { mode: 'client', connect: c.upstream, pskHex: c.pskHex, pskIdentity: identity, ciphers: ['PSK-AES128-GCM-SHA256'], handshakeTimeoutMs: c.handshakeTimeoutMs ?? 15_000 },
        { name: `on-path-attacker/upstream-${peerId}` },
      ).then(async (b) => {
        b.onDatagram((payload) => {
          this.log.record('datagram', `cloud→device ${payload.length} bytes in the clear`, { peerId, direction: 'cloud-to-device' }, payload);
          this.#server?.send(payload, peerId);
        });
        const outcome = await b.handshakeOutcome((c.handshakeTimeoutMs ?? 15_000) + 2_000);
        this.log.record(outcome.ok ? 'upstream-dtls' : 'dtls-error', `upstream DTLS as "${identity}": ${outcome.ok ? 'established' : String(outcome.event.reason)}`, { ...outcome.event });
        return b;
      });
      up = { bridge };
      this.#upstreams.set(peerId, up);
    }
    return up.bridge;
  }

  async #fromDevice(datagram: Uint8Array, peerId: number): Promise<void> {
    this.log.record('datagram', `device→cloud ${datagram.length} bytes in the clear`, { peerId, direction: 'device-to-cloud' }, datagram);
    const identity = String(this.#server?.log.all().find((o) => o.kind === 'handshake' && o.detail.peerId === peerId)?.detail.pskIdentity ?? 'device');
    const upstream = await this.#upstreamFor(peerId, identity).catch((err: Error) => {
      this.log.record('dtls-error', `cannot reach the cloud: ${err.message}`, { message: err.message });
      return undefined;
    });
    if (!upstream) return;
    const decoded = decodeReadingDatagram(datagram);
    if (decoded instanceof Error || decoded.type !== 'reading') {
      upstream.send(datagram);
      return;
    }
    const topic = e3Topic(Buffer.from(decoded.packet.subarray(0, E3_PSEUDONYM_BYTES)).toString('hex'));
    const { verdict, injected } = runMalice(this.#config.malice ?? [], ++this.#readings, topic, decoded.packet, (summary, detail) => this.log.record('malice', summary, detail));
    if (verdict.action === 'forward') upstream.send(encodeReadingDatagram(verdict.payload));
    for (const copy of injected) {
      upstream.send(encodeReadingDatagram(copy));
      this.log.record('malice', `injected a copy towards the cloud`, { action: 'inject' }, copy);
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const ups = [...this.#upstreams.values()];
    this.#upstreams.clear();
    await Promise.allSettled(ups.map(async (u) => (await u.bridge).stop()));
    if (server) await server.stop();
    this.log.record('closed', 'attacker stopped');
  }
}
