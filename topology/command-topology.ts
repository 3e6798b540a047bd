/**
 * Cloud→device commands on any placement (issue 13): what a topology offers when its wearables
 * take sealed commands, and the local placement's cloud side of them. Steps see only this
 * interface, so the same feature runs against Aedes in-process and Mosquitto in containers.
 */
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { readPem, type PkiPaths } from '../certs/pki-files.ts';
import type { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { CommandCenter, type ResponseAuditEntry, type SentCommand } from '../emulators/cloud/command-center.ts';
import type { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { assertHandlerName, type CommandHandlerName } from '../emulators/commands/command-handlers.ts';
import { RESPONSE_TOPIC_FILTER } from '../emulators/commands/command-topics.ts';
import type { DeviceStatus } from '../emulators/commands/device-state.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { Topology, TopologySpec } from './topology.ts';

/** What a scenario adds to a topology's spec when its wearables take commands. */
export interface DeviceCommandsSpec {
  /** The wearables' command handler (§17.5): `secure` or `vulnerable`; no commands when absent. */
  readonly deviceCommands?: CommandHandlerName;
}

/** The handler a spec asks for, checked; undefined when the wearables take no commands. */
export function commandHandlerOf(spec: TopologySpec): CommandHandlerName | undefined {
  const handler = (spec as TopologySpec & DeviceCommandsSpec).deviceCommands;
  if (handler !== undefined) assertHandlerName(handler);
  return handler;
}

/** A device's own command records and state, as it reports them. */
export interface DeviceCommandRecords {
  readonly records: readonly Observation[];
  readonly status: DeviceStatus;
  readonly setPointsApplied: readonly number[];
}

export interface CommandTopology {
  /** The cloud seals `body` for the device and publishes it (the device connects first if need be). */
  sendCommand(deviceId: string, body: string): Promise<SentCommand>;
  deviceCommandRecords(deviceId: string): Promise<DeviceCommandRecords>;
  /** The cloud's audit of every response that came back. */
  commandResponses(): Promise<readonly ResponseAuditEntry[]>;
}

/** The topology's command side, or an error saying how to get one. */
export function commandsOf(topology: Topology): CommandTopology {
  const t = topology as Topology & Partial<CommandTopology>;
  if (typeof t.sendCommand !== 'function' || typeof t.deviceCommandRecords !== 'function' || typeof t.commandResponses !== 'function') {
    throw new Error(`the ${topology.placement} topology of this scenario takes no device commands; start it with "Given wearable-0001 takes cloud commands with the \\"secure\\" handler"`);
  }
  return t as CommandTopology;
}

/**
 * Wait (bounded) until the cloud has audited `count` responses from the device; a device that
 * never answers (a dropped command) fails the step with what was seen.
 */
export async function waitForResponses(commands: CommandTopology, deviceId: string, count: number, timeoutMs = 15_000): Promise<readonly ResponseAuditEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = (await commands.commandResponses()).filter((r) => r.deviceId === deviceId);
    if (mine.length >= count) return mine;
    if (Date.now() > deadline) throw new Error(`the cloud audited ${mine.length} of ${count} expected responses from ${deviceId} within ${timeoutMs} ms; see the device's command records`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The local placement's command center: commands out through Aedes, responses in from it. */
export function localCommandCenter(o: { broker: CloudBroker; registry: DeviceRegistry; pki: PkiPaths; nowSec: () => number; dir: string }): CommandCenter {
  const center = new CommandCenter({
    registry: o.registry,
    cloudE3PrivateKey: createPrivateKey(readPem(o.pki.cloudE3.privateKey, 'the cloud E3 private key')),
    nowSec: o.nowSec,
    publish: (topic, payload) => o.broker.publishFromCloud(topic, payload),
    auditFile: join(o.dir, 'command-responses.jsonl'),
  });
  o.broker.subscribeTopic(RESPONSE_TOPIC_FILTER, (payload, topic) => center.ingestResponse(payload, topic));
  return center;
}
