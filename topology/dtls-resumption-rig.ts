/**
 * The rig of the DTLS resumption scenarios: a device-side dtls-bridge client and the cloud's
 * dtls-bridge server, both keeping sessions (RFC 5246 §7.3 session IDs; pion has no tickets),
 * joined by a UDP link that delays each direction and captures beside the device.
 *
 *   bridge client (wearable-0001's certificate) ──UdpLink (latency, pcap)──▶ bridge server (cloud certificate, client auth)
 *
 * `reconnect` makes the client close its connection and handshake again from a new port; the
 * capture then holds one UDP flow per handshake.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { PcapWriter } from '../capture/pcap-writer.ts';
import { DtlsBridgeProcess } from '../emulators/dtls/dtls-bridge-process.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { UdpLink } from '../links/udp-link.ts';
import { latency, symmetric, type LinkImpairments } from '../links/impairments.ts';
import type { DtlsVersion } from '../emulators/dtls/dtls-version.ts';

const LOOPBACK = '127.0.0.1';
const DEVICE_ID = 'wearable-0001';
export const DTLS_CLOUD_NAME = 'cloud.testbed.local';
/**
 * The cloud's certificate flight (ServerHello … ServerHelloDone with a CertificateRequest) is
 * about 2 kB: at the bridge's default MTU of 1400 pion splits it over several datagrams, and
 * pion's client then stalls once they arrive spread out by a delaying link (dtls-bridge/README.md,
 * "pion limits"). Loopback carries 64 KiB datagrams: one datagram per flight, as the round-trip
 * count assumes (RFC 6347 §4.1.1 leaves the choice to the sender).
 */
const SERVER_MTU = 8192;

/**
 * The cloud's end: a bridge server with the cloud certificate, keeping sessions (the same on
 * every placement). `mtu` 8192: see SERVER_MTU.
 */
export function startDtlsSessionServer(o: { pki: PkiPaths; listen: { host: string; port: number }; clientCertificate: boolean; keyLogFile: string }): Promise<DtlsBridgeProcess> {
  return DtlsBridgeProcess.start(
    { mode: 'server', listen: o.listen, certFile: o.pki.cloud.chain, keyFile: o.pki.cloud.key, caFile: o.pki.caBundle, clientAuth: o.clientCertificate ? 'require' : 'none', sessionStore: true, mtu: SERVER_MTU, keyLogFile: o.keyLogFile },
    { name: 'cloud-dtls/bridge' },
  );
}

/** The device's end: a bridge client keeping its session; each handshake() after the first reconnects. */
export class DtlsSessionClient {
  #client: DtlsBridgeProcess | undefined;

  /** `version`: the device's DTLS version when it differs from the scenario's (a DTLS 1.2 client against a DTLS 1.3 cloud). */
  constructor(private readonly o: { pki: PkiPaths; connect: { host: string; port: number }; clientCertificate: boolean; keyLogFile: string; version?: DtlsVersion; sessionStore?: boolean }) {}

  /** First call: start the client and handshake; later calls: `reconnect` (a new handshake). Resolves with the client's handshake event. */
  /** `earlyData`: on a reconnect, sent as DTLS 1.3 0-RTT early data in the first flight (wolfssl-bridge). */
  async handshake(timeoutMs = 10_000, earlyData?: Uint8Array): Promise<DtlsHandshakeEvent> {
    let since = 0;
    if (!this.#client) {
      const files = this.o.pki.wearable(DEVICE_ID);
      this.#client = await DtlsBridgeProcess.start(
        { mode: 'client', connect: this.o.connect, ...(this.o.clientCertificate ? { certFile: files.chain, keyFile: files.key } : {}), caFile: this.o.pki.caBundle, serverName: DTLS_CLOUD_NAME, sessionStore: this.o.sessionStore ?? true, keyLogFile: this.o.keyLogFile, ...(this.o.version ? { version: this.o.version } : {}) },
        { name: `${DEVICE_ID}/dtls` },
      );
    } else {
      since = this.#client.log.all().length;
      this.#client.command(earlyData ? { cmd: 'reconnect', earlyData: Buffer.from(earlyData).toString('hex') } : { cmd: 'reconnect' });
    }
    const outcome = await this.#client.handshakeOutcome(timeoutMs, since);
    if (!outcome.ok) throw new Error(`dtls-resumption-rig: the DTLS handshake failed: ${String(outcome.event.reason)} ${String(outcome.event.error ?? '')}`);
    return { resumed: outcome.event.resumed === true, durationMs: Number(outcome.event.durationMs), sessionId: String(outcome.event.sessionId ?? '') };
  }

  /** Send one datagram through the current connection (so the capture shows the first application byte). */
  send(payload: Uint8Array): void {
    if (!this.#client) throw new Error('dtls-resumption-rig: no handshake yet');
    this.#client.send(payload);
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.stop();
  }
}

/** A device generates the rig's PKI (wearable-0001 and the cloud) into `<dir>/pki`. */
export async function dtlsResumptionPki(dir: string): Promise<PkiPaths> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return writePki(await generatePki({ wearableIds: [DEVICE_ID] }), join(dir, 'pki'));
}

export interface DtlsHandshakeEvent {
  readonly resumed: boolean;
  readonly durationMs: number;
  readonly sessionId: string;
}

/** A rig's spec: `link` replaces the RTT's plain delay (e.g. with an on-path attacker's edit); `deviceVersion` sets the device's own DTLS version. */
export interface DtlsRigSpec {
  readonly dir: string;
  readonly rttMs: number;
  readonly clientCertificate: boolean;
  readonly link?: LinkImpairments;
  readonly deviceVersion?: DtlsVersion;
  /**
   * The device keeps its session for resumption (default true). pion's client with a session
   * store stalls against wolfSSL's DTLS 1.2 server (it retransmits its ClientHello after the
   * server's full flight), so the downgrade scenarios, which never resume, turn it off.
   */
  readonly deviceSessionStore?: boolean;
}

/** What both placements' rigs share: the scenario's spec, and where the capture and key log go. */
export abstract class DtlsResumptionSpec {
  protected readonly dir: string;
  protected readonly rttMs: number;
  protected readonly clientCertificate: boolean;
  /** The device link's impairments: by default the RTT's delay, half each way. */
  protected readonly link: LinkImpairments;
  /** The device's DTLS version when it is not the scenario's. */
  protected readonly deviceVersion: DtlsVersion | undefined;
  protected readonly deviceSessionStore: boolean;

  /**
   * `clientCertificate`: the device authenticates with its certificate (mutual DTLS). pion's
   * server then stores no session (it would have to re-check the certificate on resumption,
   * CVE-2016-5419), so every handshake is a full one; without it the device checks the server only.
   */
  constructor(spec: DtlsRigSpec) {
    if (!Number.isFinite(spec.rttMs) || spec.rttMs < 0 || spec.rttMs > 10_000) throw new Error(`dtls-resumption-rig: RTT must be 0..10000 ms, got ${spec.rttMs}`);
    this.dir = spec.dir;
    this.rttMs = spec.rttMs;
    this.clientCertificate = spec.clientCertificate;
    this.link = spec.link ?? symmetric(latency({ ms: spec.rttMs / 2 }));
    this.deviceVersion = spec.deviceVersion;
    this.deviceSessionStore = spec.deviceSessionStore ?? true;
  }

  get capturePath(): string {
    return join(this.dir, 'captures', 'device-cloud-dtls.pcap');
  }

  get keyLogPath(): string {
    return join(this.dir, 'dtls.keylog');
  }

  abstract start(): Promise<void>;
  abstract handshake(timeoutMs?: number, earlyData?: Uint8Array): Promise<DtlsHandshakeEvent>;
  /** The cloud bridge's own events (its handshakes, with what early data it received). */
  abstract serverEvents(): Promise<readonly Observation[]>;
  /** Stop everything and close the capture; returns its path. Safe to call twice. */
  abstract stop(): Promise<string>;
}

export class DtlsResumptionRig extends DtlsResumptionSpec {
  #server: DtlsBridgeProcess | undefined;
  #client: DtlsSessionClient | undefined;
  #link: UdpLink | undefined;
  #writer: PcapWriter | undefined;

  async start(): Promise<void> {
    const pki = await dtlsResumptionPki(this.dir);
    this.#server = await startDtlsSessionServer({ pki, listen: { host: LOOPBACK, port: 0 }, clientCertificate: this.clientCertificate, keyLogFile: this.keyLogPath });
    this.#writer = PcapWriter.open(this.capturePath);
    this.#link = new UdpLink({ name: 'device-cloud', listen: { host: LOOPBACK, port: 0 }, target: this.#server.dtlsAddress, capture: this.#writer, impairments: this.link });
    const endpoint = await this.#link.start();
    this.#client = new DtlsSessionClient({ pki, connect: endpoint, clientCertificate: this.clientCertificate, keyLogFile: this.keyLogPath, sessionStore: this.deviceSessionStore, ...(this.deviceVersion ? { version: this.deviceVersion } : {}) });
  }

  handshake(timeoutMs = 10_000, earlyData?: Uint8Array): Promise<DtlsHandshakeEvent> {
    if (!this.#client) throw new Error('dtls-resumption-rig: not started');
    return this.#client.handshake(timeoutMs, earlyData);
  }

  send(payload: Uint8Array): void {
    if (!this.#client) throw new Error('dtls-resumption-rig: no handshake yet');
    this.#client.send(payload);
  }

  serverEvents(): Promise<readonly Observation[]> {
    if (!this.#server) throw new Error('dtls-resumption-rig: not started');
    return Promise.resolve(this.#server.log.all());
  }

  /** Stop everything and close the capture; returns its path. */
  async stop(): Promise<string> {
    await this.#client?.stop();
    await this.#link?.stop();
    await this.#server?.stop();
    await this.#writer?.close();
    this.#client = undefined;
    this.#server = undefined;
    this.#link = undefined;
    return this.capturePath;
  }
}
