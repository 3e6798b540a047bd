/**
 * `up(graph, { placement })`: start a graph and keep it running for clients of your own
 * (docs/architecture.md §8 The graph and its placements, §9). The graph is judged by the placement before anything starts; what it
 * cannot realize is refused with the placement's reason and nothing is left running. The CLI's
 * `testbed up` calls this same function.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Observation } from '../emulators/observation-log.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import { mergeKeyLogs } from '../topology/containers-topology.ts';
import { rolesOf, type Graph, type Role } from '../topology/graph.ts';
import { placementNamed, requireRealizable, type PlacementName } from '../topology/placements.ts';
import type { Evidence, RoleName, SentReading } from '../topology/topology.ts';
import { externalDeviceOf, specOfGraph } from './up-graph.ts';
import { DEVICE_MITM_WHAT, publishContainerRoles, publishOnLoopback, type HostRelay, type ReachableEndpoint } from './published-endpoints.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import { realizationFor, type Realization } from './realizations.ts';
import { publishSwarmRoles } from './swarm-endpoints.ts';
import { brokerPolicyOffer, offerPhrase } from './broker-policy-offer.ts';

export type { ReachableEndpoint } from './published-endpoints.ts';

export interface UpOptions {
  readonly placement?: PlacementName;
  /** Evidence directory (captures, key log, audit log, PKI); a fresh one under runs/up/ when absent. */
  readonly dir?: string;
  /** First loopback port to publish on (consecutive); ephemeral ports when absent. */
  readonly portBase?: number;
  /** Readings each emulated wearable reports once the graph is up (0..100; default 0). */
  readonly readings?: number;
}

export interface UpPki {
  readonly dir: string;
  /** Root + intermediate: what a client trusts. */
  readonly caBundle: string;
  readonly cloudCert: string;
  /** A device no emulated wearable uses, ready for an external client. */
  readonly externalDevice: { readonly id: string; readonly cert: string; readonly chain: string; readonly key: string };
  /** Device id → certificate chain and key, for every provisioned device. */
  readonly devices: Readonly<Record<string, { readonly chain: string; readonly key: string }>>;
}

export interface UpEvidence {
  readonly dir: string;
  readonly captures: readonly { readonly link: string; readonly path: string }[];
  /** SSLKEYLOGFILE of the run's TLS sessions (refreshed while it runs). */
  readonly keyLog: string;
  readonly auditLog: string;
  readonly provisioning: string;
}

/** A role of the running graph: where to reach it (if one can) and what it observed. */
export interface RoleHandle {
  readonly role: Role;
  readonly endpoints: readonly ReachableEndpoint[];
  observations(): Promise<readonly Observation[]>;
}

export interface LinkHandle {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** The capture of this link, readable while the graph runs (`tshark -r`). */
  readonly capture: string | undefined;
}

export interface RunningGraph {
  readonly graph: Graph;
  readonly placement: PlacementName;
  readonly endpoints: readonly ReachableEndpoint[];
  readonly pki: UpPki;
  readonly evidence: UpEvidence;
  readonly roles: readonly RoleHandle[];
  readonly links: readonly LinkHandle[];
  /** The ports TLS runs on in the captures (what tshark's decode-as needs). */
  readonly capturePorts: readonly number[];
  role(name: string): RoleHandle;
  endpoint(role: string): ReachableEndpoint;
  /** The cloud's audit: every E3 packet accepted or rejected, with the reason. */
  audit(): Promise<readonly AuditEntry[]>;
  /** Have an emulated wearable report `count` readings and wait (bounded) until the cloud audited them. */
  report(deviceId: string, count: number): Promise<SentReading[]>;
  /** Stop every role and relay; safe to call twice. */
  down(): Promise<Evidence>;
}

const running = new Set<RunningGraph>();

/** Start `graph` on the placement and return handles; throws (nothing left running) if it cannot. */
export async function up(graph: Graph, options: UpOptions = {}): Promise<RunningGraph> {
  const placement = placementNamed(options.placement ?? 'local');
  requireRealizable(graph, placement);
  const spec = specOfGraph(graph);
  const readings = options.readings ?? 0;
  if (!Number.isInteger(readings) || readings < 0 || readings > 100) throw new Error(`readings must be a whole number from 0 to 100, got ${readings}`);
  if (options.portBase !== undefined && !(Number.isInteger(options.portBase) && options.portBase >= 1024 && options.portBase <= 65_000)) {
    throw new Error(`the port base must be a whole number from 1024 to 65000, got ${options.portBase}`);
  }
  const dir = resolve(options.dir ?? join('runs', 'up', new Date().toISOString().replace(/[:.]/g, '-')));
  const topology = realizationFor(placement.name, spec.path, dir);
  await topology.start(spec);
  let relays: HostRelay[] = [];
  try {
    relays = placement.name === 'swarm' ? await publishSwarmRoles({ runId: topology.runId as string, dir, pki: topology.pki }, options.portBase ? { portBase: options.portBase } : {}) : placement.name === 'containers' ? await publishContainerRoles(topology.runId as string, { dtlsGateway: spec.path === 'dtls-stripping-gateway', ...(options.portBase ? { portBase: options.portBase } : {}) }) : await publishLocalRoles(topology, graph, options.portBase);
    const external = externalDeviceOf(graph);
    const emulated = topology.devices().map((d) => d.deviceId).filter((id) => id !== external);
    // Behind a MITM on the device link a secure wearable refuses the forged certificate: its own
    // record of the refusal is the evidence, not a failure to start.
    if (spec.deviceGatewayMitm) for (const id of emulated.slice(0, readings > 0 ? emulated.length : 0)) await topology.report(id, readings).catch(() => undefined);
    else for (const id of emulated.slice(0, readings > 0 ? emulated.length : 0)) await topology.report(id, readings);
    if (readings > 0 && !spec.deviceGatewayMitm) await topology.settle(30_000);
  } catch (err) {
    await Promise.all(relays.map((r) => r.stop().catch(() => undefined)));
    await topology.stop().catch(() => undefined);
    throw err;
  }
  const handle = runningGraph(graph, placement.name, topology, relays, await capturePorts(topology, placement.name));
  running.add(handle);
  return handle;
}

/** Take down every graph this process started with up(). */
export async function down(): Promise<void> {
  await Promise.all([...running].map((r) => r.down()));
}

/** Local roles listen on loopback already; a relay gives them the asked-for ports (and one behaviour for both placements). */
async function publishLocalRoles(topology: Realization, graph: Graph, portBase: number | undefined): Promise<HostRelay[]> {
  const first = async (role: RoleName): Promise<{ host: string; port: number } | undefined> => {
    const o = (await topology.observations(role).catch(() => [])).find((x) => x.kind === 'listening' && x.detail.plaintext !== true);
    return o ? { host: String(o.detail.host), port: Number(o.detail.port) } : undefined;
  };
  const deviceLink = graph.links.find((l) => l.from === 'wearables');
  // Behind a MITM on the device link the captured link leads to the MITM: it is published as the
  // MITM, and the gateway at its own listening port.
  const deviceMitm = deviceLink?.to === 'mitm-proxy';
  const mitm = rolesOf(graph, 'mitm-proxy').length > 0 ? (deviceMitm ? await first(`link:${(deviceLink as { name: string }).name}`) : await first('mitm-proxy')) : undefined;
  const targets = [
    { role: 'gateway', at: deviceLink && !deviceMitm ? await first(`link:${deviceLink.name}`) : await first('gateway'), protocol: deviceLink?.protocol ?? 'tcp', serverName: 'gateway.testbed.local', what: deviceMitm ? 'the gateway (MQTT over TLS), past the MITM on the device link' : deviceLink?.protocol === 'udp' ? 'the gateway (DTLS 1.2, strips DTLS), through the captured device link' : 'the gateway (MQTT over TLS, where the wearables connect), through the captured device link' },
    { role: 'cloud-broker', at: await first('cloud-broker'), protocol: 'tcp' as const, serverName: 'cloud.testbed.local', what: 'the cloud broker (Aedes on node:tls, MQTT over TLS, mutual TLS)' },
    deviceMitm
      ? { role: 'mitm-proxy', at: mitm, protocol: 'tcp' as const, serverName: 'gateway.testbed.local', what: DEVICE_MITM_WHAT }
      : { role: 'mitm-proxy', at: mitm, protocol: 'tcp' as const, serverName: 'cloud.testbed.local', what: 'the MITM on the gateway→cloud link (presents a forged cloud certificate)' },
  ];
  const relays: HostRelay[] = [];
  try {
    for (const [i, t] of targets.entries()) {
      if (!t.at) continue;
      relays.push(await publishOnLoopback({ alias: t.role, role: t.role, protocol: t.protocol, port: t.at.port, serverName: t.serverName, what: t.what }, t.at.host, portBase ? portBase + i : 0));
    }
  } catch (err) {
    await Promise.all(relays.map((x) => x.stop().catch(() => undefined)));
    throw err;
  }
  return relays;
}

/** Captures record the server side's own port: the roles' listening ports locally, 8883 in containers. */
async function capturePorts(topology: Realization, placement: PlacementName): Promise<number[]> {
  if (placement === 'containers' || placement === 'swarm') return [MQTT_TLS_PORT];
  const ports: number[] = [];
  for (const role of ['gateway', 'cloud-broker', 'mitm-proxy'] as const) {
    for (const o of await topology.observations(role).catch(() => [])) if (o.kind === 'listening' && o.detail.plaintext !== true && typeof o.detail.port === 'number') ports.push(o.detail.port);
  }
  return [...new Set(ports)];
}

/** The broker's endpoint says which policy it serves and what that offers here (the summary's line). */
function withBrokerOffer(e: ReachableEndpoint, graph: Graph): ReachableEndpoint {
  const broker = rolesOf(graph, 'cloud-broker')[0];
  if (e.role !== 'cloud-broker' || !broker) return e;
  const offers = brokerPolicyOffer(broker.policy, broker.broker);
  return { ...e, what: `${e.what}; ${offerPhrase(offers)}`, offers };
}

function runningGraph(graph: Graph, placement: PlacementName, topology: Realization, relays: HostRelay[], ports: number[]): RunningGraph {
  const dir = topology.dir;
  const pkiPaths = topology.pki;
  const external = externalDeviceOf(graph);
  const ext = pkiPaths.wearable(external);
  const devices = Object.fromEntries(pkiPaths.wearableIds.map((id) => [id, { chain: pkiPaths.wearable(id).chain, key: pkiPaths.wearable(id).key }]));
  const keyLog = placement === 'local' ? join(dir, 'sslkeys.keylog') : join(dir, 'sslkeylog.txt');
  // In containers every role writes its own key log; one merged file is what Wireshark opens.
  const merge = placement === 'containers' ? setInterval(() => mergeKeyLogs(join(dir, 'keylogs'), keyLog), 1_000) : undefined;
  merge?.unref();
  if (placement === 'containers') mergeKeyLogs(join(dir, 'keylogs'), keyLog);
  const endpoints = relays.map((r) => withBrokerOffer(r.endpoint, graph));
  const links: LinkHandle[] = graph.links.map((l) => ({ name: l.name, from: l.from, to: l.to, capture: l.capture ? join(dir, 'captures', `${l.name}.pcap`) : undefined }));
  const roleName = (r: Role): RoleName | undefined => (r.kind === 'gateway' || r.kind === 'mitm-proxy' || r.kind === 'cloud-broker' || r.kind === 'cloud-service' ? r.kind : undefined);
  const roles: RoleHandle[] = graph.roles.map((role) => ({
    role,
    endpoints: endpoints.filter((e) => e.role === role.name),
    observations: async () => {
      if (role.kind === 'wearable') return (await Promise.all(role.devices.map((d) => topology.observations(`wearable:${d}`)))).flat();
      const name = roleName(role);
      if (!name) throw new Error(`role "${role.name}" (${role.kind}) keeps no observation log on this placement`);
      return topology.observations(name);
    },
  }));
  let stopped: Promise<Evidence> | undefined;
  const handle: RunningGraph = {
    graph,
    placement,
    endpoints,
    pki: { dir: pkiPaths.dir, caBundle: pkiPaths.caBundle, cloudCert: pkiPaths.cloud.cert, externalDevice: { id: external, ...ext }, devices },
    evidence: { dir, captures: links.filter((l) => l.capture).map((l) => ({ link: l.name, path: l.capture as string })), keyLog, auditLog: join(dir, 'audit.jsonl'), provisioning: join(dir, 'provisioning.json') },
    roles,
    links,
    capturePorts: ports,
    role(name) {
      const r = roles.find((x) => x.role.name === name);
      if (!r) throw new Error(`the running graph has no role "${name}"; it has ${roles.map((x) => x.role.name).join(', ')}`);
      return r;
    },
    endpoint(role) {
      const e = endpoints.find((x) => x.role === role);
      if (!e) throw new Error(`no endpoint of role "${role}" is reachable from this machine; reachable: ${endpoints.map((x) => x.role).join(', ') || 'none'}`);
      return e;
    },
    audit: () => topology.audit(),
    async report(deviceId, count) {
      if (deviceId === external) throw new Error(`${deviceId} is reserved for external clients; no emulated wearable sends as it (seal with testbed seal instead)`);
      if (!Number.isInteger(count) || count < 1 || count > 100) throw new Error(`report: count must be 1..100, got ${count}`);
      const sent = await topology.report(deviceId, count);
      await topology.settle(30_000);
      return sent;
    },
    down() {
      stopped ??= (async () => {
        running.delete(handle);
        if (merge) clearInterval(merge);
        await Promise.all(relays.map((r) => r.stop().catch(() => undefined)));
        const evidence = await topology.stop();
        if (placement === 'containers' && existsSync(join(dir, 'keylogs'))) mergeKeyLogs(join(dir, 'keylogs'), keyLog);
        return evidence;
      })();
      return stopped;
    },
  };
  return handle;
}
