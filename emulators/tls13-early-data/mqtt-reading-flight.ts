/**
 * The bytes a wearable sends when it reconnects to report one reading: an MQTT 3.1.1 CONNECT
 * (its device id and provisioned password: the front terminates TLS, so the broker behind it
 * authenticates the device by password on its plain listener) and a QoS 1 PUBLISH of one sealed
 * E3 packet on the device's topic. Sent as 0-RTT early data, this is the whole first flight's
 * payload (RFC 8446 §4.2.10); sent after a handshake, the same bytes follow the Finished.
 */
import mqttPacket from 'mqtt-packet';
import type { DeviceProvisioning } from '../provisioning.ts';
import { e3Topic } from '../wearable.ts';

export interface ReadingFlight {
  readonly bytes: Buffer;
  /** The MQTT client id the broker will see. */
  readonly clientId: string;
}

export function readingFlight(device: DeviceProvisioning, e3Packet: Uint8Array, messageId = 1): ReadingFlight {
  if (messageId < 1 || messageId > 0xffff) throw new Error(`mqtt-reading-flight: a QoS 1 message id is 1..65535, got ${messageId}`);
  const connect = mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: device.deviceId,
    clean: true,
    keepalive: 60,
    username: device.deviceId,
    password: Buffer.from(device.mqttPassword),
  });
  const publish = mqttPacket.generate({ cmd: 'publish', topic: e3Topic(device.pseudonymHex), payload: Buffer.from(e3Packet), qos: 1, messageId, retain: false, dup: false });
  return { bytes: Buffer.concat([connect, publish]), clientId: device.deviceId };
}

/** The MQTT packets in bytes the broker sent (a partial packet at the end is left out). */
export function mqttPacketsIn(bytes: Uint8Array): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', () => undefined); // not MQTT: no packets, which the caller reports
  parser.parse(Buffer.from(bytes));
  return packets;
}
