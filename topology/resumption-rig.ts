/**
 * The rig of the handshake scenarios: the named wearable(s), provisioned with their own
 * certificates, an emulated link with a capture tap beside the device, and the cloud broker
 * (mTLS) behind it.
 *
 *   wearable ──TcpLink (latency per direction, pcap at the device end)──▶ cloud broker
 *
 * With `viaGateway`, a TLS-terminating gateway stands at the device end and the captured link
 * carries the gateway's own upstream TLS, so the capture shows the gateway's session cache at work:
 *
 *   wearable ──TLS──▶ gateway (terminates, re-wraps) ──TcpLink (captured)──▶ cloud broker
 *
 * The roles are the project's own (Wearable, CloudBroker) and know nothing of the rig: the
 * wearable is told an endpoint and a server name; the broker is told its TLS options. The rig
 * only wires them, times connects as the device sees them, and hands the capture over.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { generatePki, type Pki } from '../certs/pki.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { KeyLog } from '../capture/keylog.ts';
import { Wearable } from '../emulators/wearable.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { secureProfile, type TlsClientProfile } from '../emulators/tls-client-profile.ts';
import { TlsServerSessionStore, TlsSessionCache } from '../emulators/tls-session-cache.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { Gateway } from '../emulators/gateway.ts';
import { latency, symmetric } from '../links/impairments.ts';
import type { TlsOptions } from 'node:tls';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';

const LOOPBACK = '127.0.0.1';
const DEFAULT_DEVICE_ID = 'wearable-0001';

export type TlsVersion = 'TLS 1.2' | 'TLS 1.3';

export interface ResumptionRigSpec {
  readonly dir: string;
  readonly rttMs: number;
  readonly tlsVersion: TlsVersion;
  /** Broker: 'tickets' (Node's default) or 'session-ids' (tickets off, server-side store). */
  readonly resumption?: 'tickets' | 'session-ids';
  readonly brokerTls?: TlsOptions;
  /** The device keeps its TLS sessions and offers them back (default true); false = every handshake is full. */
  readonly keepSessions?: boolean;
  /** Put a TLS-terminating gateway, with its own upstream session cache, in front of the link. */
  readonly viaGateway?: boolean;
  /** The devices the rig provisions (certificate, E3 keys); default wearable-0001. */
  readonly deviceIds?: readonly string[];
}

export class ResumptionRig {
  readonly #spec: ResumptionRigSpec;
  /** Sessions of whoever speaks TLS over the captured link: the wearable, or the gateway upstream. */
  readonly cache = new TlsSessionCache();
  readonly sessionIds = new TlsServerSessionStore();
  #pki: Pki | undefined;
  #broker: CloudBroker | undefined;
  #link: TcpLink | undefined;
  #gateway: Gateway | undefined;
  #writer: PcapWriter | undefined;
  #keyLog: KeyLog | undefined;
  #endpoint: { host: string; port: number } | undefined;
  readonly #wearables: Wearable[] = [];
  readonly #provisioning = new Map<string, DeviceProvisioning>();
  /** Wall time from connect() to CONNACK, as the device saw it, per connection. */
  readonly connectMs: number[] = [];

  constructor(spec: ResumptionRigSpec) {
    if (!Number.isFinite(spec.rttMs) || spec.rttMs < 0 || spec.rttMs > 10_000) throw new Error(`resumption-rig: RTT must be 0..10000 ms, got ${spec.rttMs}`);
    if (spec.deviceIds?.length === 0) throw new Error('resumption-rig: deviceIds is empty; name at least one device, e.g. ["wearable-0001"]');
    this.#spec = spec;
  }

  get capturePath(): string {
    return join(this.#spec.dir, 'captures', 'device-cloud.pcap');
  }

  get keyLogPath(): string {
    return join(this.#spec.dir, 'sslkeys.keylog');
  }

  get pki(): Pki {
    if (!this.#pki) throw new Error('resumption-rig: not started');
    return this.#pki;
  }

  get link(): TcpLink {
    if (!this.#link) throw new Error('resumption-rig: not started');
    return this.#link;
  }

  async start(): Promise<void> {
    mkdirSync(this.#spec.dir, { recursive: true, mode: 0o700 });
    const deviceIds = this.#deviceIds;
    const pki = await generatePki({ wearableIds: [...deviceIds], gatewayName: GATEWAY_NAME });
    deviceIds.forEach((id, i) => this.#provisioning.set(id, provisionDevice(id, i + 1)));
    this.#pki = pki;
    const keyLog = KeyLog.open(this.keyLogPath);
    this.#keyLog = keyLog;
    const noTickets = this.#spec.resumption === 'session-ids';
    const broker = new CloudBroker(
      loopbackBrokerConfig(pki.cloud, {
        clientCaPem: `${pki.rootCa.certPem}\n${pki.intermediateCa.certPem}`,
        ownTopicOf: () => undefined,
        evidence: { tlsEndpoint: (_role, e) => keyLog.attach(e) },
        tlsServerOptions: {
          // RFC 5077 tickets off: the client can only resume by session ID, from the server's store.
          ...(noTickets ? { secureOptions: 0x4000 /* SSL_OP_NO_TICKET */ } : {}),
          ...this.#spec.brokerTls,
        },
        ...(noTickets ? { sessionIds: this.sessionIds } : {}),
      }),
    );
    this.#broker = broker;
    const target = await broker.start();
    this.#writer = PcapWriter.open(this.capturePath);
    const oneWay = this.#spec.rttMs / 2;
    this.#link = new TcpLink({ name: 'device-cloud', listen: { host: LOOPBACK, port: 0 }, target, capture: this.#writer, impairments: symmetric(latency({ ms: oneWay })) });
    this.#endpoint = await this.#link.start();
    if (this.#spec.viaGateway) {
      const gateway = new Gateway({
        name: 'gateway',
        mode: 'terminate',
        listen: { host: LOOPBACK, port: 0 },
        upstream: { ...this.#endpoint, serverName: CLOUD_NAME },
        certChainPem: pki.gateway.chainPem,
        keyPem: pki.gateway.keyPem,
        caPem: pki.rootCa.certPem,
        upstreamProfile: this.#profile(),
        upstreamSessions: this.cache,
        evidence: { tlsEndpoint: (_role, e) => keyLog.attach(e) },
      });
      this.#gateway = gateway;
      this.#endpoint = await gateway.start();
    }
  }

  get broker(): CloudBroker {
    if (!this.#broker) throw new Error('resumption-rig: not started');
    return this.#broker;
  }

  get hasGateway(): boolean {
    return this.#gateway !== undefined;
  }

  get gateway(): Gateway {
    if (!this.#gateway) throw new Error('resumption-rig: no gateway; construct the rig with viaGateway: true');
    return this.#gateway;
  }

  get #deviceIds(): readonly string[] {
    return this.#spec.deviceIds ?? [DEFAULT_DEVICE_ID];
  }

  /** The rig's TLS version, pinned at both ends of the client's range. */
  #profile(): TlsClientProfile {
    const version = this.#spec.tlsVersion === 'TLS 1.2' ? 'TLSv1.2' : 'TLSv1.3';
    return { ...secureProfile, name: `secure (${this.#spec.tlsVersion})`, minVersion: version, maxVersion: version };
  }

  /**
   * Wearable `deviceId` (default: the rig's first device) asking for `serverName` (behind a
   * gateway: always the gateway's name), with the rig's session cache unless the rig keeps no
   * sessions or the gateway's cache is the subject.
   */
  wearable(serverName: string, options: { deviceId?: string; reconnectPeriodMs?: number } = {}): Wearable {
    const pki = this.pki;
    const endpoint = this.#endpoint;
    if (!endpoint) throw new Error('resumption-rig: not started');
    const { deviceId = this.#deviceIds[0] as string, ...wearableOptions } = options;
    const issued = pki.wearables.get(deviceId);
    const provisioning = this.#provisioning.get(deviceId);
    if (!issued || !provisioning) throw new Error(`resumption-rig: ${deviceId} is not provisioned in this rig (it has ${this.#deviceIds.join(', ')}); construct the rig with deviceIds: ['${deviceId}']`);
    const keyLog = this.#keyLog as KeyLog;
    const w = new Wearable({
      provisioning,
      deviceKeyPem: issued.keyPem,
      deviceCertChainPem: issued.chainPem,
      caPem: pki.rootCa.certPem,
      cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
      endpoint: { ...endpoint, serverName: this.#gateway ? GATEWAY_NAME : serverName },
      profile: this.#profile(),
      clock: SimClock.compressed(1),
      evidence: { tlsEndpoint: (_role, e) => keyLog.attach(e) },
      ...(this.#spec.keepSessions !== false && !this.#gateway ? { sessionCache: this.cache } : {}),
      ...wearableOptions,
    });
    this.#wearables.push(w);
    return w;
  }

  /** Connect and wait for CONNACK; the time is what the device experienced. */
  async connect(w: Wearable): Promise<number> {
    const started = performance.now();
    await w.connect();
    const ms = performance.now() - started;
    this.connectMs.push(ms);
    return ms;
  }

  /** Stop everything and close the capture; returns its path. */
  async stop(): Promise<string> {
    await Promise.allSettled(this.#wearables.map((w) => w.stop()));
    await this.#gateway?.stop();
    await this.#link?.stop();
    await this.#broker?.stop();
    await this.#writer?.close();
    await this.#keyLog?.close();
    return this.capturePath;
  }
}
