/**
 * Endpoints a user reaches from this machine. The containers placement keeps every role on
 * `--internal` Docker networks, where Docker publishes no ports; the host itself is on each
 * network's bridge, so a relay of ours listening on 127.0.0.1 only (never 0.0.0.0: nothing
 * beyond this machine may reach the testbed) forwards to the role's address on its network.
 * The roles are found by the network aliases the realizations give them and by the run label.
 */
import { docker } from '../containers/docker-cli.ts';
import { RUN_LABEL } from '../containers/run-labels.ts';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { GATEWAY_CLOUD_MITM_NAME } from '../topology/containers-gateway-mitm.ts';
import { DEVICE_GATEWAY_MITM_NAME } from '../topology/containers-device-mitm.ts';

export const DEVICE_MITM_WHAT = 'the MITM on the device link, where the wearables connect (presents a forged gateway certificate, relays to the gateway)';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import { DTLS_PORT } from '../containers/dtls-containers.ts';
import { TcpLink } from '../links/tcp-link.ts';
import { UdpLink } from '../links/udp-link.ts';
import type { BrokerPolicyOffer } from './broker-policy-offer.ts';

export const LOOPBACK = '127.0.0.1';

/** One endpoint of the running graph, reachable from this machine. */
export interface ReachableEndpoint {
  /** The graph's role behind it. */
  readonly role: string;
  readonly protocol: 'tcp' | 'udp';
  readonly host: string;
  readonly port: number;
  /** The name its certificate is issued for (what a client sends as SNI and checks). */
  readonly serverName: string;
  /** The port the role itself listens on (what its captures show). */
  readonly rolePort: number;
  readonly what: string;
  /** The cloud broker's TLS policy and what it offers on this placement (`up --policy`). */
  readonly offers?: BrokerPolicyOffer;
}

/** A role of the containers placement a user may reach, by the alias it has on its network. */
interface Reachable {
  readonly alias: string;
  readonly role: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly serverName: string;
  readonly what: string;
}

export function containerRoles(o: { dtlsGateway: boolean }): Reachable[] {
  return [
    o.dtlsGateway
      ? { alias: GATEWAY_NAME, role: 'gateway', protocol: 'udp', port: DTLS_PORT, serverName: GATEWAY_NAME, what: 'the gateway (DTLS 1.2, strips DTLS)' }
      : { alias: GATEWAY_NAME, role: 'gateway', protocol: 'tcp', port: MQTT_TLS_PORT, serverName: GATEWAY_NAME, what: 'the gateway (MQTT over TLS, where the wearables connect)' },
    { alias: CLOUD_NAME, role: 'cloud-broker', protocol: 'tcp', port: MQTT_TLS_PORT, serverName: CLOUD_NAME, what: 'the cloud broker (Mosquitto, MQTT over TLS 1.3, mutual TLS)' },
    { alias: GATEWAY_CLOUD_MITM_NAME, role: 'mitm-proxy', protocol: 'tcp', port: MQTT_TLS_PORT, serverName: CLOUD_NAME, what: 'the MITM on the gateway→cloud link (presents a forged cloud certificate)' },
    // A run has one MITM at most: whichever alias the run's containers carry is published.
    { alias: DEVICE_GATEWAY_MITM_NAME, role: 'mitm-proxy', protocol: 'tcp', port: MQTT_TLS_PORT, serverName: GATEWAY_NAME, what: DEVICE_MITM_WHAT },
  ];
}

/** Address of each network alias among the run's containers. */
export async function aliasAddresses(runId: string): Promise<Map<string, string>> {
  const { stdout } = await docker(['ps', '-q', '--filter', `label=${RUN_LABEL}=${runId}`], { timeoutMs: 20_000 });
  const ids = stdout.split('\n').filter(Boolean);
  const addresses = new Map<string, string>();
  if (ids.length === 0) return addresses;
  const inspected = await docker(['inspect', '--format', '{{json .NetworkSettings.Networks}}', ...ids], { timeoutMs: 20_000 });
  for (const line of inspected.stdout.split('\n').filter(Boolean)) {
    const networks = JSON.parse(line) as Record<string, { Aliases?: string[] | null; IPAddress?: string }>;
    for (const n of Object.values(networks)) for (const alias of n.Aliases ?? []) if (n.IPAddress) addresses.set(alias, n.IPAddress);
  }
  return addresses;
}

export interface HostRelay {
  readonly endpoint: ReachableEndpoint;
  stop(): Promise<void>;
}

/** Relay 127.0.0.1:<port> (ephemeral unless given) to a role's address on its internal network. */
export async function publishOnLoopback(r: Reachable, address: string, port = 0): Promise<HostRelay> {
  const config = { name: `published-${r.role}`, listen: { host: LOOPBACK, port }, target: { host: address, port: r.port } };
  const link = r.protocol === 'tcp' ? new TcpLink(config) : new UdpLink(config);
  let listening;
  try {
    listening = await link.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // The links wrap node's error in their own, naming the code (links/tcp-link.ts).
    if (port !== 0 && (e.code === 'EADDRINUSE' || /\bEADDRINUSE\b/.test(e.message))) throw new Error(`port ${port} on ${LOOPBACK} is already in use; choose another with --port-base or free it`, { cause: err });
    throw err;
  }
  return { endpoint: { role: r.role, protocol: r.protocol, host: LOOPBACK, port: listening.port, serverName: r.serverName, rolePort: r.port, what: r.what }, stop: () => link.stop() };
}

/** Publish every reachable role the run has; roles it does not have are left out. */
export async function publishContainerRoles(runId: string, o: { dtlsGateway: boolean; portBase?: number }): Promise<HostRelay[]> {
  const addresses = await aliasAddresses(runId);
  const relays: HostRelay[] = [];
  try {
    for (const [i, r] of containerRoles(o).entries()) {
      const address = addresses.get(r.alias);
      if (address) relays.push(await publishOnLoopback(r, address, o.portBase ? o.portBase + i : 0));
    }
  } catch (err) {
    await Promise.all(relays.map((x) => x.stop().catch(() => undefined)));
    throw err;
  }
  return relays;
}
