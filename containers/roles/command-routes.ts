/**
 * Device commands (issue 13) over the control socket of the wearable and cloud-service
 * containers (role-runner.ts), the same CommandCenter and DeviceCommands the local placement runs:
 *
 *   wearables:      POST /commands-ready {deviceId}     connect (and subscribe to its command topic) if not yet
 *                   GET  /device-commands?device=ID      the device's command records, state and applied set points
 *   cloud service:  POST /commands {deviceId, body}      seal and publish one command; returns what was sent
 *                   GET  /command-responses              the cloud's audit of every response
 */
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type mqtt from 'mqtt';
import { CommandCenter } from '../../emulators/cloud/command-center.ts';
import type { DeviceRegistry } from '../../emulators/cloud/device-registry.ts';
import { pseudonymOfCommandTopic, RESPONSE_TOPIC_FILTER } from '../../emulators/commands/command-topics.ts';
import type { Wearable } from '../../emulators/wearable.ts';
import type { DeviceCommandRecords } from '../../topology/command-topology.ts';

type Handler = (body: Record<string, unknown>, query: URLSearchParams) => Promise<unknown>;

export function wearableCommandRoutes(fleet: ReadonlyMap<string, Wearable>, notFound: (message: string) => Error): Record<string, Handler> {
  const wearable = (id: unknown): Wearable => {
    const w = typeof id === 'string' ? fleet.get(id) : undefined;
    if (!w) throw notFound(`no wearable ${JSON.stringify(id)}; this fleet has ${[...fleet.keys()].join(', ')}`);
    return w;
  };
  return {
    'POST /commands-ready': async (b) => {
      const w = wearable(b.deviceId);
      if (w.log.ofKind('mqtt-connected').length === 0) await w.connect();
      return { ready: true };
    },
    'GET /device-commands': async (_b, q): Promise<DeviceCommandRecords> => {
      const commands = wearable(q.get('device')).commands;
      if (!commands) throw notFound(`wearable ${String(q.get('device'))} has no command records: it takes no commands, or has not connected yet`);
      return { records: commands.log.all(), status: commands.state.status(), setPointsApplied: [...commands.state.setPointsApplied] };
    },
  };
}

/** The cloud service's command center on its MQTT client of Mosquitto. */
export async function cloudCommandRole(o: { client: mqtt.MqttClient; registry: DeviceRegistry; cloudE3PrivateKey: KeyObject; nowSec: () => number; evidenceDir: string }): Promise<{ routes: Record<string, Handler>; take(topic: string, payload: Uint8Array): boolean }> {
  const center = new CommandCenter({
    registry: o.registry,
    cloudE3PrivateKey: o.cloudE3PrivateKey,
    nowSec: o.nowSec,
    publish: (topic, payload) => o.client.publish(topic, Buffer.from(payload), { qos: 1 }),
    auditFile: join(o.evidenceDir, 'command-responses.jsonl'),
  });
  const granted = await o.client.subscribeAsync(RESPONSE_TOPIC_FILTER, { qos: 1 });
  if (granted[0]?.qos === 128) throw new Error(`role-runner: the broker refused the cloud service's subscription to ${RESPONSE_TOPIC_FILTER} (SUBACK 0x80); the ACL must let it read command responses`);
  return {
    routes: {
      'POST /commands': async (b) => center.send(String(b.deviceId), String(b.body)),
      'GET /command-responses': async () => center.responses(),
    },
    take: (topic, payload) => {
      if (pseudonymOfCommandTopic(topic)?.kind !== 'responses') return false;
      center.ingestResponse(payload, topic);
      return true;
    },
  };
}
