/**
 * `testbed up --topology swarm`: endpoints on 127.0.0.1 for a graph whose roles are Swarm tasks.
 * The host has no route into overlay networks, so a relay container (the TCP link role,
 * containers/roles/tcp-link-relay.ts, no delay) joins two networks: the run's attachable overlay
 * network where the role's service answers by its alias, and an `--internal` bridge network the
 * host itself is on. From there the containers placement's loopback relay (publishOnLoopback,
 * 127.0.0.1 only, never 0.0.0.0) takes it to this machine, as for any container. An internal
 * bridge rather than `-p`: Docker publishes no ports from an internal network, and a published
 * network would give the relay a route out; the loopback relay reaches the bridge without one.
 *
 *   127.0.0.1:P ─(this process)─▶ relay container [<run>-host bridge | <run>-device overlay] ─▶ gateway.testbed.local:8883
 *   127.0.0.1:Q ─(this process)─▶ relay container [<run>-host bridge | <run>-cloud overlay]  ─▶ cloud.testbed.local:8883
 *
 * The relays carry the run labels: removeSwarmRun (topology/swarm-topology.ts stop) removes them
 * with the run's services and networks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { docker } from '../containers/docker-cli.ts';
import { TcpLinkRelayContainer } from '../containers/resumption-containers.ts';
import { serviceName } from '../containers/swarm-service-spec.ts';
import { internalNetwork } from '../topology/containers-topology.ts';
import { SwarmTopology } from '../topology/swarm-topology.ts';
import { containerRoles, publishOnLoopback, type HostRelay } from './published-endpoints.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Which overlay network each published alias is on (the reporting graph's two networks). */
const OVERLAY_OF: Readonly<Record<string, string>> = { [GATEWAY_NAME]: 'device', [CLOUD_NAME]: 'cloud' };

export interface SwarmRun {
  readonly runId: string;
  readonly dir: string;
  readonly pki: { readonly dir: string };
}

/** Publish the gateway and the cloud broker of a running swarm graph on 127.0.0.1 (ports from portBase, in the containers placement's order). */
export async function publishSwarmRoles(run: SwarmRun, o: { portBase?: number } = {}): Promise<HostRelay[]> {
  const images = await SwarmTopology.prepare();
  const hostNet = await internalNetwork(run.runId, 'host');
  const relays: HostRelay[] = [];
  const controlDirs: string[] = [];
  try {
    for (const [i, r] of containerRoles({ dtlsGateway: false }).entries()) {
      const overlay = OVERLAY_OF[r.alias];
      if (!overlay) continue; // no MITM service on swarm (topology/placements.ts SWARM_UNPLACED)
      const control = mkdtempSync('/tmp/tb-swr-');
      controlDirs.push(control);
      const relay = await new TcpLinkRelayContainer(images.gateway)
        .withRun(run.runId)
        .withInternalNetwork(hostNet.name, r.alias)
        .withMounts({ project: PROJECT_DIR, pki: run.pki.dir, evidence: resolve(run.dir), control })
        .withLinkName(`published-${r.role}`)
        .withTarget(r.alias, r.port, serviceName(run.runId, overlay))
        .start();
      const { stdout } = await docker(['inspect', '--format', `{{(index .NetworkSettings.Networks "${hostNet.name}").IPAddress}}`, relay.getId()], { timeoutMs: 20_000 });
      const address = stdout.trim();
      if (!address) throw new Error(`swarm up: the relay for ${r.role} has no address on ${hostNet.name}; see \`docker inspect ${relay.getId()}\``);
      const published = await publishOnLoopback({ ...r, what: `${r.what}; a Swarm task, reached through a relay container on its overlay network` }, address, o.portBase ? o.portBase + i : 0);
      relays.push({ endpoint: published.endpoint, stop: async () => {
        await published.stop();
        await relay.stopRole().catch(() => undefined);
        rmSync(control, { recursive: true, force: true });
      } });
    }
  } catch (err) {
    await Promise.all(relays.map((x) => x.stop().catch(() => undefined)));
    for (const d of controlDirs) rmSync(d, { recursive: true, force: true });
    throw err;
  }
  return relays;
}
