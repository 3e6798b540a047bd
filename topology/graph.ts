/**
 * The testbed as a graph (docs/architecture.md §8 The graph and its placements): roles and the links between them, as plain data that
 * survives JSON. A feature's set-up is a recipe (topology/recipes.ts) that builds one; a
 * placement (topology/placements.ts) realizes it or says, before anything starts, why it cannot.
 * Nothing here runs anything: a graph is what an analyst would draw on a whiteboard.
 */
import type { LinkImpairments } from '../links/impairments.ts';

/** Brokers a graph can ask for: Aedes in-process (node:tls), or Mosquitto, the real broker. */
export const BROKER_KINDS = ['aedes', 'mosquitto'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

/** A gateway malice as data (emulators/gateway-malice.ts rebuilds it in any process). */
export interface MaliceData {
  readonly name: string;
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface WearableRole {
  readonly kind: 'wearable';
  readonly name: string;
  /** Device ids this role hosts (one process or container hosts a shard of the fleet). */
  readonly devices: readonly string[];
  /** Client profile (emulators/tls-client-profile.ts). */
  readonly profile: string;
  readonly transport: 'mqtt-tls' | 'mqtt-plain' | 'dtls';
}

export interface GatewayRole {
  readonly kind: 'gateway';
  readonly name: string;
  /** relay: a TCP relay; terminate: ends the device's TLS; strip-dtls: ends DTLS, forwards E3 over MQTT/TLS. */
  readonly mode: 'relay' | 'terminate' | 'strip-dtls';
  readonly malice: readonly MaliceData[];
  /** Client profile of its upstream (E4) connection. */
  readonly upstreamProfile: string;
}

export interface MitmRole {
  readonly kind: 'mitm-proxy';
  readonly name: string;
  readonly transport: 'tls' | 'dtls' | 'dtls-psk';
  /** What it presents: a forged-certificate case (certs/forged-catalogue.ts), or the genuine one as control. */
  readonly presents: string;
  /** It holds the gateway's stolen identity and relays into the real cloud with it. */
  readonly relaysUpstream: boolean;
}

export interface ExternalClientRole {
  readonly kind: 'external-client';
  readonly name: string;
  /** An independent program, not our code: its verdict is a cross-check. */
  readonly program: 'mosquitto_pub' | 'openssl-s_client' | 'openssl-strict' | 'openssl-dtls' | 'sslscan';
}

export interface ProbeRole {
  readonly kind: 'probe';
  readonly name: string;
  /** What it offers: one TLS version, one cipher suite, or a device credential. */
  readonly offers: 'tls-version' | 'cipher-suite' | 'device-credential' | 'session-resumption';
}

export interface CloudBrokerRole {
  readonly kind: 'cloud-broker';
  readonly name: string;
  readonly broker: BrokerKind;
  /** TLS policy (emulators/tls-server-policy.ts): versions and suites it accepts. */
  readonly policy: string;
  readonly noDelay: boolean;
  /** The plaintext pitfall: a plain MQTT listener (1883). */
  readonly plainListener: boolean;
  /** Keep TLS sessions (tickets, session ids) for resumption. */
  readonly sessionResumption: boolean;
}

export interface CloudServiceRole {
  readonly kind: 'cloud-service';
  readonly name: string;
}

export interface DtlsEndpointRole {
  readonly kind: 'dtls-endpoint';
  readonly name: string;
  /** The cloud's DTLS endpoint (E3 straight to the cloud over DTLS). */
  readonly side: 'server';
  readonly authentication: 'certificate' | 'psk';
}

export type Role = WearableRole | GatewayRole | MitmRole | ExternalClientRole | ProbeRole | CloudBrokerRole | CloudServiceRole | DtlsEndpointRole;
export type RoleKind = Role['kind'];
export const ROLE_KINDS: readonly RoleKind[] = ['wearable', 'gateway', 'mitm-proxy', 'external-client', 'probe', 'cloud-broker', 'cloud-service', 'dtls-endpoint'];

export interface Link {
  /** Also the capture's file name: `<name>.pcap`. */
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly impairments?: LinkImpairments;
  readonly capture: boolean;
}

export interface Graph {
  /** The recipe that built it: what the report names it. */
  readonly recipe: string;
  readonly roles: readonly Role[];
  readonly links: readonly Link[];
  /** Simulated seconds per wall second (the chapter's 30 s interval compressed); 1 when absent. */
  readonly speedup?: number;
}

/** Roles of one kind, typed. */
export function rolesOf<K extends RoleKind>(graph: Graph, kind: K): Extract<Role, { kind: K }>[] {
  return graph.roles.filter((r): r is Extract<Role, { kind: K }> => r.kind === kind);
}

export function roleNamed(graph: Graph, name: string): Role {
  const role = graph.roles.find((r) => r.name === name);
  if (!role) throw new Error(`graph "${graph.recipe}": no role "${name}"; it has ${graph.roles.map((r) => r.name).join(', ') || 'no roles'}`);
  return role;
}

/**
 * Every reason this graph is not one a placement could realize, each a sentence that says what
 * to change. Empty when it is sound. Checked before anything starts (nothing to clean up).
 */
export function graphProblems(graph: unknown): string[] {
  if (graph === null || typeof graph !== 'object' || Array.isArray(graph)) return ['a graph must be an object with "recipe", "roles" and "links"'];
  const g = graph as Partial<Graph>;
  const problems: string[] = [];
  if (typeof g.recipe !== 'string' || g.recipe === '') problems.push('the graph has no "recipe" name; name the recipe that built it');
  if (!Array.isArray(g.roles)) return [...problems, 'the graph has no "roles" array'];
  if (!Array.isArray(g.links)) problems.push('the graph has no "links" array (use [] for none)');
  const names = new Set<string>();
  for (const [i, r] of g.roles.entries()) {
    const where = `role ${i + 1}${r && typeof r === 'object' && typeof r.name === 'string' ? ` ("${r.name}")` : ''}`;
    if (!r || typeof r !== 'object') {
      problems.push(`${where} is not an object`);
      continue;
    }
    if (typeof r.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(r.name)) problems.push(`${where}: "name" must be lower-case letters, digits and dashes`);
    else if (names.has(r.name)) problems.push(`${where}: the name "${r.name}" is used twice; role names are unique`);
    else names.add(r.name);
    if (!(ROLE_KINDS as readonly string[]).includes(r.kind)) problems.push(`${where}: unknown kind "${String(r.kind)}"; known kinds: ${ROLE_KINDS.join(', ')}`);
    if (r.kind === 'cloud-broker' && !(BROKER_KINDS as readonly string[]).includes(r.broker)) {
      problems.push(`${where}: unknown broker kind "${String(r.broker)}"; use one of ${BROKER_KINDS.join(', ')}`);
    }
    if (r.kind === 'wearable' && (!Array.isArray(r.devices) || r.devices.length === 0)) problems.push(`${where}: a wearable role hosts at least one device id`);
  }
  for (const [i, l] of (Array.isArray(g.links) ? g.links : []).entries()) {
    const where = `link ${i + 1}${l && typeof l.name === 'string' ? ` ("${l.name}")` : ''}`;
    if (!l || typeof l !== 'object') {
      problems.push(`${where} is not an object`);
      continue;
    }
    for (const end of ['from', 'to'] as const) {
      if (!names.has(l[end])) problems.push(`${where}: "${end}" names the role "${String(l[end])}", which the graph does not have; add it or fix the name`);
    }
    if (l.protocol !== 'tcp' && l.protocol !== 'udp') problems.push(`${where}: protocol must be "tcp" or "udp", got "${String(l.protocol)}"`);
  }
  if (g.speedup !== undefined && !(typeof g.speedup === 'number' && g.speedup >= 1 && g.speedup <= 10_000)) problems.push(`speedup must be a number from 1 to 10000, got ${String(g.speedup)}`);
  return problems;
}

/** A sound graph, or one error listing every problem. */
export function checkGraph(graph: Graph): Graph {
  const problems = graphProblems(graph);
  if (problems.length > 0) throw new Error(`graph "${String((graph as Partial<Graph>)?.recipe ?? '?')}" cannot be realized: ${problems.join('; ')}`);
  return graph;
}

/** One line per role and link, for the report and `testbed` output. */
export function describeGraph(graph: Graph): string {
  const role = (r: Role): string => {
    switch (r.kind) {
      case 'wearable': return `${r.name}: ${r.devices.length} wearable(s), ${r.transport}, profile ${r.profile}`;
      case 'gateway': return `${r.name}: gateway (${r.mode}${r.malice.length ? `; malice ${r.malice.map((m) => m.name).join(', ')}` : ''})`;
      case 'mitm-proxy': return `${r.name}: MITM over ${r.transport} presenting ${r.presents}${r.relaysUpstream ? ', relaying upstream' : ''}`;
      case 'external-client': return `${r.name}: ${r.program}`;
      case 'probe': return `${r.name}: probe offering one ${r.offers}`;
      case 'cloud-broker': return `${r.name}: ${r.broker} broker, policy ${r.policy}${r.noDelay ? '' : ', Nagle on'}${r.plainListener ? ', plain 1883 listener' : ''}`;
      case 'cloud-service': return `${r.name}: cloud service (E3 opener, audit)`;
      case 'dtls-endpoint': return `${r.name}: the cloud's DTLS endpoint (${r.authentication})`;
    }
  };
  return [
    `recipe ${graph.recipe}`,
    ...graph.roles.map((r) => `  role ${role(r)}`),
    ...graph.links.map((l) => `  link ${l.name}: ${l.from} → ${l.to} (${l.protocol}${l.capture ? ', captured' : ''}${l.impairments ? ', impaired' : ''})`),
  ].join('\n');
}
