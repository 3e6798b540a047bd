/**
 * The handshake scenarios' own roles in containers (topology/containers-resumption.ts):
 *
 *   ResumptionDeviceContainer: one wearable with its TLS session cache (roles/resumption-device.ts)
 *   TcpLinkRelayContainer:     the emulated link, links/tcp-link.ts with a latency per direction
 *                              (roles/tcp-link-relay.ts), on the device network and the cloud's
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { docker } from './docker-cli.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { MQTT_TLS_PORT } from './role-config.ts';

export type PinnedTlsVersion = 'TLS 1.2' | 'TLS 1.3';

export class ResumptionDeviceContainer extends NodeRoleContainer {
  #device: DeviceProvisioning | undefined;
  #endpoint: { host: string; port: number } | undefined;
  #version: PinnedTlsVersion = 'TLS 1.3';
  #keepSessions = true;

  withDevice(device: DeviceProvisioning): this {
    this.#device = device;
    return this;
  }

  /** Where it connects (the link relay); the server name is given per connection. */
  withEndpoint(host: string, port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`ResumptionDeviceContainer: port must be 1..65535, got ${port}`);
    this.#endpoint = { host, port };
    return this;
  }

  /** The one TLS version the device offers (minimum = maximum). */
  withTlsVersion(version: PinnedTlsVersion): this {
    if (version !== 'TLS 1.2' && version !== 'TLS 1.3') throw new Error(`ResumptionDeviceContainer: TLS version must be "TLS 1.2" or "TLS 1.3", got "${String(version)}"`);
    this.#version = version;
    return this;
  }

  /** false: the device keeps no session, so every handshake is full. */
  withSessionCache(keep: boolean): this {
    this.#keepSessions = keep;
    return this;
  }

  override async start(): Promise<StartedResumptionDeviceContainer> {
    if (!this.#device) throw new Error('ResumptionDeviceContainer: no device; call withDevice(provisioning)');
    if (!this.#endpoint) throw new Error('ResumptionDeviceContainer: no endpoint; call withEndpoint(host, port)');
    const { started, control } = await this.startRole({ role: 'resumption-device', device: this.#device, endpoint: this.#endpoint, tlsVersion: this.#version, keepSessions: this.#keepSessions });
    return new StartedResumptionDeviceContainer(started, control);
  }
}

export class StartedResumptionDeviceContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  /** Connect anew and wait for CONNACK; `ms` is the time the device saw. */
  connect(serverName: string, reconnectPeriodMs?: number): Promise<{ id: number; ms: number }> {
    return this.control.call('POST', '/connect', { serverName, ...(reconnectPeriodMs !== undefined ? { reconnectPeriodMs } : {}) }, 30_000);
  }

  async disconnect(id: number): Promise<void> {
    await this.control.call('POST', '/disconnect', { id }, 15_000);
  }

  async waitForConnacks(id: number, count: number, timeoutMs: number): Promise<void> {
    await this.control.call('POST', '/connacks', { id, count, timeoutMs }, timeoutMs + 5_000);
  }

  observations(id: number): Promise<Observation[]> {
    return this.control.call('GET', `/observations?id=${id}`);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}

export class TcpLinkRelayContainer extends NodeRoleContainer {
  static readonly LISTEN_PORT = MQTT_TLS_PORT;
  #name = 'device-cloud';
  #oneWayDelayMs = 0;
  #target: { host: string; port: number } | undefined;
  #upstreamNetwork: string | undefined;

  /** The link's name (its capture is `<name>.pcap`). */
  withLinkName(name: string): this {
    this.#name = name;
    return this;
  }

  /** Half the emulated round trip, added to each direction. */
  withRoundTripMs(rttMs: number): this {
    if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 10_000) throw new Error(`TcpLinkRelayContainer: round trip must be 0..10000 ms, got ${rttMs}`);
    this.#oneWayDelayMs = rttMs / 2;
    return this;
  }

  /** What the link leads to, on `network` (joined after start, as the gateway does). */
  withTarget(host: string, port: number, network: string): this {
    this.#target = { host, port };
    this.#upstreamNetwork = network;
    return this;
  }

  override async start(): Promise<StartedTcpLinkRelayContainer> {
    if (!this.#target || !this.#upstreamNetwork) throw new Error('TcpLinkRelayContainer: no target; call withTarget(host, port, network)');
    // link-delay holds the TCP handshake in an NFQUEUE queue (roles/tcp-link-relay.ts).
    if (this.#oneWayDelayMs > 0) this.withAddedCapabilities('NET_ADMIN');
    const { started, control } = await this.startRole({ role: 'tcp-link', name: this.#name, listenPort: TcpLinkRelayContainer.LISTEN_PORT, target: this.#target, oneWayDelayMs: this.#oneWayDelayMs });
    await docker(['network', 'connect', this.#upstreamNetwork, started.getId()]);
    return new StartedTcpLinkRelayContainer(started, control);
  }
}

export class StartedTcpLinkRelayContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  /** RST both ways on every open connection; returns how many there were. */
  async resetConnections(why: string): Promise<number> {
    return (await this.control.call<{ reset: number }>('POST', '/reset', { why }, 10_000)).reset;
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
