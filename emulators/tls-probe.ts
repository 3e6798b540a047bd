/**
 * A TLS policy probe: a client that offers exactly one protocol version or one cipher suite and
 * reports what it got — the negotiated version and suite, or the error or alert that ended the
 * handshake. It presents a genuine device certificate, so a refusal by a mutual-TLS broker is
 * about the offer, never about the client's identity. Bounded by a timeout: a server that hangs
 * is a failed probe, said so.
 */
import { appendFileSync } from 'node:fs';
import type { SecureVersion } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { connectTls } from './tls-connect.ts';
import type { ChapterCipherSuite } from './tls-server-policy.ts';

export type ProbeVersion = 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2' | 'TLS 1.3';

export const PROBE_VERSIONS: Readonly<Record<ProbeVersion, SecureVersion>> = { 'TLS 1.0': 'TLSv1', 'TLS 1.1': 'TLSv1.1', 'TLS 1.2': 'TLSv1.2', 'TLS 1.3': 'TLSv1.3' };

export interface TlsProbeOffer {
  /** What the probe offers, for reports ("only TLS 1.1", "only TLS_RSA_WITH_AES_128_CBC_SHA"). */
  readonly describe: string;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** node:tls cipher string (TLS_ names are TLS 1.3 suites). */
  readonly ciphers: string;
}

export function probeVersion(text: string): ProbeVersion {
  if (!(text in PROBE_VERSIONS)) throw new Error(`tls-probe: unknown protocol version "${text}"; valid versions: ${Object.keys(PROBE_VERSIONS).join(', ')}`);
  return text as ProbeVersion;
}

/** Offer one protocol version with every suite the client's OpenSSL has for it. */
export function versionOffer(version: ProbeVersion): TlsProbeOffer {
  const v = PROBE_VERSIONS[version];
  // OpenSSL 3 will not even send a TLS 1.0/1.1 ClientHello above security level 0 (SHA-1).
  const legacy = v === 'TLSv1' || v === 'TLSv1.1';
  return { describe: `only ${version}`, minVersion: v, maxVersion: v, ciphers: legacy ? 'DEFAULT:@SECLEVEL=0' : 'DEFAULT' };
}

/** Offer one cipher suite of the source chapter's table, at the only version it exists in. */
export function suiteOffer(suite: ChapterCipherSuite): TlsProbeOffer {
  return { describe: `only ${suite.ianaName} (${suite.protocol})`, minVersion: suite.protocol, maxVersion: suite.protocol, ciphers: suite.opensslName };
}

export interface TlsProbeResult {
  readonly offer: string;
  readonly completed: boolean;
  /** As node:tls names them, e.g. 'TLSv1.2' and 'TLS_RSA_WITH_AES_128_CBC_SHA'. */
  readonly protocol?: string;
  readonly cipher?: string;
  readonly error?: string;
}

export interface TlsProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
  readonly caPem: string;
  /** A genuine client identity, for brokers that require one (mTLS). */
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly timeoutMs: number;
  /** Append the probe's TLS secrets here (0600), to read the broker's encrypted alerts on the wire. */
  readonly keyLogFile?: string;
  /**
   * After the handshake, send MQTT CONNECT with this client id and wait for CONNACK: a broker
   * that logs no handshake of its own (Mosquitto) then logs the identity it verified.
   */
  readonly mqttClientId?: string;
}

export function probeTlsHandshake(target: TlsProbeTarget, offer: TlsProbeOffer): Promise<TlsProbeResult> {
  return new Promise<TlsProbeResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<TlsProbeResult, 'offer'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ offer: offer.describe, ...r });
    };
    const socket = connectTls(target.host, target.port, {
      ca: target.caPem,
      cert: target.certChainPem,
      key: target.keyPem,
      servername: target.serverName,
      minVersion: offer.minVersion,
      maxVersion: offer.maxVersion,
      ciphers: offer.ciphers,
    });
    if (target.keyLogFile) socket.on('keylog', (line: Buffer) => appendFileSync(target.keyLogFile as string, line, { mode: 0o600 }));
    const timer = setTimeout(() => finish({ completed: false, error: `tls-probe: no handshake result from ${target.host}:${target.port} within ${target.timeoutMs} ms (server hangs)` }), target.timeoutMs);
    let completed: Omit<TlsProbeResult, 'offer'> | undefined;
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol();
      completed = { completed: true, ...(protocol ? { protocol } : {}), cipher: socket.getCipher().standardName };
      // In TLS 1.3 the client is done before the server has read its Finished (RFC 8446 §2):
      // close gracefully, so the server completes (or refuses) the handshake before the FIN.
      if (!target.mqttClientId) return void socket.end();
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: target.mqttClientId, clean: true, keepalive: 30 }));
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connack') socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
      });
      socket.on('data', (b: Buffer) => parser.parse(b));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ completed: false, error: `${err.code ?? 'ERROR'}: ${err.message}` }));
    socket.on('close', () => finish(completed ?? { completed: false, error: 'connection closed before the handshake completed' }));
  });
}
