/**
 * Recipes: each feature's set-up as a function that builds a graph (topology/graph.ts). Today's
 * loopback rigs are the local placement's realization of these graphs; a placement that has no
 * realization of a graph's roles says so before anything starts (topology/placements.ts).
 *
 * A feature names its recipe with a tag, `@recipe-<name>`; the scenario's own tags add what
 * changes the graph's shape before any step runs (`@dtls`: the device side speaks DTLS).
 */
import type { LinkImpairments } from '../links/impairments.ts';
import type { BrokerKind, CloudBrokerRole, ExternalClientRole, Graph, Link, MaliceData, Role } from './graph.ts';

const DEVICE = 'wearable-0001';

function broker(kind: BrokerKind, o: Partial<Omit<CloudBrokerRole, 'kind' | 'name' | 'broker'>> = {}): CloudBrokerRole {
  return { kind: 'cloud-broker', name: 'cloud-broker', broker: kind, policy: o.policy ?? 'default', noDelay: o.noDelay ?? true, plainListener: o.plainListener ?? false, sessionResumption: o.sessionResumption ?? true };
}

const cloudService = { kind: 'cloud-service', name: 'cloud-service' } as const;

function link(name: string, from: string, to: string, protocol: 'tcp' | 'udp' = 'tcp', impairments?: LinkImpairments): Link {
  return { name, from, to, protocol, capture: true, ...(impairments ? { impairments } : {}) };
}

export interface ReportingOptions {
  readonly broker: BrokerKind;
  readonly wearables: number;
  readonly path: 'terminating-gateway' | 'relay-gateway' | 'dtls-stripping-gateway' | 'dtls-psk-attacker';
  readonly profile: string;
  readonly malice?: readonly MaliceData[];
  readonly speedup?: number;
  readonly deviceLinkImpairments?: LinkImpairments;
  readonly gatewayUpstreamProfile?: string;
  readonly gatewayCloudMitm?: { readonly forgedCase: string; readonly stolenGatewayIdentity: boolean };
  /** A MITM between the wearables and the gateway presenting this forged-certificate case (terminating gateway). */
  readonly deviceGatewayMitm?: { readonly forgedCase: string };
  readonly plaintext?: boolean;
  /** The cloud broker's TLS policy (emulators/tls-server-policy.ts); `default` when absent. */
  readonly brokerPolicy?: string;
}

/**
 * Wearables report readings to the cloud (docs/architecture.md §2 The modelled system): through a gateway that relays TCP,
 * terminates TLS or strips DTLS, or through an on-path attacker holding the DTLS PSK; optionally
 * with a MITM between the gateway and the cloud.
 */
export function reporting(o: ReportingOptions): Graph {
  const devices = Array.from({ length: o.wearables }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
  const dtls = o.path === 'dtls-stripping-gateway' || o.path === 'dtls-psk-attacker';
  const roles: Role[] = [{ kind: 'wearable', name: 'wearables', devices, profile: o.profile, transport: dtls ? 'dtls' : o.plaintext ? 'mqtt-plain' : 'mqtt-tls' }];
  const links: Link[] = [];
  if (o.path === 'dtls-psk-attacker') {
    roles.push({ kind: 'mitm-proxy', name: 'psk-attacker', transport: 'dtls-psk', presents: 'the DTLS pre-shared key', relaysUpstream: true });
    roles.push({ kind: 'dtls-endpoint', name: 'cloud-dtls', side: 'server', authentication: 'psk' }, cloudService);
    links.push(link('device-attacker', 'wearables', 'psk-attacker', 'udp', o.deviceLinkImpairments), link('attacker-cloud', 'psk-attacker', 'cloud-dtls', 'udp'));
    return { recipe: 'reporting', roles, links, ...(o.speedup ? { speedup: o.speedup } : {}) };
  }
  const mode = o.path === 'terminating-gateway' ? 'terminate' : o.path === 'relay-gateway' ? 'relay' : 'strip-dtls';
  roles.push({ kind: 'gateway', name: 'gateway', mode, malice: o.malice ?? [], upstreamProfile: o.gatewayUpstreamProfile ?? 'secure' });
  roles.push(broker(o.broker, { plainListener: o.plaintext === true, ...(o.brokerPolicy ? { policy: o.brokerPolicy } : {}) }), cloudService);
  if (o.deviceGatewayMitm) {
    // The captured device link leads to the MITM, which connects onward to the gateway
    // (relaysUpstream); that leg is not captured on its own (containers capture beside the MITM).
    roles.push({ kind: 'mitm-proxy', name: 'mitm-proxy', transport: 'tls', presents: o.deviceGatewayMitm.forgedCase, relaysUpstream: true });
    links.push(link('device-gateway', 'wearables', 'mitm-proxy', 'tcp', o.deviceLinkImpairments), { ...link('mitm-gateway', 'mitm-proxy', 'gateway'), capture: false });
  } else links.push(link('device-gateway', 'wearables', 'gateway', dtls ? 'udp' : 'tcp', o.deviceLinkImpairments));
  if (o.gatewayCloudMitm) {
    roles.push({ kind: 'mitm-proxy', name: 'mitm-proxy', transport: 'tls', presents: o.gatewayCloudMitm.forgedCase, relaysUpstream: o.gatewayCloudMitm.stolenGatewayIdentity });
    links.push(link('gateway-cloud', 'gateway', 'mitm-proxy'), link('mitm-cloud', 'mitm-proxy', 'cloud-broker'));
  } else {
    links.push(link('gateway-cloud', 'gateway', 'cloud-broker'));
  }
  return { recipe: 'reporting', roles, links, ...(o.speedup ? { speedup: o.speedup } : {}) };
}

const EXTERNAL: Record<string, ExternalClientRole['program']> = { mosquitto_pub: 'mosquitto_pub', 'openssl-s_client': 'openssl-s_client', 'openssl-strict': 'openssl-strict', 'openssl-dtls-strict': 'openssl-dtls' };

/** One victim client and one MITM presenting one certificate (the forged-certificate matrices). */
export function interception(o: { forgedCase: string; client: string; transport: 'tls' | 'dtls' }): Graph {
  const program = EXTERNAL[o.client];
  const victim: Role = program
    ? { kind: 'external-client', name: 'victim', program }
    : { kind: 'wearable', name: 'victim', devices: [DEVICE], profile: o.client, transport: o.transport === 'dtls' ? 'dtls' : 'mqtt-tls' };
  return {
    recipe: o.transport === 'dtls' ? 'dtls-interception' : 'interception',
    roles: [victim, { kind: 'mitm-proxy', name: 'mitm-proxy', transport: o.transport, presents: o.forgedCase, relaysUpstream: false }],
    links: [link('victim-mitm', 'victim', 'mitm-proxy', o.transport === 'dtls' ? 'udp' : 'tcp')],
  };
}

/**
 * Probes and clients we control against the cloud broker's own policy (mutual TLS, versions,
 * suites); `wearable`: a wearable of that client profile connects straight to the broker too,
 * through a captured link (its ClientHello is the evidence).
 */
export function brokerPolicy(o: { broker: BrokerKind; offers: 'device-credential' | 'tls-version' | 'cipher-suite'; policy?: string; scanner?: boolean; wearable?: string }): Graph {
  const roles: Role[] = [{ kind: 'probe', name: 'probe', offers: o.offers }, broker(o.broker, { policy: o.policy ?? 'default' }), cloudService];
  const links = [link('probe-cloud', 'probe', 'cloud-broker')];
  if (o.wearable) {
    roles.push({ kind: 'wearable', name: 'wearable', devices: [DEVICE], profile: o.wearable, transport: 'mqtt-tls' });
    links.push(link('wearable-cloud', 'wearable', 'cloud-broker'));
  }
  if (o.scanner) {
    roles.push({ kind: 'external-client', name: 'sslscan', program: 'sslscan' });
    links.push(link('sslscan-cloud', 'sslscan', 'cloud-broker'));
  }
  return { recipe: o.offers === 'device-credential' ? 'mutual-tls' : 'tls-policy', roles, links };
}

/** A device reconnecting over an emulated RTT, counted from the capture beside it. */
export function resumption(o: { broker: BrokerKind; transport: 'tls' | 'dtls'; rttMs: number; viaGateway?: boolean; noDelay?: boolean }): Graph {
  const dtls = o.transport === 'dtls';
  const roles: Role[] = [{ kind: 'probe', name: 'device', offers: 'session-resumption' }];
  const links: Link[] = [];
  const half = { kind: 'latency' as const, ms: o.rttMs / 2, jitterMs: 0 };
  const impairments: LinkImpairments = { clientToServer: [half], serverToClient: [half] };
  if (dtls) {
    roles.push({ kind: 'dtls-endpoint', name: 'cloud-dtls', side: 'server', authentication: 'certificate' });
    links.push(link('device-cloud', 'device', 'cloud-dtls', 'udp', impairments));
    return { recipe: 'dtls-resumption', roles, links };
  }
  roles.push(broker(o.broker, { noDelay: o.noDelay ?? true }));
  if (o.viaGateway) {
    roles.push({ kind: 'gateway', name: 'gateway', mode: 'terminate', malice: [], upstreamProfile: 'secure' });
    links.push(link('device-gateway', 'device', 'gateway'), link('gateway-cloud', 'gateway', 'cloud-broker', 'tcp', impairments));
  } else {
    links.push(link('device-cloud', 'device', 'cloud-broker', 'tcp', impairments));
  }
  return { recipe: o.noDelay === false ? 'nagle' : 'resumption', roles, links };
}

/** openssl s_client -dtls1_2 against the cloud's pion DTLS endpoint. */
export function independentDtlsPeer(): Graph {
  return {
    recipe: 'independent-dtls-peer',
    roles: [{ kind: 'external-client', name: 'openssl', program: 'openssl-dtls' }, { kind: 'dtls-endpoint', name: 'cloud-dtls', side: 'server', authentication: 'certificate' }, cloudService],
    links: [link('openssl-cloud', 'openssl', 'cloud-dtls', 'udp')],
  };
}

/**
 * Hard-coded and shared credentials (source chapter §17.5, features/hardcoded-credentials.feature):
 * a fleet booted from its firmware images, an attacker holding one image, the broker and the
 * cloud service (topology/credentials-rig.ts). `scanOnly`: the analyst's scan of the images, no role runs.
 */
export function credentialsGraph(o: { broker: BrokerKind; profile: string; devices: readonly string[]; scanOnly?: boolean }): Graph {
  if (o.scanOnly) return { recipe: 'credentials', roles: [], links: [] };
  return {
    recipe: 'credentials',
    roles: [
      { kind: 'wearable', name: 'wearables', devices: o.devices, profile: o.profile, transport: 'mqtt-tls' },
      { kind: 'probe', name: 'attacker', offers: 'device-credential' },
      { ...broker(o.broker, { sessionResumption: false }) },
      cloudService,
    ],
    links: [link('wearables-cloud', 'wearables', 'cloud-broker'), link('attacker-cloud', 'attacker', 'cloud-broker')],
  };
}

/**
 * The worked example's fleet (source chapter §17.6): many wearables, each with its own identity,
 * straight to the broker over mutual TLS, and the cloud service behind it (topology/fleet-rig.ts).
 */
export function fleet(o: { broker: BrokerKind; wearables: number }): Graph {
  const devices = Array.from({ length: o.wearables }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
  return {
    recipe: 'fleet',
    roles: [{ kind: 'wearable', name: 'fleet', devices, profile: 'secure', transport: 'mqtt-tls' }, broker(o.broker), cloudService],
    links: [link('fleet-cloud', 'fleet', 'cloud-broker')],
  };
}

/**
 * A DTLS fleet on ONE bridge process (features/fleet-dtls.feature): the reporting graph's
 * DTLS-stripping path with many wearables behind an impaired device link (topology/dtls-fleet-rig.ts).
 */
export function dtlsFleet(o: { broker: BrokerKind; wearables: number; deviceLinkImpairments?: LinkImpairments }): Graph {
  return { ...reporting({ broker: o.broker, wearables: o.wearables, path: 'dtls-stripping-gateway', profile: 'secure', ...(o.deviceLinkImpairments ? { deviceLinkImpairments: o.deviceLinkImpairments } : {}) }), recipe: 'dtls-fleet' };
}

/** The energy model: arithmetic from the source chapter's tables, no role runs. */
export function energyModel(): Graph {
  return { recipe: 'energy-model', roles: [], links: [] };
}

export const RECIPE_NAMES = ['reporting', 'interception', 'dtls-interception', 'mutual-tls', 'tls-policy', 'resumption', 'nagle', 'independent-dtls-peer', 'energy-model', 'up', 'commands', 'dtls13-reporting', 'dtls13-interception', 'dtls13-resumption', 'credentials', 'fleet', 'zero-rtt-mqtt', 'dtls-fleet'] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

/**
 * The graph a scenario will build, as far as its tags tell before any step runs: what a
 * placement judges up front. The steps build the full graph later, and it is judged again.
 */
export function graphForTags(tags: readonly string[], brokerKind: BrokerKind): Graph | undefined {
  const recipeTag = tags.find((t) => t.startsWith('@recipe-'));
  if (!recipeTag) return undefined;
  const name = recipeTag.slice('@recipe-'.length);
  const dtls = tags.includes('@dtls');
  // Examples that state one broker's behaviour (`@broker-aedes`, `@broker-mosquitto`) ask for it:
  // the placement without that broker skips them with its reason.
  const kind: BrokerKind = tags.includes('@broker-mosquitto') ? 'mosquitto' : tags.includes('@broker-aedes') ? 'aedes' : brokerKind;
  switch (name as RecipeName) {
    case 'reporting': return reporting({ broker: kind, wearables: 1, path: dtls ? 'dtls-stripping-gateway' : tags.includes('@gateway-cloud') ? 'terminating-gateway' : 'relay-gateway', profile: 'secure', plaintext: tags.includes('@plaintext'), ...(tags.includes('@gateway-cloud') ? { gatewayCloudMitm: { forgedCase: 'self-signed', stolenGatewayIdentity: false } } : {}) });
    case 'interception': return interception({ forgedCase: 'self-signed', client: 'secure', transport: 'tls' });
    case 'dtls-interception': return interception({ forgedCase: 'self-signed', client: 'secure', transport: 'dtls' });
    case 'mutual-tls': return brokerPolicy({ broker: kind, offers: 'device-credential' });
    case 'tls-policy': return brokerPolicy({ broker: kind, offers: 'cipher-suite', scanner: tags.includes('@needs-sslscan'), ...(tags.includes('@wearable-client') ? { wearable: 'secure' } : {}) });
    case 'resumption': return resumption({ broker: kind, transport: dtls ? 'dtls' : 'tls', rttMs: 50 });
    case 'nagle': return resumption({ broker: kind, transport: 'tls', rttMs: 0, noDelay: false });
    case 'independent-dtls-peer': return independentDtlsPeer();
    case 'energy-model': return energyModel();
    case 'fleet': return fleet({ broker: kind, wearables: tags.includes('@fleet-full') ? 5000 : 1 });
    case 'dtls-fleet': return dtlsFleet({ broker: kind, wearables: 1000 });
    // features/external-peers.feature: the graph `testbed up` starts (api/up-graph.ts), one wearable
    // and the device reserved for external clients; @gateway-cloud adds the gateway→cloud MITM, @up-device-mitm the device-link MITM.
    case 'up': return reporting({ broker: kind, wearables: 2, path: 'terminating-gateway', profile: 'secure', speedup: 1, ...(tags.includes('@gateway-cloud') ? { gatewayCloudMitm: { forgedCase: 'self-signed', stolenGatewayIdentity: false } } : {}), ...(tags.includes('@up-device-mitm') ? { deviceGatewayMitm: { forgedCase: 'self-signed' } } : {}) });
    // Cloud→device commands (issue 13): the reporting graph through a TLS-terminating gateway.
    case 'commands': return { ...reporting({ broker: kind, wearables: 1, path: 'terminating-gateway', profile: 'secure' }), recipe: 'commands' };
    // The DTLS paths over DTLS 1.3 (features/dtls13-stripped-dtls.feature): the same roles and links, wolfSSL bridges.
    case 'dtls13-resumption': return { ...resumption({ broker: kind, transport: 'dtls', rttMs: 50 }), recipe: 'dtls13-resumption' };
    case 'dtls13-interception': return { ...interception({ forgedCase: 'self-signed', client: 'secure', transport: 'dtls' }), recipe: 'dtls13-interception' };
    case 'dtls13-reporting': return { ...reporting({ broker: kind, wearables: 1, path: 'dtls-stripping-gateway', profile: 'secure' }), recipe: 'dtls13-reporting' };
    // TLS 1.3 0-RTT through a wolfSSL front of the broker (features/zero-rtt-mqtt.feature): the resumption probe's roles and delaying link.
    case 'zero-rtt-mqtt': return { ...resumption({ broker: kind, transport: 'tls', rttMs: 50 }), recipe: 'zero-rtt-mqtt' };
    case 'credentials': return credentialsGraph({ broker: kind, profile: 'hardcoded-credentials', devices: ['wearable-0001'], scanOnly: tags.includes('@firmware-scan') });
    default: throw new Error(`unknown recipe tag ${recipeTag}; known recipes: ${RECIPE_NAMES.map((r) => `@recipe-${r}`).join(', ')}`);
  }
}
