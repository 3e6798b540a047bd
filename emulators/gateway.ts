/**
 * Gateway role: the patient's home router of the source chapter's worked example (§17.6), which
 * the provider does not control. Two modes:
 * - `relay`: a transparent TCP relay; the device's TLS runs end to end to the cloud.
 * - `terminate`: accepts the device's TLS with the gateway's own certificate, reads the MQTT
 *   stream in the clear, applies its malice, and re-wraps it upstream in its own mutual TLS
 *   session (E4). This is the gateway E3 exists for: it holds every byte and no key.
 *
 * It records everything it could read; scenarios search those records for leaks.
 */
import { createServer as createTcpServer, connect as tcpConnect, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { connectTls } from './tls-connect.ts';
import mqttPacket from 'mqtt-packet';
import { ObservationLog } from './observation-log.ts';
import { noEvidence, type EvidenceSink } from './evidence.ts';
import type { GatewayMalice, InterceptedPublish, MaliceContext } from './gateway-malice.ts';
import { deliverThroughMalice } from './command-malice.ts';
import { tlsClientOptions, type TlsClientProfile } from './tls-client-profile.ts';
import type { TlsSessionCache } from './tls-session-cache.ts';
import { stopListener } from '../links/stop-listener.ts';

/** Bytes of each direction of a relayed connection the relay keeps in its records. */
export const RELAY_KEEP_BYTES = 64 * 1024;

export type GatewayObservationKind = 'listening' | 'device-tls' | 'upstream-tls' | 'tls-error' | 'raw-bytes' | 'mqtt-packet' | 'malice' | 'closed';

interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
}

export interface GatewayConfig {
  readonly name?: string;
  readonly mode: 'relay' | 'terminate';
  readonly listen: { readonly host: string; readonly port: number };
  readonly upstream: Upstream;
  readonly malice?: readonly GatewayMalice[];
  /** terminate mode: the gateway's own identity, and the CA it trusts for devices and the cloud. */
  readonly certChainPem?: string;
  readonly keyPem?: string;
  readonly caPem?: string;
  readonly upstreamProfile?: TlsClientProfile;
  /** terminate mode: keep the upstream TLS sessions so re-wrapping resumes instead of a full handshake. */
  readonly upstreamSessions?: TlsSessionCache;
  readonly evidence?: EvidenceSink;
}

export class Gateway {
  readonly log: ObservationLog<GatewayObservationKind>;
  readonly #config: GatewayConfig;
  readonly #sockets = new Set<Socket>();
  #server: NetServer | TlsServer | undefined;
  #publishCount = 0;
  #relayCount = 0;

  constructor(config: GatewayConfig) {
    if (config.mode === 'terminate' && !(config.certChainPem && config.keyPem && config.caPem && config.upstreamProfile)) {
      throw new Error('gateway: terminate mode needs certChainPem, keyPem, caPem and upstreamProfile (the gateway re-wraps the stream in its own TLS)');
    }
    if (config.mode === 'relay' && config.malice?.some((m) => m.onPublish)) {
      throw new Error(`gateway: malice ${config.malice.map((m) => m.name).join(', ')} needs the plaintext MQTT stream; use mode "terminate" (a relay sees only TLS records)`);
    }
    this.#config = config;
    this.log = new ObservationLog(config.name ?? 'gateway');
  }

  async start(): Promise<{ host: string; port: number }> {
    const { listen, mode, evidence = noEvidence } = this.#config;
    const server =
      mode === 'relay'
        ? createTcpServer({ noDelay: true }, (s) => this.#relay(s))
        : createTlsServer(
            {
              cert: this.#config.certChainPem,
              key: this.#config.keyPem,
              ca: this.#config.caPem,
              requestCert: true,
              rejectUnauthorized: true,
              noDelay: true,
              // A malice may narrow what the device is offered (gateway-malice.ts downgrade).
              ...this.#config.malice?.find((m) => m.deviceTlsOffer)?.deviceTlsOffer,
            },
            (s) => this.#terminate(s),
          );
    if (mode === 'terminate') {
      evidence.tlsEndpoint(this.log.role, server as TlsServer);
      server.on('tlsClientError', (err: Error) => this.log.record('tls-error', `device TLS refused: ${err.message}`, { side: 'device', message: err.message }));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`gateway: cannot listen on ${listen.host}:${listen.port} (${err.code ?? err.message}); choose a free port`)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    this.#server = server;
    const a = server.address() as AddressInfo;
    this.log.record('listening', `${mode} gateway on ${a.address}:${a.port} → ${this.#config.upstream.host}:${this.#config.upstream.port}`, { host: a.address, port: a.port, mode });
    return { host: a.address, port: a.port };
  }

  /**
   * Transparent relay: it sees TLS records only, and records them, numbered per connection, so
   * a scenario can read each direction of each connection as the byte stream the relay held. To
   * bound memory it keeps the first RELAY_KEEP_BYTES of each direction (where MQTT in clear would
   * show first: CONNECT opens an MQTT stream) and says in the last kept record that it stopped.
   */
  #relay(device: Socket): void {
    const { upstream } = this.#config;
    const connection = ++this.#relayCount;
    const cloud = tcpConnect({ host: upstream.host, port: upstream.port, noDelay: true });
    this.#track(device, cloud);
    const keep = (direction: 'device-to-cloud' | 'cloud-to-device') => {
      let kept = 0;
      return (b: Buffer) => {
        if (kept >= RELAY_KEEP_BYTES) return;
        const chunk = b.subarray(0, RELAY_KEEP_BYTES - kept);
        kept += chunk.length;
        const full = kept >= RELAY_KEEP_BYTES ? `; kept ${RELAY_KEEP_BYTES} bytes of this direction, the rest is relayed unrecorded` : '';
        this.log.record('raw-bytes', `${chunk.length} bytes ${direction === 'device-to-cloud' ? 'device→cloud' : 'cloud→device'} (connection ${connection}${full})`, { direction, connection }, Buffer.from(chunk));
      };
    };
    const fromDevice = keep('device-to-cloud');
    const fromCloud = keep('cloud-to-device');
    device.on('data', (b: Buffer) => {
      fromDevice(b);
      cloud.write(b);
    });
    cloud.on('data', (b: Buffer) => {
      fromCloud(b);
      device.write(b);
    });
  }

  /** TLS-terminating forwarder: device TLS in, plaintext MQTT in the middle, gateway TLS out. */
  #terminate(device: TLSSocket): void {
    const { upstream, evidence = noEvidence } = this.#config;
    const deviceCn = device.getPeerCertificate()?.subject?.CN;
    this.log.record('device-tls', `device ${String(deviceCn)} connected with ${device.getProtocol()} ${device.getCipher().standardName}`, { device: deviceCn, protocol: device.getProtocol() });
    const cloud = connectTls(
      upstream.host,
      upstream.port,
      {
        ...tlsClientOptions(this.#config.upstreamProfile as TlsClientProfile, {
          ca: this.#config.caPem as string,
          certChain: this.#config.certChainPem,
          key: this.#config.keyPem,
          serverName: upstream.serverName,
        }),
        ...this.#config.upstreamSessions?.offerFor(upstream.serverName),
      },
    );
    this.#config.upstreamSessions?.keepFrom(upstream.serverName, cloud);
    evidence.tlsEndpoint(this.log.role, cloud);
    this.#track(device, cloud);
    cloud.once('secureConnect', () =>
      this.log.record('upstream-tls', `upstream ${cloud.getProtocol()} ${cloud.getCipher().standardName} to ${upstream.serverName}`, { protocol: cloud.getProtocol(), cipher: cloud.getCipher().standardName }),
    );

    // Until the upstream handshake is done, device bytes wait here (nothing accepted is lost).
    const toCloud = (bytes: Buffer) => cloud.write(bytes);
    const fromDevice = mqttPacket.parser({ protocolVersion: 4 });
    const fromCloud = mqttPacket.parser({ protocolVersion: 4 });
    // Injected copies follow the packet being handled, as a replay on the wire would.
    const injections: { topic: string; payload: Uint8Array }[] = [];
    const flushInjections = () => {
      for (const { topic, payload } of injections.splice(0)) {
        // QoS 0: the cloud's PUBACK for a copy must not confuse the device's MQTT session.
        toCloud(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }));
        this.log.record('malice', `injected a copy on ${topic}`, { action: 'inject', topic }, payload);
      }
    };
    // Held readings (malice `delay`) leave on their own timer; a closed connection cancels them.
    const timers = new Set<NodeJS.Timeout>();
    device.once('close', () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    });
    const ctx: MaliceContext = {
      inject: (topic, payload) => injections.push({ topic, payload: Uint8Array.from(payload) }),
      injectAfter: (wallMs, topic, payload) => {
        const copy = Uint8Array.from(payload);
        const t = setTimeout(() => {
          timers.delete(t);
          injections.push({ topic, payload: copy });
          flushInjections();
        }, wallMs);
        timers.add(t);
      },
      note: (summary, detail) => this.log.record('malice', summary, detail),
    };
    fromDevice.on('packet', (packet: mqttPacket.Packet) => {
      if (packet.cmd !== 'publish') {
        this.#recordPacket('device-to-cloud', packet);
        toCloud(mqttPacket.generate(packet));
        return;
      }
      const intercepted: InterceptedPublish = { index: ++this.#publishCount, topic: packet.topic, payload: Uint8Array.from(packet.payload as Buffer) };
      this.#recordPacket('device-to-cloud', packet, intercepted.payload);
      let verdict: ReturnType<NonNullable<GatewayMalice['onPublish']>> = { action: 'forward', payload: intercepted.payload };
      for (const malice of this.#config.malice ?? []) {
        if (verdict.action === 'drop' || !malice.onPublish) continue;
        verdict = malice.onPublish({ ...intercepted, payload: verdict.payload }, ctx);
      }
      if (verdict.action === 'drop') {
        // Hide the drop: acknowledge to the device as the broker would (MQTT 3.1.1 §3.4).
        if (packet.qos > 0 && packet.messageId !== undefined) device.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId }));
        flushInjections();
        return;
      }
      toCloud(mqttPacket.generate({ ...packet, payload: Buffer.from(verdict.payload) }));
      flushInjections();
    });
    let commandsSeen = 0;
    fromCloud.on('packet', (packet: mqttPacket.Packet) => {
      this.#recordPacket('cloud-to-device', packet);
      // Downstream malices (command-malice.ts) act on what the cloud sends the device.
      if (packet.cmd === 'publish' && deliverThroughMalice(this.#config.malice ?? [], packet, device, ctx.note, ++commandsSeen)) return;
      device.write(mqttPacket.generate(packet));
    });
    const malformed = (side: string) => (err: Error) => {
      this.log.record('tls-error', `malformed MQTT from ${side}: ${err.message}; closing that connection`, { side, message: err.message });
      device.destroy();
      cloud.destroy();
    };
    fromDevice.on('error', malformed('device'));
    fromCloud.on('error', malformed('cloud'));
    device.on('data', (b: Buffer) => fromDevice.parse(b));
    cloud.on('data', (b: Buffer) => fromCloud.parse(b));
    cloud.on('error', (err) => this.log.record('tls-error', `upstream TLS failed: ${err.message}`, { side: 'cloud', message: err.message }));
  }

  #recordPacket(direction: 'device-to-cloud' | 'cloud-to-device', packet: mqttPacket.Packet, payload?: Uint8Array): void {
    const topic = packet.cmd === 'publish' ? packet.topic : undefined;
    const clientId = packet.cmd === 'connect' ? packet.clientId : undefined;
    this.log.record(
      'mqtt-packet',
      `${direction} ${packet.cmd.toUpperCase()}${topic ? ` ${topic}` : ''}${payload ? ` (${payload.length} bytes)` : ''}`,
      { direction, cmd: packet.cmd, topic, clientId, messageId: (packet as { messageId?: number }).messageId },
      payload ?? mqttPacket.generate(packet),
    );
  }

  #track(a: Socket, b: Socket): void {
    this.#sockets.add(a).add(b);
    let done = false;
    const close = (why: string) => {
      if (done) return;
      done = true;
      this.log.record('closed', `connection closed (${why})`);
      a.destroy();
      b.destroy();
      this.#sockets.delete(a);
      this.#sockets.delete(b);
    };
    a.on('close', () => close('device side'));
    b.on('close', () => close('cloud side'));
    a.on('error', (e) => close(`device side: ${e.message}`));
    b.on('error', (e) => close(`cloud side: ${e.message}`));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await stopListener(server, this.#sockets);
  }
}
