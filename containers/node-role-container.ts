/**
 * A role that runs our own Node code (wearables, gateway, cloud service): the project tree is
 * mounted read-only, so the container runs exactly the role classes the local topology runs,
 * started by role-runner.ts from a JSON config copied in. The run's PKI is mounted read-only,
 * the evidence directory read-write (key logs, audit log), and the control directory holds
 * the role's Unix socket (role-control.ts).
 */
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { TestbedContainer } from './testbed-container.ts';
import { RoleControl } from './role-control.ts';
import { CONFIG_PATH, CONTROL_DIR, EVIDENCE_DIR, PKI_DIR, PROJECT_DIR, READY_LINE, type RoleConfig } from './role-config.ts';

const STARTUP_TIMEOUT_MS = 30_000;

export interface RoleMounts {
  /** The project checkout (has node_modules). */
  readonly project: string;
  /** The run's PKI directory (certs/pki-files.ts layout). */
  readonly pki: string;
  /** Where the role writes key logs and the audit log. */
  readonly evidence: string;
  /** A short host path (Unix socket paths are limited to 107 bytes) for the control socket. */
  readonly control: string;
}

export abstract class NodeRoleContainer extends TestbedContainer {
  protected mounts: RoleMounts | undefined;

  withMounts(mounts: RoleMounts): this {
    if (mounts.control.length > 80) throw new Error(`containers: control directory ${mounts.control} is too long for a Unix socket path; use a short directory such as /tmp/tb-XXXX`);
    this.mounts = mounts;
    return this.mount(...([
      { source: mounts.project, target: PROJECT_DIR, mode: 'ro' },
      { source: mounts.pki, target: PKI_DIR, mode: 'ro' },
      { source: mounts.evidence, target: EVIDENCE_DIR, mode: 'rw' },
      { source: mounts.control, target: CONTROL_DIR, mode: 'rw' },
    ] as const));
  }

  /**
   * Start with `config`; resolves once the runner printed READY_LINE, within `startupTimeoutMs`
   * (30 s by default; a role that loads thousands of identities sizes it to what it loads).
   */
  protected async startRole(config: RoleConfig, startupTimeoutMs = STARTUP_TIMEOUT_MS): Promise<{ started: StartedTestContainer; control: RoleControl }> {
    this.checkPlacement(config.role);
    await this.checkImage(config.role);
    if (!this.mounts) throw new Error(`containers: the ${config.role} container has no mounts; call withMounts({ project, pki, evidence, control })`);
    this.withCopyContentToContainer([{ content: JSON.stringify(config), target: CONFIG_PATH, mode: 0o600 }]);
    this.waitForLine(READY_LINE, startupTimeoutMs);
    // Keep the runner's last words: if it dies at start, they say why (not the library's trace).
    let said = '';
    this.withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => (said = (said + chunk.toString()).slice(-2000))));
    let started: StartedTestContainer;
    try {
      started = await super.start();
    } catch (err) {
      const last = said.trim().split('\n').slice(-14).join(' | ');
      throw new Error(`containers: the ${config.role} role did not start (${(err as Error).message.split('\n')[0]})${last ? `; it said: ${last}` : ''}`);
    }
    return { started, control: new RoleControl(config.role, join(this.mounts.control, `${config.role}.sock`)) };
  }
}

/** Ask the runner to stop its role (closing connections, flushing the key log), then remove the container. */
export async function stopRole(started: StartedTestContainer, control: RoleControl): Promise<void> {
  await control.call('POST', '/stop', {}, 10_000).catch(() => undefined);
  await started.stop({ timeout: 5_000, remove: true, removeVolumes: true });
}
