/**
 * Cloud broker for the embedded topology: Aedes (MQTT 3.1.1) on a node:tls server that requires
 * a client certificate from our CA (mutual TLS, source chapter §17.3.1 and §17.7 "mTLS").
 *
 * Authorisation follows the certificate, not the MQTT client id: a wearable may publish only to
 * its own E3 topic; a gateway (OU=gateway) forwards for any wearable. The cloud service is
 * wired as an in-process subscriber; in containers the same service subscribes to Mosquitto.
 */
import { createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import type { TlsServerSessionStore } from '../tls-session-cache.ts';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Aedes } from 'aedes';
import { ObservationLog } from '../observation-log.ts';
import { noEvidence, type EvidenceSink } from '../evidence.ts';
import { peerIdentity, type PeerIdentity } from './tls-identity.ts';
import { rememberTlsPeers } from '../tls-peer-address.ts';
import { ACK_TOPIC_FILTER } from '../dtls/cloud-acks.ts';
import { RESPONSE_TOPIC_FILTER } from '../commands/command-topics.ts';
import { CLOUD_SERVICE_CN } from '../../certs/genuine-profiles.ts';

export type BrokerObservationKind = 'listening' | 'tls-handshake' | 'tls-error' | 'mqtt-connect' | 'publish' | 'publish-refused' | 'client-disconnect' | 'subscribe-refused' | 'crl-reload' | 'revoked-session-closed' | 'deliver';

export interface CloudBrokerConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly serverCertChainPem: string;
  readonly serverKeyPem: string;
  /** Client certificates must chain to this CA (mTLS). */
  readonly clientCaPem: string;
  /** Which E3 topic a wearable identity may publish to. */
  readonly ownTopicOf: (deviceId: string) => string | undefined;
  readonly evidence?: EvidenceSink;
  /** Broker-side TLS policy; TLS 1.2 stays allowed unless a policy says otherwise (§17.3.1: "TLS 1.3 (or TLS 1.2 minimum)"). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Extra node:tls server options for the handshake experiments (curves, Nagle, tickets off). */
  readonly tlsServerOptions?: TlsOptions;
  /** Serve TLS 1.2 session IDs from this store (Node keeps none by itself). */
  readonly sessionIds?: TlsServerSessionStore;
  /**
   * Also listen for MQTT in clear (port 1883 in the field) on this port; undefined = no plain
   * listener. Only the plaintext pitfall scenario opens it; clients then authenticate with
   * username and password, which cross the network in clear (source chapter §17.5).
   */
  readonly plainPort?: number;
  /** The provisioned MQTT password of a device, for password authentication. */
  readonly passwordOf?: (deviceId: string) => string | undefined;
  /**
   * The hard-coded-credentials pitfall (source chapter §17.5): one username and password that
   * every device of a fleet has compiled into its firmware. The broker cannot tell the devices
   * apart, so the account may publish to every device's E3 topic (what such a fleet's broker has
   * to allow; ISVS 4.2.3 and 4.2.7 say why not to build one).
   */
  readonly fleetAccount?: { readonly username: string; readonly password: string };
  /** Also listen for MQTT over TLS without a client certificate (username and password only) on this port. */
  readonly passwordTlsPort?: number;
  /**
   * Topics a run's features add to the roles' grants, as Mosquitto's ACL adds them only for a run
   * that has the feature (containers/cloud-broker-container.ts withDeviceCommandsIf, withDtlsAcks):
   * `deviceCommands` each wearable its own command and response topics, the gateway any device's,
   * the cloud service the responses (issue 13); `dtlsAcks` the gateway the cloud's
   * acknowledgements of DTLS readings. Off unless asked for: least privilege (source chapter §17.7).
   */
  readonly grants?: { readonly deviceCommands?: boolean; readonly dtlsAcks?: boolean };
}

export const E3_TOPIC_FILTER = 'wearables/+/e3';

export class CloudBroker {
  readonly log = new ObservationLog<BrokerObservationKind>('cloud-broker');
  readonly #config: CloudBrokerConfig;
  readonly #identities = new WeakMap<object, PeerIdentity>();
  readonly #socketIdentities = new WeakMap<TLSSocket, PeerIdentity | undefined>();
  /** MQTT client id → the certificate identity that connected with it (for the audit). */
  readonly #identityByClientId = new Map<string, string>();
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #plain: NetServer | undefined;
  #plainEndpoint: { host: string; port: number } | undefined;
  #passwordTls: Server | undefined;
  #passwordTlsEndpoint: { host: string; port: number } | undefined;
  /** Live mutual-TLS sessions, so a CRL reload can close those of revoked certificates (reloadCrl). */
  readonly #sessions = new Set<TLSSocket>();

  constructor(config: CloudBrokerConfig) {
    this.#config = config;
  }

  async start(): Promise<{ host: string; port: number }> {
    const aedes = await Aedes.createBroker({
      preConnect: (client, packet, done) => {
        // A TLS client without a certificate reaches only the password listener (the mTLS one refuses it in the handshake).
        const identity = ((client.conn as Partial<TLSSocket>).encrypted ? this.#peerIdentityOf(client.conn as TLSSocket) : undefined) ?? this.#passwordIdentity(packet);
        if (!identity) {
          this.log.record('mqtt-connect', `refused MQTT CONNECT from "${packet.clientId}": no verified client certificate`, { clientId: packet.clientId, accepted: false });
          return done(null, false);
        }
        this.#identities.set(client, identity);
        this.#identityByClientId.set(packet.clientId, `${identity.unit}/${identity.commonName}`);
        this.log.record('mqtt-connect', `MQTT CONNECT "${packet.clientId}" as ${identity.unit}/${identity.commonName}`, {
          clientId: packet.clientId,
          identity: identity.commonName,
          unit: identity.unit,
          username: packet.username,
          accepted: true,
        });
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const identity = client ? this.#identities.get(client) : undefined;
        const allowed = identity !== undefined && this.#mayPublish(identity, packet.topic);
        if (!allowed) {
          this.log.record('publish-refused', `refused PUBLISH to ${packet.topic} from ${identity?.commonName ?? 'unknown'}`, { topic: packet.topic, identity: identity?.commonName });
          return done(new Error(`not authorised to publish to ${packet.topic}`));
        }
        this.log.record('publish', `PUBLISH ${packet.topic} (${packet.payload.length} bytes) from ${identity.commonName}`, { topic: packet.topic, identity: identity.commonName, dup: packet.dup }, Buffer.from(packet.payload));
        done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const identity = this.#identities.get(client);
        if (identity && this.#maySubscribe(identity, sub.topic)) return done(null, sub);
        // The broker's own record of the refusal (Aedes then closes the connection, sending no SUBACK).
        this.log.record('subscribe-refused', `refused SUBSCRIBE to ${sub.topic} from ${identity?.commonName ?? 'unknown'}`, { topic: sub.topic, identity: identity?.commonName, clientId: client.id });
        done(new Error(`not authorised to subscribe to ${sub.topic}`), null);
      },
    });
    aedes.on('clientDisconnect', (client) => this.log.record('client-disconnect', `client "${client.id}" disconnected`, { clientId: client.id }));
    // A QoS 1 message the broker delivered to an MQTT subscriber and had acknowledged (PUBACK),
    // as Mosquitto's log has "Sending PUBLISH to <client>": what a broker passed on, per client.
    aedes.on('ack', (packet, client) => {
      if (packet && 'topic' in packet) this.log.record('deliver', `delivered ${packet.topic} to "${client.id}" (PUBACK)`, { clientId: client.id, topic: packet.topic, dup: false });
    });
    this.#aedes = aedes;

    const { evidence = noEvidence } = this.#config;
    const server = createServer(
      {
        cert: this.#config.serverCertChainPem,
        key: this.#config.serverKeyPem,
        ca: this.#config.clientCaPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: this.#config.minVersion ?? 'TLSv1.2',
        noDelay: true,
        ...this.#config.tlsServerOptions,
      },
      (socket) => aedes.handle(socket),
    );
    evidence.tlsEndpoint('cloud-broker', server);
    this.#config.sessionIds?.attachTo(server);
    const peerOf = rememberTlsPeers(server);
    server.on('secureConnection', (socket: TLSSocket) => {
      this.#sessions.add(socket);
      socket.once('close', () => this.#sessions.delete(socket));
      const id = this.#peerIdentityOf(socket);
      this.log.record('tls-handshake', `TLS ${socket.getProtocol()} ${socket.getCipher().standardName} with ${id ? `${id.unit}/${id.commonName}` : 'an unauthenticated peer'}`, {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().standardName,
        peer: id?.commonName,
        unit: id?.unit,
        sessionReused: socket.isSessionReused(),
      });
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      // Node verifies the client chain itself after OpenSSL's handshake and then just drops the
      // socket ("socket hang up"); the verification verdict is on the socket.
      const verdict = (socket as TLSSocket & { authorizationError?: Error | string }).authorizationError;
      const why = verdict ? `${err.message} (client certificate: ${String(verdict instanceof Error ? (verdict as NodeJS.ErrnoException).code ?? verdict.message : verdict)})` : err.message;
      const peer = peerOf(socket);
      this.log.record('tls-error', `TLS handshake refused from ${peer}: ${why}`, { code: err.code, message: why, peer });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`cloud-broker: cannot listen on ${this.#config.host}:${this.#config.port} (${err.code ?? err.message}); choose a free port or stop what holds it`)),
      );
      server.listen(this.#config.port, this.#config.host, () => resolve());
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    this.log.record('listening', `MQTT over TLS on ${address.address}:${address.port}`, { host: address.address, port: address.port });
    if (this.#config.plainPort !== undefined) {
      const plain = createNetServer({ noDelay: true }, (socket) => aedes.handle(socket));
      await new Promise<void>((resolve, reject) => {
        plain.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cloud-broker: cannot listen for plain MQTT on ${this.#config.host}:${this.#config.plainPort} (${err.code ?? err.message})`)));
        plain.listen(this.#config.plainPort, this.#config.host, () => resolve());
      });
      this.#plain = plain;
      const p = plain.address() as AddressInfo;
      this.#plainEndpoint = { host: p.address, port: p.port };
      this.log.record('listening', `MQTT IN CLEAR on ${p.address}:${p.port}`, { host: p.address, port: p.port, plaintext: true });
    }
    if (this.#config.passwordTlsPort !== undefined) {
      const pw = createServer({ cert: this.#config.serverCertChainPem, key: this.#config.serverKeyPem, minVersion: this.#config.minVersion ?? 'TLSv1.2', noDelay: true }, (socket) => aedes.handle(socket));
      evidence.tlsEndpoint('cloud-broker', pw);
      await new Promise<void>((resolve, reject) => {
        pw.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cloud-broker: cannot listen for password MQTT/TLS on ${this.#config.host}:${this.#config.passwordTlsPort} (${err.code ?? err.message})`)));
        pw.listen(this.#config.passwordTlsPort, this.#config.host, () => resolve());
      });
      this.#passwordTls = pw;
      const p = pw.address() as AddressInfo;
      this.#passwordTlsEndpoint = { host: p.address, port: p.port };
      this.log.record('listening', `MQTT over TLS with username and password (no client certificate) on ${p.address}:${p.port}`, { host: p.address, port: p.port, passwordTls: true });
    }
    return { host: address.address, port: address.port };
  }

  /**
   * The CA published a new CRL (features/fleet-revocation.feature): new handshakes on the mTLS
   * listener are checked against it (node:tls `crl`; with any CRL OpenSSL checks every CA in the
   * chain, so `crlPems` holds the root's CRL too, certs/crl.ts; node reads one CRL per PEM element). Two more things a reload must do,
   * because a CRL is consulted only when a certificate chain is verified:
   * - rotate the session-ticket keys: a resumed TLS 1.3 handshake presents no certificate (RFC
   *   8446 §2.2, §4.6.1: the ticket stands for the earlier authentication), so a ticket issued
   *   before the revocation would let the revoked device back in;
   * - close the live sessions whose client certificate is now revoked (RFC 5280 §3.3: revoked
   *   before its expiry; a session opened earlier is not re-verified by TLS).
   */
  reloadCrl(crlPems: string[], revokedSerialsHex: readonly string[]): { closed: number } {
    const server = this.#server;
    if (!server) throw new Error('cloud-broker: not started; call start() before reloading its CRL');
    if (crlPems.length === 0 || !crlPems.every((p) => p.includes('-----BEGIN X509 CRL-----'))) throw new Error('cloud-broker: reloadCrl takes PEM CRLs, one per element ("-----BEGIN X509 CRL-----")');
    const { ticketKeys: _keepNone, ...options } = this.#config.tlsServerOptions ?? {};
    server.setSecureContext({ cert: this.#config.serverCertChainPem, key: this.#config.serverKeyPem, ca: this.#config.clientCaPem, minVersion: this.#config.minVersion ?? 'TLSv1.2', ...options, crl: crlPems });
    server.setTicketKeys(randomBytes(48));
    const revoked = new Set(revokedSerialsHex.map((s) => s.toUpperCase()));
    this.log.record('crl-reload', `CRL reloaded: ${revoked.size} revoked serial(s); session-ticket keys rotated`, { revoked: [...revoked] });
    let closed = 0;
    for (const socket of this.#sessions) {
      const cert = socket.getPeerCertificate();
      if (!cert?.serialNumber || !revoked.has(cert.serialNumber.toUpperCase())) continue;
      const id = peerIdentity(socket);
      this.log.record('revoked-session-closed', `closed the session of ${id ? `${id.unit}/${id.commonName}` : 'a peer'}: certificate serial ${cert.serialNumber} is revoked`, { peer: id?.commonName, serial: cert.serialNumber });
      socket.destroy();
      closed++;
    }
    return { closed };
  }

  /** The password MQTT/TLS endpoint (hard-coded credentials), when one was configured. */
  get passwordTlsEndpoint(): { host: string; port: number } | undefined {
    return this.#passwordTlsEndpoint;
  }

  /** The plain-MQTT endpoint, when one was configured. */
  get plainEndpoint(): { host: string; port: number } | undefined {
    return this.#plainEndpoint;
  }

  /** Publish from the cloud itself (QoS 0), e.g. the DTLS path's acknowledgements to gateways. */
  publishFromCloud(topic: string, payload: Uint8Array): void {
    this.#requireStarted().publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => undefined);
  }

  /** Deliver every E3 publish to an in-process subscriber (the cloud service). */
  subscribeReadings(deliver: (payload: Uint8Array, topic: string, deliveredBy: string) => void): void {
    const aedes = this.#requireStarted();
    aedes.subscribe(
      E3_TOPIC_FILTER,
      (packet, done) => {
        // Who delivered it is the TLS identity behind the MQTT session, not the id it claimed.
        const clientId = (packet as { clientId?: string }).clientId;
        const by = clientId === undefined ? undefined : this.#identityByClientId.get(clientId);
        deliver(Buffer.from(packet.payload as Buffer), packet.topic, by ?? `unauthenticated client "${String(clientId)}"`);
        done();
      },
      () => undefined,
    );
  }

  /** Deliver every publish matching `filter` to an in-process subscriber (e.g. command responses). */
  subscribeTopic(filter: string, deliver: (payload: Uint8Array, topic: string) => void): void {
    this.#requireStarted().subscribe(filter, (packet, done) => {
      deliver(Buffer.from(packet.payload as Buffer), packet.topic);
      done();
    }, () => undefined);
  }

  /**
   * The certificate identity of a mutual-TLS socket, read once: the handshake record and the
   * CONNECT check both need it, and getPeerCertificate builds a fresh object from the certificate
   * on every call (a connect storm's profile had it at ~7 % of the broker's CPU).
   */
  #peerIdentityOf(socket: TLSSocket): PeerIdentity | undefined {
    if (this.#socketIdentities.has(socket)) return this.#socketIdentities.get(socket);
    const id = peerIdentity(socket);
    this.#socketIdentities.set(socket, id);
    return id;
  }

  /** Plain listener: the username/password pair is the only proof, and it travelled in clear. */
  #passwordIdentity(packet: { username?: string; password?: Buffer }): PeerIdentity | undefined {
    const fleet = this.#config.fleetAccount;
    if (fleet && packet.username === fleet.username && packet.password && timingSafeEqualText(packet.password.toString('utf8'), fleet.password)) {
      return { commonName: fleet.username, unit: 'fleet', fingerprint256: '(shared password)' };
    }
    const expected = packet.username ? this.#config.passwordOf?.(packet.username) : undefined;
    if (!expected || !packet.password || !timingSafeEqualText(packet.password.toString('utf8'), expected)) return undefined;
    return { commonName: packet.username as string, unit: 'wearable', fingerprint256: '(password)' };
  }

  /**
   * Deny by default: a client reads only what its role needs (source chapter §17.7, least
   * privilege), the same grants as Mosquitto's ACL (containers/cloud-broker-container.ts acl()):
   * - a wearable: its own command topic (with grants.deviceCommands);
   * - a gateway: any device's command topic (grants.deviceCommands), and the cloud's
   *   acknowledgements of DTLS readings (grants.dtlsAcks);
   * - the cloud service, by its CN and not only its unit (other clients of the cloud's unit, e.g.
   *   the DTLS endpoint CN=cloud-dtls, read nothing): every wearable's readings, and their
   *   responses (grants.deviceCommands).
   * Anything else, '#' and '+/+/e3' included, is refused: no other client reads a reading.
   */
  #maySubscribe(identity: PeerIdentity, topic: string): boolean {
    const grants = this.#config.grants ?? {};
    if (grants.deviceCommands && this.#maySubscribeCommands(identity, topic)) return true;
    if (identity.unit === 'gateway') return grants.dtlsAcks === true && (topic === ACK_TOPIC_FILTER || /^cloud\/acks\/[0-9a-f]{32}$/.test(topic));
    if (identity.unit === 'cloud' && identity.commonName === CLOUD_SERVICE_CN) return topic === E3_TOPIC_FILTER || (grants.deviceCommands === true && topic === RESPONSE_TOPIC_FILTER);
    return false;
  }

  /** Command topics (emulators/commands/command-topics.ts): each device its own; a gateway any. */
  #maySubscribeCommands(identity: PeerIdentity, topic: string): boolean {
    if (identity.unit === 'gateway') return /^wearables\/([0-9a-f]{32}|\+)\/commands$/.test(topic);
    if (identity.unit === 'wearable') return this.#config.ownTopicOf(identity.commonName)?.replace(/\/e3$/, '/commands') === topic;
    return false;
  }

  #mayPublish(identity: PeerIdentity, topic: string): boolean {
    // Sealed command responses go to the device's own response topic; a gateway forwards any.
    if (this.#config.grants?.deviceCommands) {
      if (identity.unit === 'gateway' && /^wearables\/[0-9a-f]{32}\/responses$/.test(topic)) return true;
      if (identity.unit === 'wearable' && this.#config.ownTopicOf(identity.commonName)?.replace(/\/e3$/, '/responses') === topic) return true;
    }
    if (identity.unit === 'gateway') return /^wearables\/[0-9a-f]{32}\/e3$/.test(topic);
    if (identity.unit === 'wearable') return this.#config.ownTopicOf(identity.commonName) === topic;
    // The shared fleet account stands for every device at once (fleetAccount above).
    if (identity.unit === 'fleet') return /^wearables\/[0-9a-f]{32}\/e3$/.test(topic);
    return false;
  }

  #requireStarted(): Aedes {
    if (!this.#aedes) throw new Error('cloud-broker: not started; call start() first');
    return this.#aedes;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    const aedes = this.#aedes;
    const plain = this.#plain;
    this.#plain = undefined;
    this.#server = undefined;
    this.#aedes = undefined;
    // Close the broker first: it disconnects its clients, so the listeners can close.
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (plain) await new Promise<void>((r) => plain.close(() => r()));
    const pw = this.#passwordTls;
    this.#passwordTls = undefined;
    if (pw) await new Promise<void>((r) => pw.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

function timingSafeEqualText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
