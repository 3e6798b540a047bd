/**
 * The fleet graph's plan on Swarm (issue 11 item 6; docs/scale-out.md "The fleet on swarm"): its
 * roles as services on ONE internal attachable overlay network (the fleet reaches the broker
 * directly, no gateway), each a `docker service create` list through serviceCreateArgs.
 * Nothing here runs docker; topology/swarm-fleet.ts does.
 *
 * - `<run>-fleet`: the fleet shards (containers/roles/fleet-shard.ts) as ONE replicated service,
 *   one task per shard; each task opens `/config/shard-<slot>.json` and has its own control and
 *   evidence directory on the host, as the reporting graph's wearables service does.
 * - `<run>-cloud-broker`: Mosquitto with persistent sessions. Its store is a per-run host
 *   directory bind-mounted read-write: a task restart (`docker service update --force`) makes a
 *   new container, and only what lies outside the container's own file system survives it
 *   (mosquitto.conf(5) "persistence_location").
 * - `<run>-cloud-service`: the fleet cloud service with its delivery ledger (fleet-cloud.ts).
 */
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import type { Graph } from '../topology/graph.ts';
import { CONFIG_PATH, IDENTITY_DIR, PKI_DIR } from './role-config.ts';
import { imageFleetAllocator } from '../topology/fleet-host-allocator.ts';
import { nodeRoleMounts, serviceName, shardCount, slotConfigCommand, type SwarmDirs, type SwarmServiceSpec } from './swarm-service-spec.ts';

/** Where the broker task sees its persistent store (mosquitto.conf `persistence_location`). */
export const BROKER_STORE_DIR = '/store/';
/** Where the broker task reads mosquitto.conf, the ACL and the CRL (the image's command reads it there). */
export const BROKER_CONFIG_DIR = '/mosquitto';

export interface SwarmFleetDirs extends SwarmDirs {
  /** Host directory kept across the broker's task restarts: Mosquitto's persistence file. */
  readonly brokerStore: string;
}

export interface SwarmFleetPlanContext {
  readonly runId: string;
  readonly images: Readonly<Record<'wearable' | 'cloud-service' | 'cloud-broker', string>>;
  readonly dirs: SwarmFleetDirs;
  /** The run's one overlay network. */
  readonly network: string;
  readonly devicesPerShard: number;
}

/** The services that realize a fleet graph (fleet shards → Mosquitto ← fleet cloud service). */
export function fleetServices(graph: Graph, ctx: SwarmFleetPlanContext): SwarmServiceSpec[] {
  if (graph.recipe !== 'fleet') throw new Error(`swarm: fleetServices plans the fleet graph, not recipe "${graph.recipe}"`);
  const { dirs, images, network, runId } = ctx;
  const on = (aliases: string[]) => [{ network, aliases }];
  return graph.roles.map((role): SwarmServiceSpec => {
    const base = { name: serviceName(runId, role.name), role: role.name, env: {}, args: [] as string[] };
    switch (role.kind) {
      case 'wearable': {
        const shard = slotConfigCommand();
        return {
          ...base,
          image: images.wearable,
          replicas: shardCount(role.devices.length, ctx.devicesPerShard),
          networks: on([]),
          mounts: nodeRoleMounts(dirs, `${dirs.configs}/${role.name}`, dirs.shardEvidence, dirs.shardControl),
          ...shard,
          env: { ...shard.env, ...imageFleetAllocator().env },
        };
      }
      case 'cloud-broker':
        return {
          ...base,
          image: images['cloud-broker'],
          replicas: 1,
          networks: on([CLOUD_NAME, 'broker.testbed.local']),
          mounts: [
            { source: dirs.pki, target: PKI_DIR, readonly: true },
            { source: dirs.broker, target: BROKER_CONFIG_DIR, readonly: true },
            { source: dirs.brokerStore, target: BROKER_STORE_DIR.replace(/\/$/, ''), readonly: false },
          ],
        };
      case 'cloud-service':
        return {
          ...base,
          image: images['cloud-service'],
          replicas: 1,
          networks: on(['cloud-service.testbed.local']),
          mounts: [...nodeRoleMounts(dirs, `${dirs.configs}/${role.name}`, dirs.evidence, dirs.control), { source: dirs.identity, target: IDENTITY_DIR, readonly: true }],
          args: [CONFIG_PATH],
        };
      default:
        throw new Error(`swarm: no fleet service realizes the ${role.kind} role "${role.name}"; the fleet graph has fleet shards, a broker and the cloud service`);
    }
  });
}
