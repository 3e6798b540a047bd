/** The fleet rig of the run's placement (TESTBED_TOPOLOGY), judged by the placement first. */
import { currentPlacement, requireRealizable } from './placements.ts';
import { fleet } from './recipes.ts';
import type { FleetRig } from './fleet-rig.ts';
import { LocalFleet } from './local-fleet.ts';
import { ContainersFleet } from './containers-fleet.ts';
import { SwarmFleet } from './swarm-fleet.ts';

export function createFleetRig(dir: string, wearables: number): FleetRig {
  const placement = currentPlacement();
  requireRealizable(fleet({ broker: placement.defaultBroker, wearables }), placement);
  if (placement.name === 'local') return new LocalFleet(dir);
  if (placement.name === 'swarm') return new SwarmFleet(dir);
  return new ContainersFleet(dir);
}
