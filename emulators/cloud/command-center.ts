/**
 * The cloud's side of device commands (issue 13): seals each command for one device under the
 * cloud→device key (E3, node:crypto), numbered by a per-device command sequence the device's
 * replay window checks, and audits every response that comes back — opened under the device's
 * response key, or rejected with the reason. A gateway carries both directions and can neither
 * read nor forge either (source chapter §17.6: "keys never at the gateway").
 *
 * The sequence lives in memory: a cloud that restarts must persist it (as the device persists its
 * reading sequence, e3-sealer.ts), or the device's replay window refuses its next commands.
 */
import { appendFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { deriveDeviceKeyNode } from '../../crypto/e3-key-derivation.ts';
import { commandChannelEnd, E3_MESSAGE_CHANNEL, E3MessageReceiver, E3MessageSender, type E3MessageKind } from '../../crypto/e3-message.ts';
import { ObservationLog } from '../observation-log.ts';
import type { CommandResponse } from '../commands/device-commands.ts';
import { commandTopic, pseudonymOfCommandTopic } from '../commands/command-topics.ts';
import type { DeviceRegistry, RegisteredDevice } from './device-registry.ts';

/** The fixed half of every command nonce; with the per-device sequence it never repeats under one key. */
const COMMAND_SALT = Uint8Array.from([0x63, 0x32, 0x64, 0x00]); // "c2d\0"

export interface SentCommand {
  readonly deviceId: string;
  readonly sequence: bigint;
  readonly body: string;
  readonly topic: string;
  readonly bytes: number;
}

export interface ResponseAuditEntry {
  readonly index: number;
  readonly topic: string;
  readonly verdict: 'accepted' | 'rejected';
  /** Why the cloud refused the response itself (its envelope), when it did. */
  readonly reason?: string;
  readonly detail: string;
  readonly deviceId?: string;
  /** The device's answer, once the response opened. */
  readonly answer?: CommandResponse;
}

export interface CommandCenterOptions {
  readonly registry: DeviceRegistry;
  readonly cloudE3PrivateKey: KeyObject;
  readonly nowSec: () => number;
  /** How a sealed command leaves the cloud (Aedes in-process, or an MQTT client of Mosquitto). */
  readonly publish: (topic: string, payload: Uint8Array) => void;
  /** Append every response audit entry as a JSON line here. */
  readonly auditFile?: string;
}

interface Channel {
  readonly sender: E3MessageSender;
  readonly receiver: E3MessageReceiver;
}

export class CommandCenter {
  readonly log = new ObservationLog<'command-sent' | 'response'>('cloud-commands');
  readonly #o: CommandCenterOptions;
  readonly #channels = new Map<string, Channel>();
  readonly #sent: SentCommand[] = [];
  readonly #responses: ResponseAuditEntry[] = [];

  constructor(o: CommandCenterOptions) {
    this.#o = o;
  }

  #channel(device: RegisteredDevice): Channel {
    let channel = this.#channels.get(device.deviceId);
    if (!channel) {
      const derive = (kind: E3MessageKind, epoch: number) =>
        deriveDeviceKeyNode({ cloudPrivateKey: this.#o.cloudE3PrivateKey, devicePublicKey: device.publicKey, pseudonym: device.pseudonym, epoch, algorithm: device.algorithm, channel: E3_MESSAGE_CHANNEL[kind] });
      channel = {
        sender: new E3MessageSender(commandChannelEnd('command', 'node', device.pseudonymHex, device.algorithm, derive), COMMAND_SALT),
        receiver: new E3MessageReceiver(commandChannelEnd('response', 'node', device.pseudonymHex, device.algorithm, derive)),
      };
      this.#channels.set(device.deviceId, channel);
    }
    return channel;
  }

  /** Seals `body` (the command's JSON text) for one device and publishes it on its command topic. */
  send(deviceId: string, body: string): SentCommand {
    const device = this.#o.registry.byDeviceId(deviceId);
    if (!device) throw new Error(`command-center: no device "${deviceId}" in the registry; send commands to a provisioned wearable`);
    if (typeof body !== 'string' || body.length === 0) throw new Error('command-center: a command is non-empty JSON text, e.g. {"command":"get_status"}');
    const { sequence, message } = this.#channel(device).sender.seal(new TextEncoder().encode(body), this.#o.nowSec());
    const topic = commandTopic(device.pseudonymHex);
    this.#o.publish(topic, message);
    const sent: SentCommand = { deviceId, sequence, body, topic, bytes: message.length };
    this.#sent.push(sent);
    this.log.record('command-sent', `sealed command #${sequence} for ${deviceId} (${message.length} bytes)`, { ...sent }, message);
    return sent;
  }

  /** Audits one payload that arrived on a response topic; never throws. */
  ingestResponse(payload: Uint8Array, topic: string): ResponseAuditEntry {
    const base = { index: this.#responses.length, topic };
    const named = pseudonymOfCommandTopic(topic);
    const device = named?.kind === 'responses' ? this.#o.registry.byPseudonym(named.pseudonymHex) : undefined;
    let entry: ResponseAuditEntry;
    if (!device) {
      entry = { ...base, verdict: 'rejected', reason: 'unknown device', detail: `no device is registered for response topic ${topic}` };
    } else {
      const opened = this.#channel(device).receiver.open(payload, this.#o.nowSec());
      if (!opened.ok) {
        entry = { ...base, verdict: 'rejected', reason: opened.reason, detail: opened.detail, deviceId: device.deviceId };
      } else {
        let answer: CommandResponse | undefined;
        try {
          answer = JSON.parse(Buffer.from(opened.body).toString('utf8')) as CommandResponse;
        } catch {
          answer = undefined;
        }
        entry = answer
          ? { ...base, verdict: 'accepted', detail: `${device.deviceId} ${answer.verdict} command #${answer.command ?? '?'}${answer.reason ? ` (${answer.reason})` : ''}`, deviceId: device.deviceId, answer }
          : { ...base, verdict: 'rejected', reason: 'malformed', detail: `${device.deviceId} sent an authentic response that is not JSON`, deviceId: device.deviceId };
      }
    }
    this.#responses.push(entry);
    this.log.record('response', `${entry.verdict}: ${entry.detail}`, { entry }, payload);
    if (this.#o.auditFile) appendFileSync(this.#o.auditFile, JSON.stringify(entry) + '\n', { mode: 0o600 });
    return entry;
  }

  sent(): readonly SentCommand[] {
    return this.#sent;
  }

  responses(): readonly ResponseAuditEntry[] {
    return this.#responses;
  }
}
