/**
 * The device's side of cloud→device commands (issue 13): open each sealed command (E3: the
 * cloud's key for this device, the cloud's command sequence in this device's replay window),
 * hand what opened to the profile's handler (command-handlers.ts), and answer every command —
 * executed or refused, with the reason — in a response sealed for the cloud alone. Every step is
 * a record in the device's own log: that log and the device's state are what scenarios judge.
 *
 * Never throws on a received payload: a forged, replayed or malformed command is one refused
 * record, and the device carries on with the next (docs/architecture.md §11 Non-negotiables).
 */
import { deriveDeviceKeyNoble, rawP256PrivateKey, rawP256PublicKey } from '../../crypto/e3-key-derivation.ts';
import { commandChannelEnd, E3_MESSAGE_CHANNEL, E3MessageReceiver, E3MessageSender, type E3MessageKind, type E3MessageRejection } from '../../crypto/e3-message.ts';
import { ObservationLog } from '../observation-log.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import { assertHandlerName, secureHandler, vulnerableHandler, type CommandHandler, type CommandHandlerName, type HandlerRefusal, type RateLimit } from './command-handlers.ts';
import { DeviceState } from './device-state.ts';

export type CommandRecordKind = 'command-executed' | 'command-refused';
/** Why a device refused a command: the envelope's reasons (E3) and the handler's (§17.5). */
export type CommandRefusal = E3MessageRejection | HandlerRefusal;

export interface DeviceCommandsConfig {
  readonly provisioning: DeviceProvisioning;
  /** The device's P-256 key (its secure element stand-in); also a file in the emulated firmware. */
  readonly deviceKeyPem: string;
  readonly cloudE3PublicKeyPem: string;
  readonly handler: CommandHandlerName;
  readonly clock: { nowSec(): number };
  readonly rateLimit?: RateLimit;
}

/** What the device sends back, sealed, for every command it received. */
export interface CommandResponse {
  /** The command's sequence (as a decimal string), when its header could be read. */
  readonly command: string | null;
  readonly verdict: 'executed' | 'refused';
  readonly reason?: CommandRefusal;
  readonly detail: string;
  readonly output?: string;
}

/** Where the key sits in the emulated firmware's file system (the injection reads it). */
export const DEVICE_KEY_PATH = '/secure/device.key';
const MAX_OUTPUT = 700;

export class DeviceCommands {
  readonly log: ObservationLog<CommandRecordKind>;
  readonly state = new DeviceState();
  readonly #receiver: E3MessageReceiver;
  readonly #sender: E3MessageSender;
  readonly #handler: CommandHandler;
  readonly #clock: { nowSec(): number };

  constructor(config: DeviceCommandsConfig) {
    assertHandlerName(config.handler);
    const p = config.provisioning;
    this.log = new ObservationLog(p.deviceId);
    const devicePrivateKey = rawP256PrivateKey(config.deviceKeyPem);
    const cloudPublicKey = rawP256PublicKey(config.cloudE3PublicKeyPem);
    const derive = (kind: E3MessageKind, epoch: number) =>
      deriveDeviceKeyNoble({ devicePrivateKey, cloudPublicKey, pseudonym: Buffer.from(p.pseudonymHex, 'hex'), epoch, algorithm: p.algorithm, channel: E3_MESSAGE_CHANNEL[kind] });
    this.#receiver = new E3MessageReceiver(commandChannelEnd('command', 'noble', p.pseudonymHex, p.algorithm, derive));
    this.#sender = new E3MessageSender(commandChannelEnd('response', 'noble', p.pseudonymHex, p.algorithm, derive), Buffer.from(p.saltHex, 'hex'));
    const files = new Map([
      [DEVICE_KEY_PATH, config.deviceKeyPem],
      ['/etc/device-id', p.deviceId],
      ['/etc/firmware-version', 'wearable-fw 1.4.2'],
    ]);
    this.#handler = config.handler === 'secure' ? secureHandler(this.state, config.rateLimit) : vulnerableHandler(this.state, files);
    this.#clock = config.clock;
  }

  get handler(): CommandHandlerName {
    return this.#handler.name;
  }

  /** Opens, judges and runs one received command; returns the sealed response to publish. */
  handle(payload: Uint8Array): { response: Uint8Array; answer: CommandResponse } {
    const now = this.#clock.nowSec();
    const opened = this.#receiver.open(payload, now);
    let answer: CommandResponse;
    if (!opened.ok) {
      answer = { command: opened.sequence?.toString() ?? null, verdict: 'refused', reason: opened.reason, detail: opened.detail };
    } else {
      const text = Buffer.from(opened.body).toString('utf8');
      const outcome = this.#handler.handle(text, now);
      answer =
        outcome.verdict === 'executed'
          ? { command: opened.sequence.toString(), verdict: 'executed', detail: outcome.detail, output: outcome.output.slice(0, MAX_OUTPUT) }
          : { command: opened.sequence.toString(), verdict: 'refused', reason: outcome.reason, detail: outcome.detail };
    }
    const kind = answer.verdict === 'executed' ? 'command-executed' : 'command-refused';
    this.log.record(kind, `${answer.verdict} command #${answer.command ?? '?'}${answer.reason ? ` (${answer.reason})` : ''}: ${answer.detail}`, { ...answer, handler: this.#handler.name, state: this.state.status() }, payload);
    const { message } = this.#sender.seal(new TextEncoder().encode(JSON.stringify(answer)), now);
    return { response: message, answer };
  }
}
