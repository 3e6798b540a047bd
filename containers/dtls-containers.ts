/**
 * The DTLS paths' roles in containers (topology/containers-dtls-topology.ts), each started by
 * role-runner.ts from the project mount (containers/roles/dtls-roles.ts), with the pion bridge
 * binary from the same mount (dtls-bridge/bin/dtls-bridge is static: CGO_ENABLED=0):
 *
 *   DtlsWearableContainer    the DTLS wearable fleet
 *   DtlsGatewayContainer     strips DTLS and forwards E3 over MQTT/TLS: the home gateway, or the
 *                            cloud's PSK DTLS endpoint in front of Mosquitto
 *   DtlsPskAttackerContainer the on-path attacker holding the PSK
 *   UdpLinkContainer         the userspace UDP relay that impairs a link (no tc netem here)
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import type { LinkImpairments } from '../links/impairments.ts';
import { DTLS_BRIDGE_PREBUILT_ENV } from '../emulators/dtls/dtls-bridge-process.ts';
import { dtlsVersionEnvironment } from '../emulators/dtls/dtls-version.ts';
import { docker } from './docker-cli.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { IDENTITY_DIR, type DtlsAuth, type Endpoint, type GatewayRole } from './role-config.ts';

/** DTLS servers listen on the IANA port of CoAP over DTLS (RFC 7252 §6.2); a link relay on the next one. */
export const DTLS_PORT = 5684;
export const UDP_LINK_PORT = 5685;

function checkPort(who: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${who}: port must be 1..65535, got ${port}`);
}

function maliceData(who: string, malice: readonly GatewayMalice[]): GatewayRole['malice'] {
  return malice.map((m) => {
    if (!m.options) throw new Error(`${who}: malice "${m.name}" carries no options; build it with the factories in emulators/gateway-malice.ts`);
    return { name: m.name, options: m.options };
  });
}

/** A role container that runs pion bridges: the binary the host built, from the read-only mount. */
export abstract class DtlsNodeRoleContainer extends NodeRoleContainer {
  constructor(image: string) {
    super(image);
    // The scenario's DTLS version goes with it (emulators/dtls/dtls-version.ts); both bridges
    // are built on the host and only run here.
    this.withEnvironment({ [DTLS_BRIDGE_PREBUILT_ENV]: '1', ...dtlsVersionEnvironment() });
  }
}

/** A started DTLS role: its observation log over the control socket, and an orderly stop. */
export class StartedDtlsRole extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  /** Its address on `network`, also one joined after start (Testcontainers knows only the first). */
  async addressOn(network: string): Promise<string> {
    const { stdout } = await docker(['inspect', '--format', `{{with index .NetworkSettings.Networks "${network}"}}{{.IPAddress}}{{end}}`, this.getId()]);
    const ip = stdout.trim();
    if (!ip) throw new Error(`containers: ${this.control.role} is not on network ${network}`);
    return ip;
  }

  observations(deviceId?: string): Promise<Observation[]> {
    return this.control.call('GET', deviceId === undefined ? '/observations' : `/observations?device=${encodeURIComponent(deviceId)}`);
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}

/** A role that also joins a second network after start (as GatewayContainer does). */
abstract class TwoNetworkRole extends DtlsNodeRoleContainer {
  protected second: { name: string; aliases: string[] } | undefined;

  protected async joinSecond(started: StartedTestContainer): Promise<void> {
    if (!this.second) return;
    await docker(['network', 'connect', ...this.second.aliases.flatMap((a) => ['--alias', a]), this.second.name, started.getId()]);
  }
}

export class DtlsWearableContainer extends DtlsNodeRoleContainer {
  #devices: readonly DeviceProvisioning[] = [];
  #endpoint: Endpoint | undefined;
  #auth: DtlsAuth | undefined;
  #clock: SimClockSpec | undefined;
  #handshakeTimeoutMs = 5_000;
  #reconnectAfterSends: number | undefined;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    if (devices.length < 1 || devices.length > 200) throw new Error(`DtlsWearableContainer: a DTLS fleet has 1..200 wearables (one bridge process each), got ${devices.length}`);
    this.#devices = devices;
    return this;
  }

  /** The UDP address the wearables send to, and the name the server certificate must carry. */
  withEndpoint(endpoint: Endpoint): this {
    checkPort('DtlsWearableContainer', endpoint.port);
    this.#endpoint = endpoint;
    return this;
  }

  withAuth(auth: DtlsAuth): this {
    this.#auth = auth;
    return this;
  }

  withClock(spec: SimClockSpec): this {
    this.#clock = spec;
    return this;
  }

  withHandshakeTimeoutMs(ms: number): this {
    if (!Number.isInteger(ms) || ms < 100 || ms > 120_000) throw new Error(`DtlsWearableContainer: handshake timeout must be 100..120000 ms, got ${ms}`);
    this.#handshakeTimeoutMs = ms;
    return this;
  }

  /** Handshake again after this many unacknowledged sends of a reading (emulators/dtls/dtls-wearable.ts); undefined: never. */
  withReconnectAfterSends(sends: number | undefined): this {
    this.#reconnectAfterSends = sends;
    return this;
  }

  override async start(): Promise<StartedDtlsWearableContainer> {
    if (this.#devices.length === 0) throw new Error('DtlsWearableContainer: no wearables; call withDevices(...)');
    if (!this.#endpoint) throw new Error('DtlsWearableContainer: no endpoint; call withEndpoint({ host, port, serverName })');
    if (!this.#auth) throw new Error('DtlsWearableContainer: no DTLS credentials; call withAuth({ kind: "certificate" }) or withAuth({ kind: "psk", pskHex })');
    if (!this.#clock) throw new Error("DtlsWearableContainer: no clock; call withClock(spec) with the cloud service's clock");
    const { started, control } = await this.startRole({ role: 'dtls-wearables', devices: this.#devices, endpoint: this.#endpoint, auth: this.#auth, clock: this.#clock, handshakeTimeoutMs: this.#handshakeTimeoutMs, ...(this.#reconnectAfterSends === undefined ? {} : { reconnectAfterSends: this.#reconnectAfterSends }) });
    return new StartedDtlsWearableContainer(started, control);
  }
}

export class StartedDtlsWearableContainer extends StartedDtlsRole {
  report(deviceId: string, count: number): Promise<Observation[]> {
    return this.control.call('POST', '/report', { deviceId, count }, 120_000);
  }

  settled(timeoutMs: number): Promise<void> {
    return this.control.call('POST', '/settled', { timeoutMs }, timeoutMs + 5_000);
  }
}

export class DtlsGatewayContainer extends TwoNetworkRole {
  #name: 'gateway' | 'cloud-dtls' = 'gateway';
  #auth: DtlsAuth = { kind: 'certificate' };
  #upstream: Endpoint | undefined;
  #identity: 'gateway' | 'identity-dir' = 'gateway';
  #malice: GatewayRole['malice'] = [];

  /** The home gateway (certificate DTLS, the gateway's MQTT identity), the default. */
  asHomeGateway(): this {
    this.#name = 'gateway';
    this.#auth = { kind: 'certificate' };
    this.#identity = 'gateway';
    return this;
  }

  /** The cloud's DTLS endpoint: PSK DTLS, and the cloud client identity in `identityDir` towards Mosquitto. */
  asCloudEndpoint(pskHex: string, identityDir: string): this {
    if (!/^[0-9a-f]{32}$/.test(pskHex)) throw new Error('DtlsGatewayContainer: the PSK must be 16 bytes as 32 lower-case hex digits');
    this.#name = 'cloud-dtls';
    this.#auth = { kind: 'psk', pskHex };
    this.#identity = 'identity-dir';
    return this.mount(...([{ source: identityDir, target: IDENTITY_DIR, mode: 'ro' }] as const));
  }

  /** The home gateway taking a DTLS fleet's pre-shared key (RFC 4279) from its devices instead of certificates. */
  withDevicePsk(pskHex: string): this {
    if (!/^[0-9a-f]{32}$/.test(pskHex)) throw new Error('DtlsGatewayContainer: the PSK must be 16 bytes as 32 lower-case hex digits');
    this.#auth = { kind: 'psk', pskHex };
    return this;
  }

  /** The MQTT/TLS broker it forwards to (on the network given to withInternalNetwork: it connects at start). */
  withUpstream(endpoint: Endpoint): this {
    this.#upstream = endpoint;
    return this;
  }

  /** The devices' network, joined after start under `aliases` (the DTLS listener is on 0.0.0.0). */
  withDeviceNetwork(network: string, ...aliases: string[]): this {
    this.second = { name: network, aliases };
    return this;
  }

  withMalice(malice: readonly GatewayMalice[]): this {
    this.#malice = maliceData('DtlsGatewayContainer', malice);
    return this;
  }

  override async start(): Promise<StartedDtlsRole> {
    if (!this.#upstream) throw new Error('DtlsGatewayContainer: no upstream; call withUpstream(endpoint)');
    const { started, control } = await this.startRole({ role: 'dtls-gateway', name: this.#name, listenPort: DTLS_PORT, auth: this.#auth, upstream: this.#upstream, identity: this.#identity, malice: this.#malice });
    await this.joinSecond(started);
    return new StartedDtlsRole(started, control);
  }
}

export class DtlsPskAttackerContainer extends TwoNetworkRole {
  #upstream: { host: string; port: number } | undefined;
  #pskHex: string | undefined;
  #malice: GatewayRole['malice'] = [];

  withPsk(pskHex: string): this {
    if (!/^[0-9a-f]{32}$/.test(pskHex)) throw new Error('DtlsPskAttackerContainer: the PSK must be 16 bytes as 32 lower-case hex digits');
    this.#pskHex = pskHex;
    return this;
  }

  /** The genuine DTLS endpoint it relays to, on `network` (joined after start; resolved when a device first sends). */
  withUpstream(host: string, port: number, network: string, ...aliases: string[]): this {
    checkPort('DtlsPskAttackerContainer', port);
    this.#upstream = { host, port };
    this.second = { name: network, aliases };
    return this;
  }

  withMalice(malice: readonly GatewayMalice[]): this {
    this.#malice = maliceData('DtlsPskAttackerContainer', malice);
    return this;
  }

  override async start(): Promise<StartedDtlsRole> {
    if (!this.#upstream) throw new Error('DtlsPskAttackerContainer: no upstream; call withUpstream(host, port, cloudNetwork)');
    if (!this.#pskHex) throw new Error('DtlsPskAttackerContainer: no PSK; call withPsk(hex) (the attacker holds the key)');
    const { started, control } = await this.startRole({ role: 'dtls-psk-attacker', listenPort: DTLS_PORT, upstream: this.#upstream, pskHex: this.#pskHex, malice: this.#malice });
    await this.joinSecond(started);
    return new StartedDtlsRole(started, control);
  }
}

export class UdpLinkContainer extends DtlsNodeRoleContainer {
  #name: string | undefined;
  #target: { host: string; port: number } | undefined;
  #impairments: LinkImpairments = {};

  /** The link's name as the steps know it (e.g. "device-gateway"). */
  withLinkName(name: string): this {
    if (!/^[a-z0-9-]{1,40}$/.test(name)) throw new Error(`UdpLinkContainer: link name "${name}" must be 1-40 lower-case letters, digits or '-'`);
    this.#name = name;
    return this;
  }

  withTarget(host: string, port: number): this {
    checkPort('UdpLinkContainer', port);
    this.#target = { host, port };
    return this;
  }

  withImpairments(impairments: LinkImpairments): this {
    this.#impairments = impairments;
    return this;
  }

  override async start(): Promise<StartedDtlsRole> {
    if (!this.#name) throw new Error('UdpLinkContainer: no name; call withLinkName(name)');
    if (!this.#target) throw new Error('UdpLinkContainer: no target; call withTarget(host, port)');
    const { started, control } = await this.startRole({ role: 'udp-link', name: this.#name, listenPort: UDP_LINK_PORT, target: this.#target, impairments: this.#impairments });
    return new StartedDtlsRole(started, control);
  }
}
