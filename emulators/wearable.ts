/**
 * Wearable role: a patient-worn monitor that measures vital signs on an interval, seals each
 * reading into a 96-byte E3 packet for the cloud (source chapter §17.6 step 2), and publishes it
 * over MQTT 3.1.1 over TLS 1.3 with mutual TLS (E4).
 *
 * A wearable is an object, not a process: one Node process hosts a fleet of them (docs/architecture.md §3 Roles).
 * It knows only the endpoint it is told to connect to, never whether that is a gateway, a relay,
 * a MITM or the cloud itself.
 */
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { connectTls, withSecureContext } from './tls-connect.ts';
import type { TlsSessionCache } from './tls-session-cache.ts';
import { connect as netConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import type { E3Sealer } from '../crypto/e3-sealer.ts';
import { encodeReading, type Reading } from '../crypto/e3-reading.ts';
import type { DeviceProvisioning } from './provisioning.ts';
import { ObservationLog } from './observation-log.ts';
import type { SimClock } from './sim-clock.ts';
import type { VitalSigns } from './vital-signs.ts';
import { deviceSealer, deviceVitals } from './device-sealer.ts';
import { tlsClientOptions, type TlsClientProfile } from './tls-client-profile.ts';
import { noEvidence, type EvidenceSink } from './evidence.ts';
import type { DeviceCommands } from './commands/device-commands.ts';
import type { CommandHandlerName } from './commands/command-handlers.ts';

export type WearableObservationKind = 'tls-handshake' | 'tls-error' | 'mqtt-connected' | 'mqtt-error' | 'reading-sent' | 'delivery-confirmed' | 'disconnected';

export interface WearableConfig {
  readonly provisioning: DeviceProvisioning;
  /** PEM material from the device's secure element stand-in. */
  readonly deviceKeyPem: string;
  readonly deviceCertChainPem: string;
  readonly caPem: string;
  /** The cloud's E3 public key (SPKI PEM), provisioned at manufacturing. */
  readonly cloudE3PublicKeyPem: string;
  /** Where to connect; the wearable does not know what listens there. */
  readonly endpoint: { readonly host: string; readonly port: number; readonly serverName: string };
  readonly profile: TlsClientProfile;
  readonly clock: SimClock;
  /** Simulated reporting interval; the source chapter's device reports every 30 s. */
  readonly intervalSimMs?: number;
  readonly evidence?: EvidenceSink;
  /** Give up on a connect or an acknowledgement after this long (a hanging peer is a failure). */
  readonly timeoutMs?: number;
  /** Keep TLS sessions across (re)connects and offer them back (MQTT.js keeps none). */
  readonly sessionCache?: TlsSessionCache;
  /** Reconnect this long after a lost connection; 0 (default) = do not reconnect. */
  readonly reconnectPeriodMs?: number;
  /** Revocation list to check the server against (RFC 5280 §6.3), when the profile verifies. */
  readonly crlPem?: string | readonly string[];
  /** The cloud key's SPKI pin, for the pinned profile. */
  readonly spkiPinSha256?: string;
  /** Take sealed commands from the cloud and run them with this handler (§17.5; issue 13); none when absent. */
  readonly commands?: CommandHandlerName;
}

export function e3Topic(pseudonymHex: string): string {
  return `wearables/${pseudonymHex}/e3`;
}

export class Wearable {
  readonly log: ObservationLog<WearableObservationKind>;
  readonly #config: WearableConfig;
  readonly #sealer: E3Sealer;
  readonly #vitals: VitalSigns;
  #commands: DeviceCommands | undefined;
  #client: mqtt.MqttClient | undefined;
  /** TLS options with the device's credentials loaded once (withSecureContext), for every (re)connect. */
  #tlsOptions: ConnectionOptions | undefined;

  constructor(config: WearableConfig) {
    this.#config = config;
    const p = config.provisioning;
    this.log = new ObservationLog(p.deviceId);
    this.#sealer = deviceSealer(config);
    this.#vitals = deviceVitals(p);
  }

  get deviceId(): string {
    return this.#config.provisioning.deviceId;
  }

  /** The device's command processor and records, once it connected taking cloud commands. */
  get commands(): DeviceCommands | undefined {
    return this.#commands;
  }

  get provisioning(): DeviceProvisioning {
    return this.#config.provisioning;
  }

  /** Connect to the configured endpoint; resolves on CONNACK, rejects with the TLS or MQTT error. */
  async connect(): Promise<void> {
    const { endpoint, profile, evidence = noEvidence, timeoutMs = 10_000 } = this.#config;
    // A device holds its key, chain and trust anchors loaded; parsing their PEM again on every
    // connect was 14 % of a resumed-handshake loop, over a third of the client's own CPU
    // (docs/benchmarks.md, r6h).
    const tlsOptions = (this.#tlsOptions ??= withSecureContext(
      tlsClientOptions(profile, {
        ca: this.#config.caPem,
        certChain: this.#config.deviceCertChainPem,
        key: this.#config.deviceKeyPem,
        serverName: endpoint.serverName,
        ...(this.#config.crlPem ? { crlPem: this.#config.crlPem } : {}),
        ...(this.#config.spkiPinSha256 ? { spkiPinSha256: this.#config.spkiPinSha256 } : {}),
      }),
    ));
    const buildPlainStream = (): Socket => {
      const socket = netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      socket.on('error', (err: NodeJS.ErrnoException) => this.log.record('tls-error', `TCP error towards ${endpoint.host}:${endpoint.port}: ${err.message}`, { code: err.code, message: err.message }));
      return socket;
    };
    const buildStream = (): TLSSocket => {
      const socket = connectTls(endpoint.host, endpoint.port, { ...tlsOptions, ...this.#config.sessionCache?.offerFor(endpoint.serverName) });
      this.#config.sessionCache?.keepFrom(endpoint.serverName, socket);
      evidence.tlsEndpoint(this.deviceId, socket);
      socket.once('secureConnect', () => {
        const peer = socket.getPeerCertificate();
        this.log.record('tls-handshake', `TLS handshake with ${endpoint.serverName}: ${socket.getProtocol()} ${socket.getCipher().standardName}`, {
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().standardName,
          authorized: socket.authorized,
          peerSubjectCn: peer?.subject?.CN,
          sessionReused: socket.isSessionReused(),
        });
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        this.log.record('tls-error', `TLS/TCP error towards ${endpoint.host}:${endpoint.port}: ${err.message}`, { code: err.code, message: err.message });
      });
      return socket;
    };
    const client = new mqtt.MqttClient(profile.plaintext ? buildPlainStream : buildStream, {
      protocolVersion: 4,
      clientId: this.deviceId,
      username: this.deviceId,
      password: this.#config.provisioning.mqttPassword,
      clean: true,
      reconnectPeriod: this.#config.reconnectPeriodMs ?? 0,
      connectTimeout: timeoutMs,
      keepalive: 60,
    });
    this.#client = client;
    client.on('close', () => this.log.record('disconnected', 'MQTT connection closed'));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`wearable ${this.deviceId}: no CONNACK from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.log.record('mqtt-error', `could not connect: ${err.message}`, { message: err.message });
        client.end(true);
        reject(err);
      };
      const closedEarly = () => fail(new Error(`wearable ${this.deviceId}: connection to ${endpoint.host}:${endpoint.port} closed before CONNACK`));
      client.once('connect', () => {
        clearTimeout(timer);
        this.log.record('mqtt-connected', `MQTT CONNACK from ${endpoint.serverName}`);
        // Once connected, a later close is a disconnect to log (and maybe reconnect from), not a failed connect.
        client.off('error', fail);
        client.off('close', closedEarly);
        client.on('error', (err) => this.log.record('mqtt-error', `MQTT error: ${err.message}`, { message: err.message }));
        client.on('connect', () => this.log.record('mqtt-connected', `MQTT CONNACK from ${endpoint.serverName} after reconnecting`, { reconnect: true }));
        resolve();
      });
      client.once('error', fail);
      client.once('close', closedEarly);
    });
    const handler = this.#config.commands;
    if (handler) {
      // Loaded on first use: a wearable taking no commands never loads the handlers, and a
      // container's role is ready sooner (tsx transpiles every module imported at start).
      const [{ DeviceCommands }, { serveDeviceCommands }] = await Promise.all([import('./commands/device-commands.ts'), import('./commands/mqtt-device-commands.ts')]);
      const c = this.#config;
      this.#commands ??= new DeviceCommands({ provisioning: c.provisioning, deviceKeyPem: c.deviceKeyPem, cloudE3PublicKeyPem: c.cloudE3PublicKeyPem, handler, clock: c.clock });
      await serveDeviceCommands(client, this.#commands, c.provisioning.pseudonymHex);
    }
  }

  /** Measure, seal and publish one reading (QoS 1). Resolves once it is on the wire. */
  sendReading(reading: Reading = this.#vitals.next()): { sequence: bigint; packet: Uint8Array } {
    const client = this.#client;
    if (!client?.connected) throw new Error(`wearable ${this.deviceId}: not connected; call connect() first`);
    const plaintext = encodeReading(reading);
    const sequence = this.#sealer.nextSequence;
    const timestamp = this.#config.clock.nowSec();
    const packet = this.#sealer.seal(plaintext, timestamp);
    this.log.record('reading-sent', `sealed reading #${sequence} (${packet.length} bytes)`, { sequence, timestamp, reading, plaintext }, packet);
    client.publish(e3Topic(this.#config.provisioning.pseudonymHex), Buffer.from(packet), { qos: 1 }, (err) => {
      if (err) this.log.record('mqtt-error', `publish #${sequence} failed: ${err.message}`, { sequence, message: err.message });
      else this.log.record('delivery-confirmed', `PUBACK for reading #${sequence}`, { sequence });
    });
    return { sequence, packet };
  }

  /**
   * Report `count` readings on the simulated interval (30 s by default, source chapter §17.6),
   * compressed by the clock's speedup. Bounded by `count`.
   */
  async report(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      throw new Error(`wearable ${this.deviceId}: reading count must be an integer in 1..100000, got ${count}`);
    }
    const intervalWallMs = this.#config.clock.wallMs(this.#config.intervalSimMs ?? 30_000);
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, intervalWallMs));
      this.sendReading();
    }
  }

  /** Wait until the broker (or whoever answers) has acknowledged every reading sent so far. */
  async settled(timeoutMs = 10_000): Promise<void> {
    const sent = this.log.ofKind('reading-sent').length;
    await this.log.waitForCount('PUBACKs', (o) => o.kind === 'delivery-confirmed' || o.kind === 'mqtt-error', sent, timeoutMs);
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    // A graceful end waits for every unacknowledged QoS 1 publish, forever if the peer (a MITM,
    // a dropping gateway) never acknowledges: give it a moment, then close hard.
    const graceful = client.endAsync(false).then(() => true, () => false);
    const inTime = await Promise.race([graceful, new Promise<boolean>((r) => setTimeout(() => r(false), 1_000).unref())]);
    if (!inTime) await new Promise<void>((r) => client.end(true, {}, () => r()));
  }
}
