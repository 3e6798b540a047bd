/**
 * The analyst's view: tshark (Wireshark's engine) decrypts a link capture with the run's TLS key
 * log and dissects the MQTT inside. If our pcap and key log work here, they work in Wireshark.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DecodedPublish {
  readonly frame: number;
  readonly topic: string;
  readonly payload: Uint8Array;
}

/**
 * MQTT PUBLISH messages tshark finds in `pcap` after TLS decryption with `keyLog`. `tlsPort` is
 * the server port of the TLS conversation (our links listen on ephemeral ports, so it is decoded
 * explicitly as TLS carrying MQTT).
 */
export async function decryptedMqttPublishes(pcap: string, keyLog: string, tlsPort: number, binary = 'tshark'): Promise<DecodedPublish[]> {
  const args = [
    '-r', pcap,
    '-o', `tls.keylog_file:${keyLog}`,
    '-d', `tcp.port==${tlsPort},tls`,
    '-d', `tls.port==${tlsPort},mqtt`,
    '-Y', 'mqtt.msgtype == 3',
    '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'frame.number', '-e', 'mqtt.topic', '-e', 'mqtt.msg',
  ];
  let stdout: string;
  try {
    ({ stdout } = await run(binary, args, { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('tshark: not installed; run `apt-get install tshark` (or `testbed doctor` for all prerequisites)');
    throw new Error(`tshark: could not read ${pcap}: ${e.stderr?.trim() || e.message}`);
  }
  const publishes: DecodedPublish[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [frame = '', topics = '', msgs = ''] = line.split('|');
    const topicList = topics.split(',');
    msgs.split(',').forEach((hex, i) => {
      if (!hex) return;
      publishes.push({ frame: Number(frame), topic: topicList[i] ?? '', payload: Buffer.from(hex.replace(/:/g, ''), 'hex') });
    });
  }
  return publishes;
}

/** Server-side TCP ports seen in a capture's SYNs: which port to decode as TLS. */
export function serverPort(streams: readonly { server: { port: number } }[]): number {
  const port = streams[0]?.server.port;
  if (port === undefined) throw new Error('tshark: the capture holds no TCP conversation to decode');
  return port;
}

export interface DecodedConnect {
  readonly frame: number;
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

/** MQTT CONNECT credentials tshark dissects from a plain (unencrypted) MQTT capture. */
export async function plainMqttConnects(pcap: string, mqttPort: number, binary = 'tshark'): Promise<DecodedConnect[]> {
  const args = ['-r', pcap, '-d', `tcp.port==${mqttPort},mqtt`, '-Y', 'mqtt.msgtype == 1', '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'mqtt.clientid', '-e', 'mqtt.username', '-e', 'mqtt.passwd'];
  let stdout: string;
  try {
    ({ stdout } = await run(binary, args, { timeout: 30_000 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('tshark: not installed; run `apt-get install tshark` (or `testbed doctor` for all prerequisites)');
    throw new Error(`tshark: could not read ${pcap}: ${e.stderr?.trim() || e.message}`);
  }
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [frame = '', clientId = '', username = '', password = ''] = line.split('|');
      return { frame: Number(frame), clientId, username, password };
    });
}
