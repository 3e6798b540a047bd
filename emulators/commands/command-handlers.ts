/**
 * The two device command handlers of the source chapter's §17.5 ("Missing Input Validation on
 * Device Commands"), run on a command the device has already opened and authenticated (E3):
 *
 * - `secure` is the chapter's CORRECT handler: an allowlist (`get_status`, `set_temp`, `reset`,
 *   `reboot`), type checks, the range TEMP_MIN..TEMP_MAX = 10..35 °C, and the rate limit its
 *   "Prevention" line asks for. Every refusal carries a reason and a sentence.
 * - `vulnerable` is its WRONG handler: the command and its parameter concatenated into a command
 *   line and run by the (emulated) firmware shell, no checks at all. E3 proves the cloud sent
 *   the command; it says nothing about whether the command is safe to run — the chapter's "Why it
 *   happens: developers trust the message source".
 */
import type { DeviceState } from './device-state.ts';
import { runFirmwareShell, type EmulatedFiles } from './firmware-shell.ts';

export const ALLOWED_COMMANDS: ReadonlySet<string> = new Set(['get_status', 'set_temp', 'reset', 'reboot']);
export const TEMP_MIN = 10;
export const TEMP_MAX = 35;
export const COMMAND_HANDLERS = ['secure', 'vulnerable'] as const;
export type CommandHandlerName = (typeof COMMAND_HANDLERS)[number];

/** Why a secure handler refused: each a class the fuzzer counts. */
export type HandlerRefusal = 'malformed' | 'not allowed' | 'type' | 'range' | 'rate limit';

export type HandlerOutcome =
  | { readonly verdict: 'executed'; readonly command: string; readonly detail: string; readonly output: string }
  | { readonly verdict: 'refused'; readonly reason: HandlerRefusal; readonly detail: string; readonly command?: string };

export interface CommandHandler {
  readonly name: CommandHandlerName;
  /** `text`: the opened command body (UTF-8); `nowSec`: the device's clock. Never throws. */
  handle(text: string, nowSec: number): HandlerOutcome;
}

export function assertHandlerName(name: unknown): asserts name is CommandHandlerName {
  if (!COMMAND_HANDLERS.includes(name as CommandHandlerName)) {
    throw new Error(`device commands: unknown command handler profile ${JSON.stringify(name)}; use one of ${COMMAND_HANDLERS.join(', ')}`);
  }
}

export interface RateLimit {
  /** At most this many commands… */
  readonly commands: number;
  /** …per this many seconds of the device's clock. */
  readonly perSeconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { commands: 10, perSeconds: 60 };

/** A sliding window of the times of recent commands, on the device's clock. */
class SlidingWindowLimiter {
  readonly #times: number[] = [];
  constructor(readonly limit: RateLimit) {
    if (!Number.isInteger(limit.commands) || limit.commands < 1 || !(limit.perSeconds > 0)) {
      throw new Error(`device commands: a rate limit is a whole number ≥ 1 of commands per a number of seconds > 0, got ${JSON.stringify(limit)}`);
    }
  }

  /** Counts this attempt; false when it is over the limit. Every attempt counts (brute force). */
  admit(nowSec: number): boolean {
    while (this.#times.length > 0 && (this.#times[0] as number) <= nowSec - this.limit.perSeconds) this.#times.shift();
    if (this.#times.length >= this.limit.commands) return false;
    this.#times.push(nowSec);
    return true;
  }
}

function refuse(reason: HandlerRefusal, detail: string, command?: string): HandlerOutcome {
  return { verdict: 'refused', reason, detail, ...(command !== undefined ? { command } : {}) };
}

function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message}); send {"command": "...", ...}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `a command is a JSON object {"command": "...", ...}, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  return value as Record<string, unknown>;
}

/** The chapter's CORRECT handler (§17.5), plus its rate limit. */
export function secureHandler(device: DeviceState, rateLimit: RateLimit = DEFAULT_RATE_LIMIT): CommandHandler {
  const limiter = new SlidingWindowLimiter(rateLimit);
  return {
    name: 'secure',
    handle(text, nowSec) {
      // Rate limit first: a flood is refused before any of it is parsed (§17.5 Prevention).
      if (!limiter.admit(nowSec)) return refuse('rate limit', `more than ${rateLimit.commands} commands in ${rateLimit.perSeconds} s; try again later`);
      const msg = parseObject(text);
      if (typeof msg === 'string') return refuse('malformed', msg);
      const cmd = msg.command;
      // Allowlist, not blocklist; Set.has on the exact string (no prototype keys, no trimming).
      if (typeof cmd !== 'string' || !ALLOWED_COMMANDS.has(cmd)) {
        return refuse('not allowed', `invalid command ${JSON.stringify(cmd)?.slice(0, 80)}; allowed: ${[...ALLOWED_COMMANDS].join(', ')}`);
      }
      const extra = Object.keys(msg).filter((k) => k !== 'command' && !(cmd === 'set_temp' && k === 'temp'));
      if (extra.length > 0) return refuse('malformed', `unexpected field(s) ${extra.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')} for ${cmd}`, cmd);
      if (cmd === 'set_temp') {
        const temp = msg.temp;
        if (typeof temp !== 'number' || !Number.isFinite(temp)) return refuse('type', `Temperature must be a number, got ${typeof temp === 'string' ? `the string ${JSON.stringify(temp.slice(0, 60))}` : JSON.stringify(temp) ?? typeof temp}`, cmd);
        if (temp < TEMP_MIN || temp > TEMP_MAX) return refuse('range', `Temperature must be ${TEMP_MIN}-${TEMP_MAX}, got ${temp}`, cmd);
        device.setPoint(temp);
      } else if (cmd === 'reset') device.reset();
      else if (cmd === 'reboot') device.reboot();
      device.executed();
      const output = cmd === 'get_status' ? JSON.stringify(device.status()) : cmd === 'set_temp' ? `set point ${String(msg.temp)} °C` : cmd;
      return { verdict: 'executed', command: cmd, detail: `executed ${cmd}`, output };
    },
  };
}

/**
 * The chapter's WRONG handler (§17.5): `exec(msg['command'])` with the parameter appended, as a
 * firmware building `"set_temp " + temp` for system() does. Runs through the emulated shell only.
 */
export function vulnerableHandler(device: DeviceState, files: EmulatedFiles): CommandHandler {
  return {
    name: 'vulnerable',
    handle(text) {
      const msg = parseObject(text);
      // Even the WRONG handler cannot run what it cannot read; the device keeps running.
      if (typeof msg === 'string') return refuse('malformed', msg);
      const line = `${String(msg.command)}${msg.temp !== undefined ? ` ${String(msg.temp)}` : ''}`;
      const run = runFirmwareShell(line, device, files);
      for (const s of run.statements) if (s.status === 0) device.executed();
      return { verdict: 'executed', command: line.slice(0, 200), detail: `ran "${line.slice(0, 200)}" (${run.statements.length} statement(s))`, output: run.output };
    },
  };
}
