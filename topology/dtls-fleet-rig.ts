/**
 * The DTLS fleet's topology on the run's placement (features/fleet-dtls.feature): the reporting
 * graph's DTLS-stripping path (topology/local-dtls-topology.ts, topology/containers-dtls-topology.ts)
 * with the wearables on ONE fleet bridge process (spec.dtlsFleet), judged by the placement first.
 */
import type { LinkImpairments } from '../links/impairments.ts';
import type { DtlsFleetShardHandle } from '../emulators/dtls/dtls-fleet-shard.ts';
import { currentPlacement, requireRealizable } from './placements.ts';
import { dtlsFleet } from './recipes.ts';
import type { Topology } from './topology.ts';
import { LocalDtlsTopology } from './local-dtls-topology.ts';
import { ContainersDtlsTopology } from './containers-dtls-topology.ts';

export type DtlsFleetTopology = Topology & { dtlsFleetShard(): DtlsFleetShardHandle };

export function createDtlsFleetTopology(dir: string, wearables: number, deviceLinkImpairments?: LinkImpairments): DtlsFleetTopology {
  const placement = currentPlacement();
  requireRealizable(dtlsFleet({ broker: placement.defaultBroker, wearables, ...(deviceLinkImpairments ? { deviceLinkImpairments } : {}) }), placement);
  return placement.name === 'local' ? new LocalDtlsTopology(dir) : new ContainersDtlsTopology(dir);
}
