/**
 * An MQTT/TLS session opened with what a firmware image holds: the device boots with its own
 * image, and an attacker who dumped one image boots the same code with it under any client id.
 * Either way the broker sees only what the image proves: a shared username and password, or
 * one device's certificate and key.
 */
import type { TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { connectTls } from '../emulators/tls-connect.ts';
import type { FirmwareConfig } from './firmware-image.ts';

export interface BrokerEndpoints {
  /** Mutual TLS (certificate) listener. */
  readonly mtls: { readonly host: string; readonly port: number };
  /** Username-and-password listener over TLS (server certificate only). */
  readonly password?: { readonly host: string; readonly port: number };
  readonly serverName: string;
  readonly caPem: string;
}

export interface SessionOutcome {
  readonly connected: boolean;
  readonly error?: string;
}

// Aedes leaves a refused CONNECT unanswered (preConnect false): the refusal is read from its records, so wait briefly.
const TIMEOUT_MS = 2_000;

export class FirmwareSession {
  #socket: TLSSocket | undefined;
  #parser = mqttPacket.parser({ protocolVersion: 4 });
  #nextId = 1;
  readonly #waiting = new Map<number, (ok: boolean) => void>();
  #closed = false;

  constructor(
    readonly firmware: FirmwareConfig,
    /** The MQTT client id it claims: the device's own, or any an attacker chooses. */
    readonly clientId: string = firmware.deviceId,
  ) {}

  /** TLS, then CONNECT with the image's credentials; resolves with the broker's answer (bounded). */
  connect(broker: BrokerEndpoints): Promise<SessionOutcome> {
    const fw = this.firmware;
    const user = fw.config.get('MQTT_USER');
    const pass = fw.config.get('MQTT_PASS');
    const withCertificate = fw.certPem !== undefined && fw.keyPem !== undefined;
    const endpoint = withCertificate ? broker.mtls : broker.password;
    if (!endpoint) return Promise.resolve({ connected: false, error: 'the broker has no username-and-password listener; a password-only image cannot connect' });
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: SessionOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!o.connected) this.close();
        resolve(o);
      };
      const timer = setTimeout(() => finish({ connected: false, error: `no CONNACK within ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
      const socket = connectTls(endpoint.host, endpoint.port, { ca: broker.caPem, servername: broker.serverName, minVersion: 'TLSv1.2', ...(withCertificate ? { cert: fw.certPem, key: fw.keyPem } : {}) });
      this.#socket = socket;
      socket.on('error', (err: NodeJS.ErrnoException) => finish({ connected: false, error: `${err.code ?? 'ERROR'}: ${err.message}` }));
      socket.on('close', () => {
        this.#closed = true;
        for (const done of this.#waiting.values()) done(false);
        this.#waiting.clear();
        finish({ connected: false, error: 'connection closed by the broker' });
      });
      socket.once('secureConnect', () => {
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: this.clientId, clean: true, keepalive: 60, ...(!withCertificate && user ? { username: user, password: Buffer.from(pass ?? '') } : {}) }));
      });
      this.#parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connack') finish(p.returnCode === 0 ? { connected: true } : { connected: false, error: `CONNACK return code ${p.returnCode}` });
        if (p.cmd === 'puback') {
          this.#waiting.get(p.messageId as number)?.(true);
          this.#waiting.delete(p.messageId as number);
        }
      });
      this.#parser.on('error', (err: Error) => finish({ connected: false, error: `malformed MQTT from the broker: ${err.message}` }));
      socket.on('data', (b: Buffer) => this.#parser.parse(b));
    });
  }

  /** PUBLISH at QoS 1: true when the broker acknowledged it, false when it refused (Aedes and Mosquitto close or stay silent). */
  publish(topic: string, payload: Uint8Array, timeoutMs = 2_000): Promise<boolean> {
    const socket = this.#socket;
    if (!socket || this.#closed) return Promise.resolve(false);
    const messageId = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(messageId);
        resolve(false);
      }, timeoutMs);
      this.#waiting.set(messageId, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false }));
    });
  }

  get open(): boolean {
    return this.#socket !== undefined && !this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
  }
}
