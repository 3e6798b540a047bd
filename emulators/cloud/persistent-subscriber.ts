/**
 * The cloud service as an MQTT subscriber with a persistent session (clean session 0, QoS 1:
 * MQTT 3.1.1 §3.1.2.4): the broker keeps its subscription and queues QoS 1 messages for it while
 * it is away, and delivers them when it comes back. Used by the fleet's cloud in containers
 * (containers/roles/fleet-cloud.ts) and, where a scenario takes the cloud away, on the local
 * placement (topology/local-fleet.ts).
 *
 * Going away is a clean DISCONNECT: the session stays at the broker (§3.14: the server discards
 * nothing of a clean-session-0 client on DISCONNECT but its will). Coming back is a new CONNECT
 * with the same client id and clean session 0, and no SUBSCRIBE: what arrives then was held by the
 * broker's session, which its CONNACK says it had (session present, §3.2.2.2).
 */
import type { Duplex } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';

/** The fleet cloud service's MQTT client id, on every placement: the broker's log names its queue by it. */
export const FLEET_CLOUD_CLIENT_ID = 'fleet-cloud-service';

/** Bound on one CONNECT (and SUBSCRIBE) to the broker. */
const CONNECT_TIMEOUT_MS = 15_000;

export interface PersistentSubscriberOptions {
  /** A fresh transport to the broker (each connection, each reconnect). */
  readonly stream: () => Duplex;
  readonly clientId: string;
  readonly filter: string;
  /** Broker, for error messages ("cloud.testbed.local:8883"). */
  readonly brokerName: string;
  readonly onMessage: (topic: string, payload: Buffer) => void;
  /** Bound on one CONNECT and SUBSCRIBE; default CONNECT_TIMEOUT_MS (tests shorten it). */
  readonly connectTimeoutMs?: number;
}

export class PersistentSubscriber {
  #client: MqttClient | undefined;
  /** Connection errors MQTT.js recovered from by reconnecting (a broker restart: ECONNRESET, then ECONNREFUSED). */
  connectionErrors = 0;

  constructor(readonly options: PersistentSubscriberOptions) {}

  get #connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  }

  /** Connect and subscribe at QoS 1; rejects with one line when the broker refuses either. */
  async start(): Promise<void> {
    const { client } = await this.#connect();
    const { filter, brokerName } = this.options;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.options.clientId}: no SUBACK from ${brokerName} within ${this.#connectTimeoutMs / 1000} s`)), this.#connectTimeoutMs);
      client.subscribe(filter, { qos: 1 }, (err, granted) => {
        clearTimeout(timer);
        if (err || granted?.[0]?.qos === 128) reject(new Error(`${this.options.clientId}: the broker refused the subscription to ${filter} (${err?.message ?? 'SUBACK 0x80'}); check the ACL`));
        else resolve();
      });
    });
  }

  /** DISCONNECT, leaving the session (its subscription and queue) with the broker. */
  async away(): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error(`${this.options.clientId}: not connected; it cannot go away`);
    this.#client = undefined;
    await client.endAsync(false);
  }

  /** CONNECT again with the same client id and clean session 0; the broker's CONNACK says whether it kept the session. */
  async back(): Promise<{ sessionPresent: boolean }> {
    if (this.#client) throw new Error(`${this.options.clientId}: already connected; it has not gone away`);
    const { sessionPresent } = await this.#connect();
    return { sessionPresent };
  }

  #connect(): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    const client = new mqtt.MqttClient(this.options.stream, { protocolVersion: 4, clientId: this.options.clientId, clean: false, reconnectPeriod: 300, connectTimeout: 10_000, keepalive: 30 });
    // Without a listener MQTT.js's 'error' event would end the process; it reconnects by itself.
    client.on('error', () => {
      this.connectionErrors++;
    });
    client.on('message', (topic, payload) => this.options.onMessage(topic, payload));
    this.#client = client;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Give up on this client: left in place, MQTT.js would keep reconnecting every reconnectPeriod.
        if (this.#client === client) this.#client = undefined;
        client.end(true);
        reject(new Error(`${this.options.clientId}: no CONNACK from ${this.options.brokerName} within ${this.#connectTimeoutMs / 1000} s; check that the broker is up and accepts this client`));
      }, this.#connectTimeoutMs);
      client.once('connect', (connack) => {
        clearTimeout(timer);
        resolve({ client, sessionPresent: connack.sessionPresent });
      });
    });
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync(false).catch(() => client.end(true));
  }
}
