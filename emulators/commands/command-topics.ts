/**
 * MQTT topics of cloud→device commands and the device's sealed responses. The cloud publishes a
 * device's commands and reads its responses; the device reads only its own command topic and
 * writes only its own response topic (broker ACLs: cloud-broker.ts, cloud-broker-container.ts).
 */
export function commandTopic(pseudonymHex: string): string {
  return `wearables/${pseudonymHex}/commands`;
}

export function responseTopic(pseudonymHex: string): string {
  return `wearables/${pseudonymHex}/responses`;
}

export const COMMAND_TOPIC_FILTER = 'wearables/+/commands';
export const RESPONSE_TOPIC_FILTER = 'wearables/+/responses';

/** The pseudonym a command or response topic names, or undefined for any other topic. */
export function pseudonymOfCommandTopic(topic: string): { pseudonymHex: string; kind: 'commands' | 'responses' } | undefined {
  const m = /^wearables\/([0-9a-f]{32})\/(commands|responses)$/.exec(topic);
  return m ? { pseudonymHex: m[1] as string, kind: m[2] as 'commands' | 'responses' } : undefined;
}
