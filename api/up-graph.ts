/**
 * `testbed up`'s graph: what the user asked for, built with the reporting recipe
 * (topology/recipes.ts, not a fork of it), and the same graph read back as the spec the standing
 * realizations (topology/local-topology.ts, containers-topology.ts and their DTLS siblings) start.
 *
 * One device more than the wearables is provisioned: the emulated wearables never use it, so an
 * external client (mosquitto_pub, a real firmware) holds a certificate and an E3 identity of its
 * own, and its E3 sequence numbers cannot collide with an emulated wearable's.
 */
import { maliceFromData } from '../containers/roles/malice-data.ts';
import { FORGED_CASE_NAMES, isForgedCaseName } from '../certs/forged-catalogue.ts';
import { impairment, type Impairment, type LinkImpairments } from '../links/impairments.ts';
import { reporting, RECIPE_NAMES, type ReportingOptions } from '../topology/recipes.ts';
import { rolesOf, type BrokerKind, type Graph, type MaliceData } from '../topology/graph.ts';
import type { GatewayCloudMitm, Path, TopologySpec } from '../topology/topology.ts';
import { serverPolicy } from '../emulators/tls-server-policy.ts';

/** Recipes `up` can start: those with a standing realization kept running until `down`. */
/**
 * Recipes `up` can start: those whose graph is the reporting graph (plus up's options), which the
 * standing realizations keep running until `down`. `up` is features/external-peers.feature's graph:
 * the reporting graph through the TLS-terminating gateway.
 */
export const UP_RECIPES = ['reporting', 'up'] as const;
export const UP_POLICIES = ['default', 'tls13-only', 'legacy'] as const;
export type UpPolicy = (typeof UP_POLICIES)[number];
export const UP_PATHS = ['terminating-gateway', 'relay-gateway', 'dtls-stripping-gateway'] as const;
export type UpPath = (typeof UP_PATHS)[number];

export interface UpGraphOptions {
  readonly recipe?: string;
  readonly broker: BrokerKind;
  /** Emulated wearables (1..50); one more device is provisioned for external clients. */
  readonly wearables: number;
  readonly path: UpPath;
  readonly malice?: readonly MaliceData[];
  readonly gatewayCloudMitm?: GatewayCloudMitm;
  /** A MITM between the wearables (and external clients) and the gateway presenting this forged-certificate case. */
  readonly deviceGatewayMitm?: { readonly forgedCase: string };
  /** Impairments of the device link, both directions. */
  readonly impairments?: readonly Impairment[];
  /** The cloud broker's TLS policy (emulators/tls-server-policy.ts); `default` when absent. */
  readonly policy?: UpPolicy;
}

export const MAX_UP_WEARABLES = 50;

/** The device id an external client uses: the one after the emulated wearables. */
export function externalDeviceOf(graph: Graph): string {
  const devices = rolesOf(graph, 'wearable').flatMap((w) => w.devices);
  const last = devices[devices.length - 1];
  if (!last) throw new Error(`graph "${graph.recipe}" has no wearable devices, so there is no device for an external client`);
  return last;
}

/** The graph `up` starts, or an error naming what to change. */
export function upGraph(o: UpGraphOptions): Graph {
  const recipe = o.recipe ?? 'reporting';
  if (!(UP_RECIPES as readonly string[]).includes(recipe)) {
    const known = (RECIPE_NAMES as readonly string[]).includes(recipe) ? `recipe "${recipe}" has no standing realization to keep running` : `unknown recipe "${recipe}"`;
    throw new Error(`${known}; testbed up supports --recipe ${UP_RECIPES.join(', ')}`);
  }
  if (recipe === 'up' && o.path !== 'terminating-gateway') throw new Error(`recipe "up" is the reporting graph through the TLS-terminating gateway; drop --path ${o.path} or use --recipe reporting`);
  if (o.policy !== undefined && !(UP_POLICIES as readonly string[]).includes(o.policy)) throw new Error(`unknown broker policy "${String(o.policy)}"; use --policy ${UP_POLICIES.join(' | ')}`);
  if (o.policy && o.policy !== 'default' && o.path === 'dtls-stripping-gateway') throw new Error(`--policy ${o.policy}: the DTLS path's cloud endpoint is not the TLS broker the policies describe; use --path terminating-gateway or relay-gateway`);
  if (!Number.isInteger(o.wearables) || o.wearables < 1 || o.wearables > MAX_UP_WEARABLES) throw new Error(`--wearables must be a whole number from 1 to ${MAX_UP_WEARABLES}, got ${String(o.wearables)}`);
  if (!(UP_PATHS as readonly string[]).includes(o.path)) throw new Error(`unknown path "${o.path}"; use --path ${UP_PATHS.join(' | ')}`);
  if (o.gatewayCloudMitm && o.path !== 'terminating-gateway') throw new Error('a MITM on the gateway→cloud link needs the terminating gateway; use --path terminating-gateway');
  if (o.gatewayCloudMitm && !isForgedCaseName(o.gatewayCloudMitm.forgedCase)) throw new Error(`unknown forged-certificate case "${o.gatewayCloudMitm.forgedCase}"; known: ${FORGED_CASE_NAMES.join(', ')}`);
  if (o.deviceGatewayMitm && o.path !== 'terminating-gateway') throw new Error('a MITM on the device link forges the TLS-terminating gateway\'s certificate; use --path terminating-gateway');
  if (o.deviceGatewayMitm && !isForgedCaseName(o.deviceGatewayMitm.forgedCase)) throw new Error(`unknown forged-certificate case "${o.deviceGatewayMitm.forgedCase}"; known: ${FORGED_CASE_NAMES.join(', ')}`);
  if (o.deviceGatewayMitm && o.gatewayCloudMitm) throw new Error('--mitm names one MITM: device-gateway:CASE or gateway-cloud:CASE, not both');
  if (o.deviceGatewayMitm && o.impairments?.length) throw new Error('--impair with --mitm device-gateway: the device link ends at the MITM, which has no delaying relay; drop one of them');
  if (o.path !== 'dtls-stripping-gateway') for (const i of o.impairments ?? []) refuseOnTcpRelay(i);
  for (const m of o.malice ?? []) maliceFromData(m as never);
  const options: ReportingOptions = {
    broker: o.broker,
    wearables: o.wearables + 1,
    path: o.path,
    profile: 'secure',
    // Real time: an external client seals with the wall clock, and the cloud's ±300 s window is real seconds.
    speedup: 1,
    ...(o.malice?.length ? { malice: o.malice } : {}),
    ...(o.gatewayCloudMitm ? { gatewayCloudMitm: o.gatewayCloudMitm } : {}),
    ...(o.deviceGatewayMitm ? { deviceGatewayMitm: o.deviceGatewayMitm } : {}),
    ...(o.impairments?.length ? { deviceLinkImpairments: { clientToServer: [...o.impairments], serverToClient: [...o.impairments] } } : {}),
    // Always named, `default` too: the brokers' built-in settings are not the default policy
    // (Aedes takes node's default TLS 1.2 list, CBC suites included: testssl found them; Mosquitto's is TLS 1.3 only).
    brokerPolicy: o.policy ?? 'default',
  };
  return { ...reporting(options), recipe };
}

/**
 * The TLS path's device link is a TCP relay (a TcpLink locally; the relay container with link-delay
 * holding the SYN and SYN-ACK in containers): it can honestly add a fixed delay each way. It cannot
 * lose a segment: the kernels at both ends would retransmit it on their own timers, which a relay
 * between two sockets never sees, so "loss" there would only be a made-up delay.
 */
function refuseOnTcpRelay(i: Impairment): void {
  if (i.kind !== 'latency') throw new Error(`--impair ${i.kind}: the TLS path's device link is a TCP relay, which can only add a fixed delay (the kernels retransmit what a relay would drop); use --impair latency:ms=N, or --path dtls-stripping-gateway for ${i.kind}`);
  if (i.jitterMs > 0) throw new Error('--impair latency with jitterMs: the TLS path\'s relay delays every segment by the same amount (the containers relay holds the handshake with link-delay, which has no jitter); drop jitterMs');
}

/** The spec the standing realizations start, read from the graph (the inverse of `reporting`). */
export function specOfGraph(graph: Graph): TopologySpec {
  if (!(UP_RECIPES as readonly string[]).includes(graph.recipe)) throw new Error(`graph of recipe "${graph.recipe}": up() starts recipe ${UP_RECIPES.join(', ')} only`);
  const wearables = rolesOf(graph, 'wearable');
  const wearable = wearables[0];
  if (!wearable || wearables.length !== 1) throw new Error('a reporting graph has exactly one wearable role (the fleet)');
  const gateway = rolesOf(graph, 'gateway')[0];
  const broker = rolesOf(graph, 'cloud-broker')[0];
  const mitm = rolesOf(graph, 'mitm-proxy')[0];
  const path: Path = !gateway ? 'dtls-psk-attacker' : gateway.mode === 'terminate' ? 'terminating-gateway' : gateway.mode === 'relay' ? 'relay-gateway' : 'dtls-stripping-gateway';
  const deviceLink = graph.links.find((l) => l.from === wearable.name);
  // A MITM the wearables' link leads to sits on the device link; otherwise on the gateway→cloud link.
  const deviceMitm = mitm && mitm.transport === 'tls' && deviceLink?.to === mitm.name ? mitm : undefined;
  const devices = wearable.devices;
  const impairments: LinkImpairments | undefined = deviceLink?.impairments;
  return {
    wearables: wearable.devices.length,
    path,
    gatewayMalice: (gateway?.malice ?? []).map((m) => maliceFromData(m as never)),
    speedup: graph.speedup ?? 1,
    wearableProfile: wearable.profile,
    ...(impairments ? { deviceLinkImpairments: impairments } : {}),
    ...(gateway && gateway.upstreamProfile !== 'secure' ? { gatewayUpstreamProfile: gateway.upstreamProfile } : {}),
    ...(deviceMitm ? { deviceGatewayMitm: { forgedCase: deviceMitm.presents, stolenDeviceIdentity: devices[devices.length - 1] as string } } : {}),
    ...(mitm && mitm.transport === 'tls' && !deviceMitm ? { gatewayCloudMitm: { forgedCase: mitm.presents, stolenGatewayIdentity: mitm.relaysUpstream } } : {}),
    ...(broker ? { brokerPolicy: serverPolicy(broker.policy).name } : {}),
  };
}

/**
 * A gateway malice from the command line: `sniff`, `tamper:1,3`, `replay:2`, `drop:4` (the
 * numbers are readings by their E3 sequence, as the malice picks them).
 */
export function parseMalice(text: string): MaliceData {
  const [name = '', list] = text.split(':', 2);
  const packets = list === undefined ? [] : list.split(',').map((s) => Number(s.trim()));
  if (name === 'sniff') {
    if (list !== undefined) throw new Error(`--malice sniff takes no reading numbers, got "${text}"`);
    return { name };
  }
  if (!['tamper', 'replay', 'drop'].includes(name)) throw new Error(`unknown gateway malice "${name}"; use --malice sniff | tamper:N[,N…] | replay:N[,N…] | drop:N[,N…]`);
  if (packets.length === 0 || packets.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--malice ${name} needs reading numbers from 1, e.g. --malice ${name}:2 (got "${text}")`);
  return { name, options: { packets } };
}

/** What `--mitm` asks for: one MITM, on the gateway→cloud link or on the device link. */
export type UpMitm = Pick<UpGraphOptions, 'gatewayCloudMitm' | 'deviceGatewayMitm'>;

/** `--mitm gateway-cloud:CASE[:stolen-identity]` or `--mitm device-gateway:CASE`. */
export function parseMitm(text: string): UpMitm {
  const [where = '', forgedCase = '', extra] = text.split(':');
  const usage = `--mitm takes gateway-cloud:CASE[:stolen-identity] or device-gateway:CASE (e.g. device-gateway:self-signed), got "${text}"`;
  if (!forgedCase) throw new Error(usage);
  if (where === 'device-gateway') {
    // The MITM always relays onward with the reserved device's identity: there is no choice to name.
    if (extra !== undefined) throw new Error(`--mitm device-gateway:CASE takes no third part, got "${extra}"`);
    return { deviceGatewayMitm: { forgedCase } };
  }
  if (where !== 'gateway-cloud') throw new Error(usage);
  if (extra !== undefined && extra !== 'stolen-identity') throw new Error(`--mitm: the third part may only be "stolen-identity", got "${extra}"`);
  return { gatewayCloudMitm: { forgedCase, stolenGatewayIdentity: extra === 'stolen-identity' } };
}

/** `--impair latency:ms=25,jitterMs=5`, `--impair loss:rate=0.1`: links/impairments.ts validates. */
export function parseImpairment(text: string): Impairment {
  const [name = '', settings = ''] = text.split(':', 2);
  const values: Record<string, unknown> = {};
  for (const pair of settings.split(',').filter(Boolean)) {
    const [key = '', value = ''] = pair.split('=', 2);
    const n = Number(value);
    if (!key || value === '' || !Number.isFinite(n)) throw new Error(`--impair "${text}": settings are key=number pairs, e.g. latency:ms=25,jitterMs=5 or loss:rate=0.1`);
    values[key] = n;
  }
  return impairment(name, values);
}
