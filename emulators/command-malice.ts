/**
 * What an untrusted gateway can do to the cloud's commands on their way DOWN to the device
 * (issue 13, item 3): alter one, replay one, or forge one of its own. Each is a GatewayMalice
 * (gateway-malice.ts: data options, explain()) with an `onDeliver` hook the gateway runs on every
 * cloud→device PUBLISH. The gateway holds each command's bytes but no key: whatever it does, the
 * device refuses it — "bad tag" (AEAD, RFC 5116 §2.2) or "replay" (its replay window,
 * RFC 4303 §3.4.3) — and says so in its own records.
 */
import mqttPacket from 'mqtt-packet';
import type { Socket } from 'node:net';
import { parseMessageHeader } from '../crypto/e3-message.ts';
import { pseudonymOfCommandTopic } from './commands/command-topics.ts';
import type { GatewayMalice, InterceptedPublish, PublishVerdict } from './gateway-malice.ts';

export interface DeliveryContext {
  /** Send an extra PUBLISH to the device (QoS 0), as if the broker had sent it. */
  injectToDevice(topic: string, payload: Uint8Array): void;
  note(summary: string, detail: Record<string, unknown>): void;
}

export interface DownstreamMalice extends GatewayMalice {
  onDeliver(publish: InterceptedPublish, ctx: DeliveryContext): PublishVerdict;
}

export const COMMAND_MALICE_NAMES = ['tamper-commands', 'replay-commands', 'forge-commands'] as const;

/** The command's sequence (its number as the cloud counts), or undefined for anything else. */
function commandNumber(p: InterceptedPublish): number | undefined {
  if (pseudonymOfCommandTopic(p.topic)?.kind !== 'commands') return undefined;
  const header = parseMessageHeader(p.payload);
  return typeof header === 'string' ? undefined : Number(header.sequence);
}

function checkNumbers(name: string, numbers: readonly number[]): void {
  if (!Array.isArray(numbers) || numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000)) {
    throw new Error(`gateway-malice ${name}: command numbers must be whole numbers from 1 (the cloud's first command), got ${JSON.stringify(numbers)}`);
  }
}

const pass = (p: InterceptedPublish): PublishVerdict => ({ action: 'forward', payload: p.payload });

/** Flips one bit of the encrypted body of chosen commands (byte 40: inside the ciphertext). */
export function tamperCommands(options: { commands: readonly number[] }): DownstreamMalice {
  checkNumbers('tamper-commands', options.commands);
  return {
    name: 'tamper-commands',
    options: { commands: [...options.commands] },
    explain: () => `flips a bit in the encrypted body of command(s) ${options.commands.join(', ')} on their way to the device`,
    onDeliver: (p, ctx) => {
      const n = commandNumber(p);
      if (n === undefined || !options.commands.includes(n) || p.payload.length <= 40) return pass(p);
      const changed = Uint8Array.from(p.payload);
      changed[40] = (changed[40] as number) ^ 0x01;
      ctx.note(`flipped a bit of command ${n}`, { command: n });
      return { action: 'forward', payload: changed };
    },
  };
}

/** Forwards chosen commands, then delivers each again `copies` times. */
export function replayCommands(options: { commands: readonly number[]; copies?: number }): DownstreamMalice {
  checkNumbers('replay-commands', options.commands);
  const copies = options.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > 100) throw new Error(`gateway-malice replay-commands: copies must be 1..100, got ${copies}`);
  return {
    name: 'replay-commands',
    options: { commands: [...options.commands], copies },
    explain: () => `delivers command(s) ${options.commands.join(', ')} to the device ${copies} more time(s)`,
    onDeliver: (p, ctx) => {
      const n = commandNumber(p);
      if (n !== undefined && options.commands.includes(n)) {
        for (let i = 0; i < copies; i++) ctx.injectToDevice(p.topic, p.payload);
        ctx.note(`replayed command ${n} ×${copies}`, { command: n, copies });
      }
      return pass(p);
    },
  };
}

/**
 * After the first genuine command, delivers one of its own: the genuine header with a fresh
 * sequence, the attacker's command JSON where the ciphertext goes, and a tag it had to guess.
 */
export function forgeCommands(options: { body: string }): DownstreamMalice {
  if (typeof options.body !== 'string' || options.body.length < 1 || options.body.length > 512) throw new Error('gateway-malice forge-commands: body must be the command text to forge, 1..512 characters');
  let forged = false;
  return {
    name: 'forge-commands',
    options: { body: options.body },
    explain: () => `forges a command ${options.body} to the device (no key: it guesses the tag)`,
    onDeliver: (p, ctx) => {
      const n = commandNumber(p);
      if (n === undefined || forged) return pass(p);
      forged = true;
      const body = new TextEncoder().encode(options.body);
      const fake = new Uint8Array(33 + body.length + 16);
      fake.set(p.payload.subarray(0, 33));
      new DataView(fake.buffer).setBigUint64(25, BigInt(n) + 1000n, false);
      fake.set(body, 33);
      ctx.injectToDevice(p.topic, fake);
      ctx.note(`forged a command after command ${n}`, { after: n, body: options.body });
      return pass(p);
    },
  };
}

export function isDownstreamMalice(m: GatewayMalice): m is DownstreamMalice {
  return typeof (m as Partial<DownstreamMalice>).onDeliver === 'function';
}

/** A command malice rebuilt from its data (a gateway in another process or container). */
export function commandMaliceFromData(data: { name: string; options?: Readonly<Record<string, unknown>> }): DownstreamMalice | undefined {
  const o = (data.options ?? {}) as { commands: number[]; copies?: number; body: string };
  if (data.name === 'tamper-commands') return tamperCommands(o);
  if (data.name === 'replay-commands') return replayCommands(o);
  if (data.name === 'forge-commands') return forgeCommands(o);
  return undefined;
}

/**
 * Runs a cloud→device PUBLISH through the gateway's downstream malices and writes what results
 * to the device; false when no malice acts downstream (the gateway forwards as before).
 */
export function deliverThroughMalice(malice: readonly GatewayMalice[], packet: mqttPacket.IPublishPacket, device: Socket, note: DeliveryContext['note'], index: number): boolean {
  const downstream = malice.filter(isDownstreamMalice);
  if (downstream.length === 0) return false;
  const copies: { topic: string; payload: Uint8Array }[] = [];
  const ctx: DeliveryContext = { injectToDevice: (topic, payload) => copies.push({ topic, payload: Uint8Array.from(payload) }), note };
  let verdict: PublishVerdict = { action: 'forward', payload: Uint8Array.from(packet.payload as Buffer) };
  for (const m of downstream) {
    if (verdict.action === 'drop') break;
    verdict = m.onDeliver({ index, topic: packet.topic, payload: verdict.payload }, ctx);
  }
  if (verdict.action === 'forward') device.write(mqttPacket.generate({ ...packet, payload: Buffer.from(verdict.payload) }));
  for (const c of copies) {
    device.write(mqttPacket.generate({ cmd: 'publish', topic: c.topic, payload: Buffer.from(c.payload), qos: 0, retain: false, dup: false }));
    note(`delivered an extra copy on ${c.topic}`, { action: 'inject-to-device', topic: c.topic });
  }
  return true;
}
