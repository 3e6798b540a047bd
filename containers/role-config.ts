/**
 * What a role runner in a container is told, as plain JSON (written by the containers topology,
 * mounted at CONFIG_PATH). Paths are container paths: the run's PKI is mounted read-only at
 * PKI_DIR, the evidence directory read-write at EVIDENCE_DIR, the control socket's directory at
 * CONTROL_DIR.
 */
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';

export const CONFIG_PATH = '/config/role.json';
export const PKI_DIR = '/pki';
export const IDENTITY_DIR = '/identity';
export const EVIDENCE_DIR = '/evidence';
export const CONTROL_DIR = '/control';
/** The project tree, mounted read-only: roles run the same code as in the local topology. */
export const PROJECT_DIR = '/testbed';
/** The runner prints this once its role is up (the containers' wait strategy). */
export const READY_LINE = 'role-runner: ready';
/** TLS port of every TLS-speaking role (MQTT over TLS, IANA). */
export const MQTT_TLS_PORT = 8883;
/** Plain MQTT (IANA 1883): only for the plaintext pitfall scenario. */
export const MQTT_PLAIN_PORT = 1883;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
}

export interface WearablesRole {
  readonly role: 'wearables';
  readonly devices: readonly DeviceProvisioning[];
  readonly endpoint: Endpoint;
  readonly profile: string;
  readonly clock: SimClockSpec;
}

export interface GatewayRole {
  readonly role: 'gateway';
  readonly mode: 'relay' | 'terminate';
  readonly listenPort: number;
  readonly upstream: Endpoint;
  readonly malice: readonly { readonly name: string; readonly options: Readonly<Record<string, unknown>> }[];
}

export interface CloudServiceRole {
  readonly role: 'cloud-service';
  readonly devices: readonly DeviceProvisioning[];
  readonly broker: Endpoint;
  readonly clock: SimClockSpec;
}

export type RoleConfig = WearablesRole | GatewayRole | CloudServiceRole;
export type RoleKind = RoleConfig['role'];

export function parseRoleConfig(text: string, source: string): RoleConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`role-runner: ${source} is not JSON (${(err as Error).message}); the containers topology writes it, re-run the scenario`);
  }
  const role = (parsed as { role?: unknown }).role;
  if (role !== 'wearables' && role !== 'gateway' && role !== 'cloud-service') {
    throw new Error(`role-runner: ${source} names role ${JSON.stringify(role)}; expected "wearables", "gateway" or "cloud-service"`);
  }
  return parsed as RoleConfig;
}
