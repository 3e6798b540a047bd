/**
 * Placements (docs/architecture.md §8 The graph and its placements): where a graph's roles run. A placement judges a graph before
 * anything starts and either realizes it or gives the reason it cannot — the reason a skipped
 * scenario shows on the console, in the HTML report and in JUnit. The reasons come from the
 * graph's roles and links, not from a hand-kept tag.
 */
import { checkGraph, graphProblems, type BrokerKind, type Graph, type Link, type Role } from './graph.ts';

export const PLACEMENT_NAMES = ['local', 'containers', 'swarm'] as const;
export type PlacementName = (typeof PLACEMENT_NAMES)[number];

/** A part of a graph a placement has no realization of, and what to do instead. */
export interface Unplaced {
  readonly what: string;
  readonly role?: (role: Role) => boolean;
  readonly link?: (link: Link) => boolean;
  readonly graph?: (graph: Graph) => boolean;
}

export interface Placement {
  readonly name: PlacementName;
  /** The broker a recipe gets when the scenario does not ask for one. */
  readonly defaultBroker: BrokerKind;
  /** Why this placement cannot realize the graph, or undefined when it can. */
  cannotRealize(graph: Graph): string | undefined;
}

function judge(name: PlacementName, graph: Graph, unplaced: readonly Unplaced[]): string | undefined {
  const problems = graphProblems(graph);
  if (problems.length > 0) return `the graph of recipe "${graph.recipe}" is unsound: ${problems.join('; ')}`;
  const gaps = unplaced.filter((u) => graph.roles.some((r) => u.role?.(r)) || graph.links.some((l) => u.link?.(l)) || u.graph?.(graph) === true);
  if (gaps.length === 0) return undefined;
  return `the ${name} placement cannot realize recipe "${graph.recipe}": ${gaps.map((g) => g.what).join('; ')}`;
}

/** What the local placement (loopback, in-process roles and child processes) does not run. */
const LOCAL_UNPLACED: readonly Unplaced[] = [
  { what: 'Mosquitto runs only in the containers placement here (the local broker is Aedes on node:tls); use --topology containers', role: (r) => r.kind === 'cloud-broker' && r.broker === 'mosquitto' },
];

/**
 * What the containers placement does not run yet. Each entry is a capability still to build:
 * remove it in the same change that places the roles it names.
 */
export const CONTAINERS_UNPLACED: Unplaced[] = [
  { what: 'the in-process Aedes broker does not run in containers; Mosquitto is the containers broker (ask for broker "mosquitto")', role: (r) => r.kind === 'cloud-broker' && r.broker === 'aedes' },
  // The reporting paths over DTLS are placed (topology/containers-dtls-topology.ts): DTLS
  // wearables, the DTLS-stripping gateway, the PSK attacker and the cloud's PSK DTLS endpoint.
  // The DTLS forged-certificate matrix (a DTLS MITM, pion and s_client victims), the cloud's
  // certificate DTLS endpoint with s_client as its peer (topology/containers-dtls-interception.ts)
  // and DTLS resumption over a delaying UDP link (topology/containers-dtls-resumption.ts) are placed.
  // The resumption probe is placed (topology/containers-resumption.ts), behind a TLS-terminating
  // gateway too: resumption is judged from the capture of the gateway's link on both placements.
  // The broker-policy graph is placed (probes, sslscan, a wearable straight to the broker): topology/containers-broker-policy.ts.
  // sslscan runs from the probe's container (topology/containers-broker-policy.ts).
  // mosquitto_pub and openssl s_client (plain and strict) are placed as victims (topology/containers-interception.ts).
  // Hard-coded credentials (features/hardcoded-credentials.feature): the firmware fleet and its
  // attacker are placed (topology/containers-credentials.ts), against Mosquitto's password listener.
  // Fleets of any size up to 5,000 are placed: 4 shards of 1,250 beside Mosquitto connected all
  // 5,000 in 138 s at load 16-22 with no refusal (@fleet-full, 2026-11-29), once each shard's
  // readiness was sized to its devices (fleet-containers.ts) and 16 attempts were in flight per
  // shard (64 had collapsed into timeouts and retries at 1,288 connected).
  // features/zero-rtt-mqtt.feature is placed: topology/containers-zero-rtt.ts (the wolfSSL front and the tls-client device as bridge containers, Mosquitto's plain listener, the recorder and the link relay as roles).
  { what: 'independent clients as victims are not placed in containers yet', role: (r) => r.kind === 'external-client' && !['sslscan', 'mosquitto_pub', 'openssl-s_client', 'openssl-strict', 'openssl-dtls'].includes(r.program) },
];

/**
 * What the swarm placement (topology/swarm-topology.ts: the reporting graph as Docker Swarm
 * services) does not run yet. As for containers: remove an entry in the change that places it.
 */
export const SWARM_UNPLACED: Unplaced[] = [
  { what: 'the in-process Aedes broker does not run on swarm; Mosquitto is the swarm broker (ask for broker "mosquitto")', role: (r) => r.kind === 'cloud-broker' && r.broker === 'aedes' },
  { what: 'only the reporting graph (wearables, gateway, Mosquitto, cloud service) is placed on swarm; its other recipes run with --topology containers', graph: (g) => g.recipe !== 'reporting' && g.recipe !== 'fleet' && g.roles.length > 0 },
  // The fleet runs on swarm at every size up to 5,000 (topology/swarm-fleet.ts): 4 shard tasks of
  // 1,250 connected all 5,000 in 51 s with no refusal (@fleet-full, 2026-11-29, load 2-6).
  { what: 'DTLS wearables, the DTLS-stripping gateway and the cloud\'s DTLS endpoint have no swarm service yet (UDP links over overlay networks untried); use --topology containers', role: (r) => (r.kind === 'wearable' && r.transport === 'dtls') || (r.kind === 'gateway' && r.mode === 'strip-dtls') || r.kind === 'dtls-endpoint' },
  { what: 'a MITM has no swarm service yet; use --topology containers', role: (r) => r.kind === 'mitm-proxy' },
  { what: 'probes and independent clients have no swarm service yet; use --topology containers', role: (r) => r.kind === 'probe' || r.kind === 'external-client' },
];

export const localPlacement: Placement = {
  name: 'local',
  defaultBroker: 'aedes',
  cannotRealize: (graph) => judge('local', graph, LOCAL_UNPLACED),
};

export const containersPlacement: Placement = {
  name: 'containers',
  defaultBroker: 'mosquitto',
  cannotRealize: (graph) => judge('containers', graph, CONTAINERS_UNPLACED),
};

export const swarmPlacement: Placement = {
  name: 'swarm',
  defaultBroker: 'mosquitto',
  cannotRealize: (graph) => judge('swarm', graph, SWARM_UNPLACED),
};

export function placementNamed(name: string): Placement {
  if (name === 'local') return localPlacement;
  if (name === 'containers') return containersPlacement;
  if (name === 'swarm') return swarmPlacement;
  throw new Error(`unknown placement "${name}"; use --topology ${PLACEMENT_NAMES.join(' or --topology ')}`);
}

/** The run's placement (`testbed run --topology`, passed to Cucumber workers as TESTBED_TOPOLOGY). */
export function currentPlacement(): Placement {
  return placementNamed(process.env.TESTBED_TOPOLOGY ?? 'local');
}

/** Refuse, before anything starts, a graph the run's placement cannot realize. */
export function requireRealizable(graph: Graph, placement: Placement = currentPlacement()): Graph {
  checkGraph(graph);
  const reason = placement.cannotRealize(graph);
  if (reason) throw new Error(`${reason}; nothing was started`);
  return graph;
}
