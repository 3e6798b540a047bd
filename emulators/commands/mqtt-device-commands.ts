/**
 * A wearable's MQTT side of cloud commands: subscribe to its own command topic (the broker's ACL
 * allows it no other), hand every message to the device's command processor, and publish the
 * sealed response on its own response topic (QoS 1, as readings).
 */
import type mqtt from 'mqtt';
import type { DeviceCommands } from './device-commands.ts';
import { commandTopic, responseTopic } from './command-topics.ts';

/** Resolves once the broker granted the subscription; rejects with the broker's refusal. */
export async function serveDeviceCommands(client: mqtt.MqttClient, commands: DeviceCommands, pseudonymHex: string): Promise<void> {
  const topic = commandTopic(pseudonymHex);
  client.on('message', (received, payload) => {
    if (received !== topic) return;
    const { response } = commands.handle(new Uint8Array(payload));
    client.publish(responseTopic(pseudonymHex), Buffer.from(response), { qos: 1 });
  });
  const granted = await client.subscribeAsync(topic, { qos: 1 });
  if (granted[0]?.qos === 128) throw new Error(`device commands: the broker refused the subscription to ${topic} (SUBACK 0x80); its ACL must let this device read its own command topic`);
}
