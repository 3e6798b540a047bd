/**
 * What the handshake steps (step-definitions/resumption.steps.ts) hold: a rig with one device,
 * an emulated link captured beside the device, and a broker — realized by the run's placement
 * (docs/architecture.md §8 The graph and its placements): in-process on loopback with Aedes on node:tls (topology/resumption-rig.ts), or
 * one container per role with Mosquitto on OpenSSL (topology/containers-resumption.ts). The
 * steps talk only to this surface, so both are judged by the same Then steps from the same
 * capture shapes.
 */
import type { BrokerKind } from './graph.ts';
import { currentPlacement, type Placement } from './placements.ts';
import { ResumptionRig, type ResumptionRigSpec } from './resumption-rig.ts';
import { ContainersResumptionRig } from './containers-resumption.ts';

export type { ResumptionRigSpec as HandshakeRigSpec, TlsVersion } from './resumption-rig.ts';

/** One connection of the device, open after CONNACK. */
export interface DeviceConnection {
  /** Time from connect() to CONNACK, as the device saw it. */
  readonly ms: number;
  /** Wait until this connection has seen `count` CONNACKs (the first one and reconnects). */
  waitForConnacks(count: number, timeoutMs: number): Promise<void>;
  /** Hang up (MQTT DISCONNECT, TLS close_notify, FIN). */
  stop(): Promise<void>;
}

export interface HandshakeRig {
  /** The broker this rig runs: what the feature's per-broker expectations are chosen by. */
  readonly brokerKind: BrokerKind;
  readonly capturePath: string;
  readonly keyLogPath: string;
  start(): Promise<void>;
  /** Connect `deviceId` asking for `serverName`; resolves at CONNACK. */
  connect(deviceId: string, serverName: string, options?: { reconnectPeriodMs?: number }): Promise<DeviceConnection>;
  /** Whose client certificate the far end (the broker, or a terminating gateway) verified last. */
  lastVerifiedPeer(): Promise<{ readonly verifier: 'broker' | 'gateway'; readonly peer: string | undefined }>;
  /** Reset every open connection on the link (RST both ways), as a broker-side drop. */
  resetConnections(why: string): Promise<number>;
  /**
   * The client-certificate identity (CN) the broker admitted, per connection, from its own record:
   * Aedes on node:tls records each handshake's verified peer; Mosquitto logs no handshake, only
   * each accepted CONNECT with the CN it took as the username. Whether a handshake resumed is
   * not asked of the broker: the capture shows it, the same way on both placements.
   */
  brokerAdmittedIdentities(): Promise<string[]>;
  /** The cloud's server certificate (PEM), to size a server flight against. */
  cloudCertificatePem(): string;
  /** Stop everything, close the capture and the key log; returns the capture's path. */
  stop(): Promise<string>;
}

/** The local placement: the in-process rig, as it always ran. */
export class LocalHandshakeRig implements HandshakeRig {
  readonly brokerKind = 'aedes' as const;
  readonly #rig: ResumptionRig;

  constructor(spec: ResumptionRigSpec) {
    this.#rig = new ResumptionRig(spec);
  }

  get capturePath(): string {
    return this.#rig.capturePath;
  }

  get keyLogPath(): string {
    return this.#rig.keyLogPath;
  }

  start(): Promise<void> {
    return this.#rig.start();
  }

  async connect(deviceId: string, serverName: string, options: { reconnectPeriodMs?: number } = {}): Promise<DeviceConnection> {
    const w = this.#rig.wearable(serverName, { ...options, deviceId });
    const ms = await this.#rig.connect(w);
    return {
      ms,
      waitForConnacks: async (count, timeoutMs) => void (await w.log.waitForCount('CONNACKs', (o) => o.kind === 'mqtt-connected', count, timeoutMs)),
      stop: () => w.stop(),
    };
  }

  async lastVerifiedPeer(): Promise<{ verifier: 'broker' | 'gateway'; peer: string | undefined }> {
    const r = this.#rig;
    if (r.hasGateway) return { verifier: 'gateway', peer: r.gateway.log.ofKind('device-tls').map((o) => String(o.detail.device)).at(-1) };
    return { verifier: 'broker', peer: r.broker.log.ofKind('tls-handshake').map((o) => String(o.detail.peer)).at(-1) };
  }

  async resetConnections(why: string): Promise<number> {
    return this.#rig.link.resetConnections(why);
  }

  async brokerAdmittedIdentities(): Promise<string[]> {
    return this.#rig.broker.log.ofKind('tls-handshake').map((o) => String(o.detail.peer));
  }

  cloudCertificatePem(): string {
    return this.#rig.pki.cloud.certPem;
  }

  stop(): Promise<string> {
    return this.#rig.stop();
  }
}

/** The rig of the run's placement. */
export function handshakeRig(spec: ResumptionRigSpec, placement: Placement = currentPlacement()): HandshakeRig {
  return placement.name === 'containers' ? new ContainersResumptionRig(spec) : new LocalHandshakeRig(spec);
}
