/**
 * One wearable of a fleet (source chapter §17.6: 5,000 of them reporting every 30 s), lean enough
 * that one Node process hosts thousands: its own P-256 key and certificate (mutual TLS, E4), its
 * own E3 sealer (key, pseudonym, salt, sequence), and an MQTT 3.1.1 session written directly on
 * mqtt-packet rather than a full MQTT.js client per device.
 *
 * Delivery: QoS 1 with a persistent session (CONNECT clean session 0, MQTT 3.1.1 §3.1.2.4) and
 * the bounded store-and-forward queue (store-and-forward.ts): on every (re)connect the unacknowledged
 * readings are sent again, in sealed order, with DUP set (§4.4: "When a Client reconnects with
 * CleanSession set to 0, both the Client and Server MUST re-send any unacknowledged PUBLISH
 * Packets"). A duplicate that reaches the cloud is refused by the E3 replay window.
 *
 * TLS sessions are kept across reconnects (the `session` event, offered back), so a reconnect
 * after a broker restart resumes where the broker still has its ticket key (RFC 8446 §2.2).
 */
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { encodeReading } from '../../crypto/e3-reading.ts';
import type { SimClock } from '../sim-clock.ts';
import type { VitalSigns } from '../vital-signs.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import { e3Topic } from '../wearable.ts';
import { StoreAndForwardQueue, type QueuedReading } from './store-and-forward.ts';
import type { ReadingSealer } from './fleet-sealer.ts';

export interface FleetEndpoint {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
}

/** What a device reports to the fleet that hosts it (one shared object: no per-device counters). */
export interface FleetDeviceEvents {
  connected(device: FleetDevice, o: { resumed: boolean; reconnect: boolean; handshakeMs: number }): void;
  disconnected(device: FleetDevice): void;
  /** The broker refused the device (TLS alert, closed before CONNACK, CONNACK return code). */
  refused(device: FleetDevice, reason: string): void;
  acknowledged(device: FleetDevice, reading: QueuedReading, latencyMs: number): void;
  overflow(device: FleetDevice): void;
}

export interface FleetDeviceConfig {
  readonly provisioning: DeviceProvisioning;
  readonly secureContext: () => SecureContext;
  readonly sealer: ReadingSealer;
  readonly vitals: VitalSigns;
  readonly clock: Pick<SimClock, 'nowSec'>;
  readonly endpoint: FleetEndpoint;
  readonly queueCapacity: number;
  readonly events: FleetDeviceEvents;
  /** Give up on one connection attempt (TCP + TLS + CONNACK) after this long. */
  readonly connectTimeoutMs: number;
}

type State = 'idle' | 'connecting' | 'connected' | 'stopped';

export class FleetDevice {
  readonly queue: StoreAndForwardQueue;
  readonly topic: string;
  #state: State = 'idle';
  #socket: TLSSocket | undefined;
  #session: Buffer | undefined;
  #everConnected = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** Why the last attempt failed, for the refusal report. */
  #lastError: string | undefined;
  refusals = 0;

  constructor(readonly config: FleetDeviceConfig) {
    this.queue = new StoreAndForwardQueue(config.queueCapacity);
    this.topic = e3Topic(config.provisioning.pseudonymHex);
  }

  get deviceId(): string {
    return this.config.provisioning.deviceId;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get stopped(): boolean {
    return this.#state === 'stopped';
  }

  /** Why the broker last refused this device (TLS alert, close before CONNACK, …); undefined if never. */
  get lastRefusal(): string | undefined {
    return this.refusals > 0 ? this.#lastError : undefined;
  }

  /** Sequence the next sealed reading will carry (the readings sealed so far are 1..this-1). */
  get nextSequence(): bigint {
    return this.config.sealer.nextSequence;
  }

  /** One connection attempt; resolves on CONNACK 0, rejects with what went wrong. */
  connect(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new Error(`${this.deviceId}: stopped`));
    if (this.#state !== 'idle') return Promise.resolve();
    this.#state = 'connecting';
    const { endpoint, connectTimeoutMs } = this.config;
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      const tcp = netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      const socket = tlsConnect({ socket: tcp, servername: endpoint.serverName, secureContext: this.config.secureContext(), ...(this.#session ? { session: this.#session } : {}) });
      this.#socket = socket;
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#lastError = why;
        socket.destroy();
        if (this.#state === 'connecting') this.#state = 'idle';
        reject(new Error(`${this.deviceId}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no CONNACK from ${endpoint.host}:${endpoint.port} within ${connectTimeoutMs} ms`), connectTimeoutMs);
      tcp.once('error', (err) => fail(`TCP: ${err.message}`));
      socket.on('error', (err: NodeJS.ErrnoException) => fail(`TLS: ${err.code ?? ''} ${err.message}`.trim()));
      socket.on('session', (session: Buffer) => {
        this.#session = session;
      });
      socket.once('close', () => {
        if (!settled) return fail('connection closed before CONNACK');
        this.#closed();
      });
      socket.once('secureConnect', () => {
        // Persistent session: the broker keeps our QoS 1 state while we are away (§3.1.2.4).
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: this.deviceId, clean: false, keepalive: 0 }));
      });
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connack') {
          if (p.returnCode !== 0) return fail(`CONNACK return code ${p.returnCode ?? '?'}`);
          settled = true;
          clearTimeout(timer);
          const reconnect = this.#everConnected;
          this.#everConnected = true;
          this.#state = 'connected';
          this.#attempt = 0;
          this.config.events.connected(this, { resumed: socket.isSessionReused(), reconnect, handshakeMs: performance.now() - started });
          this.#resendPending();
          resolve();
        } else if (p.cmd === 'puback' && p.messageId !== undefined) {
          const entry = this.queue.acknowledge(p.messageId);
          if (entry) this.config.events.acknowledged(this, entry, Date.now() - entry.sealedAtMs);
        }
      });
      parser.on('error', (err: Error) => fail(`MQTT: ${err.message}`));
      socket.on('data', (b: Buffer) => parser.parse(b));
    });
  }

  /** Measure and seal one reading, queue it, and send it when connected. */
  read(): void {
    if (this.#state === 'stopped') return;
    const packet = this.config.sealer.seal(encodeReading(this.config.vitals.next()), this.config.clock.nowSec());
    const sequence = this.config.sealer.nextSequence - 1n;
    const entry = this.queue.offer(sequence, packet, Date.now());
    if (!entry) return this.config.events.overflow(this);
    if (this.#state === 'connected') this.#publish(entry);
  }

  /** Keep reconnecting after a lost connection until stopped (backoff with jitter spreads a storm). */
  keepConnected(): void {
    if (this.#state !== 'idle') return;
    this.connect().catch(() => {
      this.refusals++;
      this.config.events.refused(this, this.#lastError ?? 'unknown');
      this.#scheduleReconnect();
    });
  }

  /** End the connection on purpose (MQTT DISCONNECT), keeping the TLS session and the queue; no reconnect. */
  async disconnect(): Promise<void> {
    const socket = this.#socket;
    if (this.#state !== 'connected' || !socket) return;
    this.#state = 'idle';
    this.#socket = undefined;
    this.config.events.disconnected(this);
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    });
  }

  stop(): void {
    this.#state = 'stopped';
    clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket && !socket.destroyed) {
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
      setTimeout(() => socket.destroy(), 200).unref();
    }
  }

  #closed(): void {
    // Only a connection that reached CONNACK is lost here; a failed attempt is retried by its caller.
    if (this.#state !== 'connected') return;
    this.#state = 'idle';
    this.#socket = undefined;
    this.config.events.disconnected(this);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state === 'stopped') return;
    clearTimeout(this.#reconnectTimer);
    const attempt = ++this.#attempt;
    // 100 ms · 2^attempt, capped at 2 s, with full jitter: a restart storm is spread, not synchronized.
    const delayMs = Math.random() * Math.min(2_000, 100 * 2 ** Math.min(attempt, 5));
    this.#reconnectTimer = setTimeout(() => this.keepConnected(), delayMs);
  }

  #resendPending(): void {
    for (const entry of this.queue.pending()) this.#publish(entry);
  }

  #publish(entry: QueuedReading): void {
    const socket = this.#socket;
    if (!socket) return;
    socket.write(mqttPacket.generate({ cmd: 'publish', topic: this.topic, payload: Buffer.from(entry.packet), qos: 1, messageId: entry.messageId, retain: false, dup: entry.sent }));
    entry.sent = true;
  }
}
