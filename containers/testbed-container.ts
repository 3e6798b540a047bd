/**
 * What every testbed container shares: it joins one of the run's internal networks under DNS
 * aliases, with NO other network (Testcontainers' withNetworkAliases would create it on the
 * default bridge first, which has a route out), and carries the run's labels so cleanup finds it.
 */
import { GenericContainer, Wait } from 'testcontainers';

type BindMount = { source: string; target: string; mode?: 'rw' | 'ro' | 'z' | 'Z' };
import { runLabels } from './run-labels.ts';
import { imageId } from './base-image.ts';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export class TestbedContainer extends GenericContainer {
  protected network: string | undefined;
  protected runId: string | undefined;
  readonly #binds: BindMount[] = [];

  /** Add bind mounts (Testcontainers' withBindMounts replaces the list on every call). */
  protected mount(...binds: BindMount[]): this {
    this.#binds.push(...binds);
    return this.withBindMounts(this.#binds);
  }

  /** Join this internal network only, reachable there under `aliases` (e.g. "cloud.testbed.local"). */
  withInternalNetwork(network: string, ...aliases: string[]): this {
    if (!NAME.test(network)) throw new Error(`containers: network name "${network}" is not a Docker name; use letters, digits, '_', '.', '-'`);
    this.network = network;
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: aliases } } };
    return this;
  }

  /** Label for cleanup by run (Ryuk is disabled: run-labels.ts). */
  withRun(runId: string): this {
    if (!/^[a-z0-9-]{1,64}$/.test(runId)) throw new Error(`containers: run id "${runId}" must be 1-64 lower-case letters, digits or '-'`);
    this.runId = runId;
    return this.withLabels(runLabels(runId));
  }

  /** A missing image would make Testcontainers try a registry, which does not exist here. */
  protected async checkImage(role: string): Promise<void> {
    if (!(await imageId(this.imageName.string))) {
      throw new Error(`containers: the ${role} image ${this.imageName.string} is not built; \`testbed run --topology containers\` builds it (or call ensureRoleImages() from containers/role-images.ts)`);
    }
  }

  protected checkPlacement(role: string): void {
    if (!this.network) throw new Error(`containers: the ${role} container has no network; call withInternalNetwork(name, ...aliases) first`);
    if (!this.runId) throw new Error(`containers: the ${role} container has no run label; call withRun(runId) so it is cleaned up`);
  }

  protected waitForLine(line: string | RegExp, timeoutMs: number): this {
    return this.withWaitStrategy(Wait.forLogMessage(line)).withStartupTimeout(timeoutMs);
  }
}
