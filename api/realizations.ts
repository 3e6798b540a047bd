/**
 * The standing realizations `up` starts, per placement. One small function on purpose: a new
 * placement (e.g. swarm) adds its case here and nowhere else.
 */
import type { PkiPaths } from '../certs/pki-files.ts';
import { LocalTopology } from '../topology/local-topology.ts';
import { LocalDtlsTopology, isDtlsPath } from '../topology/local-dtls-topology.ts';
import { ContainersTopology } from '../topology/containers-topology.ts';
import { ContainersDtlsTopology } from '../topology/containers-dtls-topology.ts';
import { SwarmTopology } from '../topology/swarm-topology.ts';
import type { PlacementName } from '../topology/placements.ts';
import type { Path, Topology } from '../topology/topology.ts';

/** A started topology with what `up` reads from every realization. */
export type Realization = Topology & { readonly pki: PkiPaths; readonly runId?: string };

export function realizationFor(placement: PlacementName, path: Path, dir: string): Realization {
  const dtls = isDtlsPath(path);
  // The host has no route into overlay networks: up publishes through relay containers (api/swarm-endpoints.ts).
  if (placement === 'swarm') {
    if (dtls) throw new Error('the swarm placement has no DTLS services yet (topology/placements.ts SWARM_UNPLACED); use `testbed up --topology containers` for a DTLS path');
    return new SwarmTopology(dir);
  }
  if (placement === 'containers') return dtls ? new ContainersDtlsTopology(dir) : new ContainersTopology(dir);
  return dtls ? new LocalDtlsTopology(dir) : new LocalTopology(dir);
}
