/**
 * The `swarm` placement's plan as data (docs/architecture.md §8 The graph and its placements, issue 11 item 6): a graph's roles become
 * Docker Swarm services, and each service becomes one `docker service create` argument list.
 * Nothing here runs docker; topology/swarm-topology.ts does, with these lists.
 *
 * Choices that hold for every service, and why:
 * - `--no-resolve-image`: the images are built on this node (containers/role-images.ts) and no
 *   registry is reachable; without it the CLI asks a registry for the image's digest first.
 *   On more nodes the same tags are loaded by `docker save | docker load` (docs/scale-out.md).
 * - `--restart-condition none`: a role that dies stays dead and its error is reported; a
 *   restarted role would start again with an empty observation log and hide the failure.
 * - `--endpoint-mode dnsrr`: a service's DNS name answers with its tasks' own addresses (no
 *   virtual IP and IPVS in between), so a capture shows the peers that really talk.
 * - `--label` on the service and `--container-label` on its tasks: the run labels
 *   (containers/run-labels.ts), so cleanup by label finds both.
 * - Templates (`{{.Task.Slot}}`, 1..replicas) in `--env` and `--mount` are the only per-task
 *   settings Swarm offers: a replicated service's tasks share one argument list.
 */
import { runLabels } from './run-labels.ts';
import { CONFIG_PATH, CONTROL_DIR, EVIDENCE_DIR, IDENTITY_DIR, PKI_DIR, PROJECT_DIR } from './role-config.ts';
import type { Graph } from '../topology/graph.ts';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';

/** The task's slot as Swarm fills it in (docs: "docker service create", Create services using templates). */
export const TASK_SLOT = '{{.Task.Slot}}';
/** The env variable a wearable shard's entrypoint reads to pick its own config file. */
export const SHARD_ENV = 'TESTBED_SHARD';
/** Directory (in the container) holding every shard's config as shard-<slot>.json. */
export const SHARD_CONFIG_DIR = '/config';
/** How many wearables one shard hosts at most (the fleet is split into this many per task). */
export const DEVICES_PER_SHARD = 1000;

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export interface SwarmMount {
  /** Host path; may contain TASK_SLOT (a directory per task). */
  readonly source: string;
  readonly target: string;
  readonly readonly: boolean;
}

export interface SwarmNetworkAttachment {
  readonly network: string;
  readonly aliases: readonly string[];
}

/** One Swarm service, as data. */
export interface SwarmServiceSpec {
  readonly name: string;
  /** The graph role it realizes (for messages and lookups). */
  readonly role: string;
  readonly image: string;
  readonly replicas: number;
  readonly networks: readonly SwarmNetworkAttachment[];
  readonly mounts: readonly SwarmMount[];
  readonly env: Readonly<Record<string, string>>;
  /** Replaces the image's ENTRYPOINT when set (the wearable shards pick their config). */
  readonly entrypoint?: readonly string[];
  /** Replaces the image's CMD. */
  readonly args: readonly string[];
  readonly capabilities?: readonly string[];
}

/** Host directories the services mount (all under the scenario's evidence dir, except control). */
export interface SwarmDirs {
  readonly project: string;
  readonly pki: string;
  /** Evidence (key logs, audit log) of the one-task services. */
  readonly evidence: string;
  /** Per-shard evidence; contains TASK_SLOT. */
  readonly shardEvidence: string;
  /** Per-role config dirs: `<configs>/<role>/role.json`, and `<configs>/wearables/shard-<n>.json`. */
  readonly configs: string;
  /** Control sockets of the one-task services (short path: Unix socket limit). */
  readonly control: string;
  /** Control sockets of the shards; contains TASK_SLOT. */
  readonly shardControl: string;
  /** mosquitto.conf and the ACL. */
  readonly broker: string;
  /** The cloud service's MQTT client identity. */
  readonly identity: string;
  /**
   * tsx's transform cache, shared by every Node task of every run: tsx transpiles each module a
   * role imports at start (seconds per role on 2 cores), and a task's own /tmp starts empty.
   * Entries are keyed by the file's content and path and read with a parse that treats a torn
   * file as a miss, so concurrent tasks can share it.
   */
  readonly tsxCache: string;
}

/** Where tsx keeps its cache in a task: `<tmpdir>/tsx-<euid>`, the roles run as root. */
export const TSX_CACHE_DIR = '/tmp/tsx-0';

export interface SwarmPlanContext {
  readonly runId: string;
  readonly images: Readonly<Record<'wearable' | 'gateway' | 'cloud-service' | 'cloud-broker', string>>;
  readonly dirs: SwarmDirs;
  /** The two overlay networks: devices ↔ gateway, gateway ↔ broker ↔ cloud service. */
  readonly networks: { readonly device: string; readonly cloud: string };
  readonly devicesPerShard?: number;
}

/** How many shards (tasks of the wearables service) a fleet of `devices` needs. */
export function shardCount(devices: number, perShard = DEVICES_PER_SHARD): number {
  if (!Number.isInteger(devices) || devices < 1) throw new Error(`swarm: a fleet has at least 1 wearable, got ${devices}`);
  if (!Number.isInteger(perShard) || perShard < 1) throw new Error(`swarm: wearables per shard must be a positive integer, got ${perShard}`);
  return Math.ceil(devices / perShard);
}

/** Split devices into `shards` contiguous runs; shard n (1-based, = Task.Slot) gets index n-1. */
export function splitIntoShards<T>(devices: readonly T[], shards: number): T[][] {
  if (!Number.isInteger(shards) || shards < 1 || shards > devices.length) throw new Error(`swarm: cannot split ${devices.length} wearables into ${shards} shards; use 1..${devices.length}`);
  const size = Math.ceil(devices.length / shards);
  return Array.from({ length: shards }, (_, i) => devices.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
}

/** A service name of the run: `<runId>-<role>` (Swarm names tasks `<service>.<slot>.<id>`). */
export function serviceName(runId: string, role: string): string {
  const name = `${runId}-${role}`;
  if (!NAME.test(name)) throw new Error(`swarm: "${name}" is not a service name (letters, digits, '_', '.', '-', at most 63)`);
  return name;
}

/**
 * `docker network create` for one of the run's overlay networks: `--internal` (no route out of
 * it: docs/architecture.md §8 The graph and its placements), `--attachable` so a capture sidecar or a test container started with
 * `docker run` can join it too.
 */
export function overlayNetworkArgs(runId: string, purpose: string): string[] {
  const name = serviceName(runId, purpose);
  return ['network', 'create', '--driver', 'overlay', '--internal', '--attachable', ...labelArgsFor('--label', runId), name];
}

function labelArgsFor(flag: '--label' | '--container-label', runId: string): string[] {
  return Object.entries(runLabels(runId)).flatMap(([k, v]) => [flag, `${k}=${v}`]);
}

function mountArg(m: SwarmMount): string {
  for (const p of [m.source, m.target]) if (p.includes(',') || p.includes('"')) throw new Error(`swarm: mount path "${p}" must not contain ',' or '"' (it goes into --mount key=value pairs)`);
  return `type=bind,src=${m.source},dst=${m.target}${m.readonly ? ',readonly' : ''}`;
}

/** The `docker service create` argument list of one service (without the leading `docker`). */
export function serviceCreateArgs(spec: SwarmServiceSpec, runId: string): string[] {
  if (!NAME.test(spec.name)) throw new Error(`swarm: "${spec.name}" is not a service name`);
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1) throw new Error(`swarm: service ${spec.name} needs 1 or more replicas, got ${spec.replicas}`);
  if (spec.networks.length === 0) throw new Error(`swarm: service ${spec.name} is on no network; every role joins one of the run's internal overlay networks`);
  const args = ['service', 'create', '--detach', '--quiet', '--no-resolve-image', '--name', spec.name, '--replicas', String(spec.replicas), '--restart-condition', 'none', '--endpoint-mode', 'dnsrr'];
  args.push(...labelArgsFor('--label', runId), ...labelArgsFor('--container-label', runId));
  for (const n of spec.networks) args.push('--network', [`name=${n.network}`, ...n.aliases.map((a) => `alias=${a}`)].join(','));
  for (const m of spec.mounts) args.push('--mount', mountArg(m));
  for (const [k, v] of Object.entries(spec.env)) args.push('--env', `${k}=${v}`);
  for (const c of spec.capabilities ?? []) args.push('--cap-add', c);
  if (spec.entrypoint) args.push('--entrypoint', spec.entrypoint.join(' '));
  args.push(spec.image, ...spec.args);
  return args;
}

/**
 * A replicated Node role's command: the one per-task setting in a command, so the shell expands
 * the slot Swarm put in the env and the task opens its own shard's config.
 */
export function slotConfigCommand(): { env: Record<string, string>; entrypoint: string[]; args: string[] } {
  return { env: { [SHARD_ENV]: TASK_SLOT }, entrypoint: ['sh'], args: ['-c', `exec node --import tsx ${PROJECT_DIR}/containers/role-runner.ts ${SHARD_CONFIG_DIR}/shard-$${SHARD_ENV}.json`] };
}

/** The mounts every Node role has (node-role-container.ts, the same layout in a task). */
export function nodeRoleMounts(dirs: SwarmDirs, config: string, evidence: string, control: string): SwarmMount[] {
  return [
    { source: dirs.project, target: PROJECT_DIR, readonly: true },
    { source: dirs.pki, target: PKI_DIR, readonly: true },
    { source: evidence, target: EVIDENCE_DIR, readonly: false },
    { source: control, target: CONTROL_DIR, readonly: false },
    { source: config, target: CONFIG_PATH.slice(0, CONFIG_PATH.lastIndexOf('/')), readonly: true },
    { source: dirs.tsxCache, target: TSX_CACHE_DIR, readonly: false },
  ];
}

/**
 * The services that realize a reporting graph (wearables → gateway → Mosquitto ← cloud service)
 * on Swarm. The placement judged the graph before (topology/placements.ts SWARM_UNPLACED): a
 * role kind met here without a realization is a bug, and says so.
 */
export function reportingServices(graph: Graph, ctx: SwarmPlanContext): SwarmServiceSpec[] {
  const { dirs, images, networks, runId } = ctx;
  const specs: SwarmServiceSpec[] = [];
  for (const role of graph.roles) {
    const base = { name: serviceName(runId, role.name), role: role.name, env: {}, args: [] as string[] };
    switch (role.kind) {
      case 'wearable':
        specs.push({
          ...base,
          image: images.wearable,
          replicas: shardCount(role.devices.length, ctx.devicesPerShard),
          networks: [{ network: networks.device, aliases: [] }],
          mounts: nodeRoleMounts(dirs, `${dirs.configs}/${role.name}`, dirs.shardEvidence, dirs.shardControl),
          ...slotConfigCommand(),
        });
        break;
      case 'gateway':
        specs.push({
          ...base,
          image: images.gateway,
          replicas: 1,
          networks: [{ network: networks.device, aliases: [GATEWAY_NAME] }, { network: networks.cloud, aliases: ['gateway.cloud.testbed.local'] }],
          mounts: nodeRoleMounts(dirs, `${dirs.configs}/${role.name}`, dirs.evidence, dirs.control),
          args: [CONFIG_PATH],
        });
        break;
      case 'cloud-broker':
        specs.push({
          ...base,
          image: images['cloud-broker'],
          replicas: 1,
          networks: [{ network: networks.cloud, aliases: [CLOUD_NAME, 'broker.testbed.local'] }],
          mounts: [
            { source: dirs.pki, target: PKI_DIR, readonly: true },
            { source: dirs.broker, target: '/mosquitto', readonly: true },
          ],
        });
        break;
      case 'cloud-service':
        specs.push({
          ...base,
          image: images['cloud-service'],
          replicas: 1,
          networks: [{ network: networks.cloud, aliases: ['cloud-service.testbed.local'] }],
          mounts: [...nodeRoleMounts(dirs, `${dirs.configs}/${role.name}`, dirs.evidence, dirs.control), { source: dirs.identity, target: IDENTITY_DIR, readonly: true }],
          args: [CONFIG_PATH],
        });
        break;
      default:
        throw new Error(`swarm: no service realizes the ${role.kind} role "${role.name}" yet; the swarm placement should have skipped this graph (topology/placements.ts SWARM_UNPLACED)`);
    }
  }
  return specs;
}
