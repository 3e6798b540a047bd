/**
 * The gateway in its own container, on the device network (where the wearables reach it as
 * gateway.testbed.local) and on the cloud network (where it reaches the broker). With
 * transparent interception, iptables in the gateway's own namespace REDIRECTs traffic to the
 * cloud port into the gateway's listener, as certmitm does: the client is not pointed at it.
 */
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { docker } from './docker-cli.ts';
import { NodeRoleContainer, stopRole } from './node-role-container.ts';
import type { RoleControl } from './role-control.ts';
import { clientProfiles } from '../emulators/tls-client-profile.ts';
import { MQTT_TLS_PORT, type Endpoint, type GatewayRole } from './role-config.ts';

export class GatewayContainer extends NodeRoleContainer {
  static readonly LISTEN_PORT = MQTT_TLS_PORT;
  #mode: 'relay' | 'terminate' = 'terminate';
  #upstream: Endpoint | undefined;
  #upstreamNetwork: { name: string; aliases: string[] } | undefined;
  #malice: GatewayRole['malice'] = [];
  #intercept: number | undefined;
  #upstreamProfile = 'secure';
  #upstreamSessions = false;

  withMode(mode: 'relay' | 'terminate'): this {
    if (mode !== 'relay' && mode !== 'terminate') throw new Error(`GatewayContainer: mode must be "relay" or "terminate", got "${String(mode)}"`);
    this.#mode = mode;
    return this;
  }

  withUpstream(endpoint: Endpoint, network: string, ...aliases: string[]): this {
    this.#upstream = endpoint;
    this.#upstreamNetwork = { name: network, aliases };
    return this;
  }

  /** The client profile of the gateway's upstream TLS (emulators/tls-client-profile.ts); "secure" by default. */
  withUpstreamProfile(name: string): this {
    if (!clientProfiles.has(name)) throw new Error(`GatewayContainer: unknown upstream profile "${name}"; valid: ${[...clientProfiles.keys()].join(', ')}`);
    this.#upstreamProfile = name;
    return this;
  }

  /** Keep the upstream TLS sessions and offer them back when it reconnects to the broker. */
  withUpstreamSessions(keep: boolean): this {
    this.#upstreamSessions = keep;
    return this;
  }

  withMalice(malice: readonly GatewayMalice[]): this {
    this.#malice = malice.map((m) => {
      if (!m.options) throw new Error(`GatewayContainer: malice "${m.name}" carries no options; build it with the factories in emulators/gateway-malice.ts`);
      return { name: m.name, options: m.options };
    });
    return this;
  }

  /** Take TCP traffic to `port` that is routed through the gateway, without the client knowing. */
  withTransparentInterception(port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`GatewayContainer: interception port must be 1..65535, got ${port}`);
    this.#intercept = port;
    return this.withAddedCapabilities('NET_ADMIN');
  }

  withTransparentInterceptionIf(enabled: boolean, port: number): this {
    return enabled ? this.withTransparentInterception(port) : this;
  }

  override async start(): Promise<StartedGatewayContainer> {
    if (!this.#upstream || !this.#upstreamNetwork) throw new Error('GatewayContainer: no upstream; call withUpstream(endpoint, cloudNetwork)');
    if (this.#mode === 'relay' && this.#malice.some((m) => m.name !== 'sniff')) {
      throw new Error(`GatewayContainer: malice ${this.#malice.map((m) => m.name).join(', ')} needs the plaintext MQTT stream; use mode "terminate"`);
    }
    const { started, control } = await this.startRole({ role: 'gateway', mode: this.#mode, listenPort: GatewayContainer.LISTEN_PORT, upstream: this.#upstream, malice: this.#malice, upstreamProfile: this.#upstreamProfile, ...(this.#upstreamSessions ? { upstreamSessions: true } : {}) });
    const up = this.#upstreamNetwork;
    await docker(['network', 'connect', ...up.aliases.flatMap((a) => ['--alias', a]), up.name, started.getId()]);
    if (this.#intercept !== undefined) {
      // nat PREROUTING: only traffic arriving from other hosts (routed through us) is redirected.
      const rule = ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', String(this.#intercept), '-j', 'REDIRECT', '--to-ports', String(GatewayContainer.LISTEN_PORT)];
      const result = await started.exec(rule, { user: 'root' });
      if (result.exitCode !== 0) throw new Error(`GatewayContainer: iptables REDIRECT failed (${result.output.trim()}); the container needs NET_ADMIN`);
    }
    return new StartedGatewayContainer(started, control);
  }
}

export class StartedGatewayContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, readonly control: RoleControl) {
    super(started);
  }

  observations(): Promise<Observation[]> {
    return this.control.call('GET', '/observations');
  }

  /** The gateway's address on a network it joined. */
  addressOn(network: string): string {
    const ip = this.getIpAddress(network);
    if (!ip) throw new Error(`StartedGatewayContainer: not on network ${network}`);
    return ip;
  }

  async stopRole(): Promise<void> {
    await stopRole(this.startedTestContainer, this.control);
  }
}
