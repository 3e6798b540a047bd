/**
 * What a device (or someone pretending to be one) can present to the broker for mutual TLS, and
 * a probe that presents it: a TLS handshake, then MQTT CONNECT and one PUBLISH if the broker
 * lets it that far. Credentials OpenSSL refuses to load (a certificate with a key that is not
 * its own) go through Go's crypto/tls (tls-impostor), as an attacker's own stack would.
 */
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import mqttPacket from 'mqtt-packet';
import { connectTls } from './tls-connect.ts';
import { impostorClientHandshake } from './tls-impostor-process.ts';

export type DeviceCredential =
  | { readonly kind: 'none' }
  | { readonly kind: 'genuine'; readonly certChainPem: string; readonly keyPem: string }
  /** Valid-looking but issued by a CA the broker does not trust. */
  | { readonly kind: 'other-ca'; readonly certChainPem: string; readonly keyPem: string }
  /** A certificate whose private key the presenter does not hold. */
  | { readonly kind: 'foreign-key'; readonly certChainPem: string; readonly keyPem: string };

export interface ProbeResult {
  readonly handshakeCompleted: boolean;
  readonly connackReturnCode?: number;
  readonly error?: string;
}

export function attackerKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export async function probeBroker(o: { credential: DeviceCredential; caPem: string; host: string; port: number; serverName: string; clientId: string; topic: string; payload: Uint8Array; timeoutMs: number; keyLogFile?: string }): Promise<ProbeResult> {
  const c = o.credential;
  if (c.kind === 'foreign-key') {
    const r = await impostorClientHandshake({ certChainPem: c.certChainPem, keyPem: c.keyPem, caPem: o.caPem, host: o.host, port: o.port, serverName: o.serverName, timeoutMs: o.timeoutMs, ...(o.keyLogFile ? { keyLogFile: o.keyLogFile } : {}) });
    return { handshakeCompleted: r.accepted, ...(r.error ? { error: r.error } : {}) };
  }
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let handshakeCompleted = false;
    const finish = (r: Omit<ProbeResult, 'handshakeCompleted'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ handshakeCompleted, ...r });
    };
    const socket = connectTls(o.host, o.port, {
      ca: o.caPem,
      servername: o.serverName,
      minVersion: 'TLSv1.2',
      ...(c.kind === 'none' ? {} : { cert: c.certChainPem, key: c.keyPem }),
    });
    // The probe's own secrets (0600): the broker's TLS 1.3 refusal is an encrypted alert on the wire.
    if (o.keyLogFile) socket.on('keylog', (line: Buffer) => appendFileSync(o.keyLogFile as string, line, { mode: 0o600 }));
    const timer = setTimeout(() => finish({ error: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ error: `${err.code ?? 'ERROR'}: ${err.message}` }));
    socket.on('close', () => finish({ error: 'connection closed by the broker' }));
    socket.once('secureConnect', () => {
      handshakeCompleted = true;
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: o.clientId, clean: true, keepalive: 30 }));
    });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd === 'connack') {
        if (p.returnCode !== 0) return finish({ connackReturnCode: p.returnCode ?? -1, error: `CONNACK return code ${p.returnCode}` });
        socket.write(mqttPacket.generate({ cmd: 'publish', topic: o.topic, payload: Buffer.from(o.payload), qos: 1, messageId: 1, retain: false, dup: false }));
      }
      if (p.cmd === 'puback') finish({ connackReturnCode: 0 });
    });
    socket.on('data', (b: Buffer) => parser.parse(b));
  });
}
