/**
 * MQTT in clear: reads a TCP byte stream from its first byte as MQTT 3.1.1 control packets
 * (OASIS MQTT 3.1.1 §2.2) and returns the packets found before the first byte that is not MQTT.
 *
 * An MQTT client's stream opens with CONNECT (§3.1) and a server's with CONNACK (§3.2), so a
 * stream that carries MQTT in clear parses from its first byte. A TLS stream does not: its first
 * record header (0x16 0x03 …, RFC 8446 §5.1) reads as a CONNECT with reserved flags set (§2.2.2)
 * or a protocol name that is not "MQTT" (§3.1.2.1), and parsing stops there. An empty list means
 * no MQTT packet was in clear.
 */
import mqttPacket from 'mqtt-packet';

export interface ClearMqttPacket {
  readonly cmd: string;
  /** e.g. `CONNECT client id "wearable-0001"`, `PUBLISH wearables/… (96 bytes)`. */
  readonly summary: string;
}

function summarize(p: mqttPacket.Packet): string {
  if (p.cmd === 'connect') return `CONNECT client id "${p.clientId}"${p.username !== undefined ? `, username "${p.username}"` : ''}`;
  if (p.cmd === 'publish') return `PUBLISH ${p.topic} (${Buffer.byteLength(p.payload as Buffer)} bytes)`;
  return p.cmd.toUpperCase();
}

export function mqttPacketsInClear(stream: Uint8Array): ClearMqttPacket[] {
  const found: ClearMqttPacket[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let failed = false;
  parser.on('packet', (p: mqttPacket.Packet) => {
    if (!failed) found.push({ cmd: p.cmd, summary: summarize(p) });
  });
  parser.on('error', () => {
    failed = true;
  });
  parser.parse(Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength));
  return found;
}
