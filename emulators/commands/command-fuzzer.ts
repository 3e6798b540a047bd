/**
 * A seeded, bounded fuzzer for the secure command handler (issue 13, item 4): random and mutated
 * commands, with valid ones interleaved, against the chapter's CORRECT handler (§17.5). It
 * checks what matters from outside: nothing throws, every input lands in exactly one class, every
 * valid command in between is still executed, and no set point outside 10..35 °C is ever applied.
 * Same seed, same inputs: a failure is reproduced by its seed and index.
 */
import { secureHandler, TEMP_MAX, TEMP_MIN, type HandlerRefusal } from './command-handlers.ts';
import { DeviceState } from './device-state.ts';
import { seededRandom } from '../vital-signs.ts';

export { seededRandom };

export type FuzzClass = 'executed' | HandlerRefusal | 'threw';
export const FUZZ_MAX_COMMANDS = 10_000_000;

export interface FuzzReport {
  readonly seed: number;
  readonly commands: number;
  readonly classes: Readonly<Record<FuzzClass, number>>;
  readonly validSent: number;
  readonly validExecuted: number;
  /** Set points the device applied outside TEMP_MIN..TEMP_MAX (must stay empty). */
  readonly outOfRangeApplied: readonly number[];
  /** The first few inputs that threw or were not executed though valid, for the report. */
  readonly failures: readonly { index: number; input: string; problem: string }[];
}

const COMMAND_WORDS = ['get_status', 'set_temp', 'reset', 'reboot', 'GET_STATUS', 'set_temp ', ' reboot', 'set_temp;reboot', 'rm -rf /', 'cat /secure/device.key', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'set_tem', 'reboot\u0000', 'reset\n'];
const TEMP_VALUES: readonly unknown[] = [22, 10, 35, 9.999, 35.0001, -1, 1000, 1e308, -1e308, 0, -0, 21.5, '22', '22; cat /secure/device.key', '1e3', null, true, [], {}, [22], { value: 22 }, 'NaN', '$(reboot)', '`id`', '22 && reboot'];
const INJECTIONS = ['; cat /secure/device.key', '&& reboot', '|| reset', '\nreboot', '$(id)', '`reboot`', '\u0000', '%n%n%n', '../../../../etc/passwd', '"}', '{"command":"reboot"}'];

/** One valid command and what executing it must do. */
function validCommand(rand: () => number): { text: string; temp?: number } {
  const pick = Math.floor(rand() * 4);
  if (pick === 0) {
    const temp = Math.round((TEMP_MIN + rand() * (TEMP_MAX - TEMP_MIN)) * 10) / 10;
    return { text: JSON.stringify({ command: 'set_temp', temp }), temp };
  }
  return { text: JSON.stringify({ command: ['get_status', 'reset', 'reboot'][pick - 1] }) };
}

function pickFrom<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

/** A random or mutated command: structure-aware most of the time, raw bytes some of the time. */
export function fuzzCommand(rand: () => number): string {
  const r = rand();
  if (r < 0.35) {
    const msg: Record<string, unknown> = { command: pickFrom(rand, COMMAND_WORDS) };
    if (rand() < 0.8) msg.temp = pickFrom(rand, TEMP_VALUES);
    if (rand() < 0.1) msg[pickFrom(rand, ['extra', '__proto__', 'cmd', 'temp2'])] = pickFrom(rand, TEMP_VALUES);
    return JSON.stringify(msg);
  }
  if (r < 0.55) {
    // Mutate a valid command's text: flip, drop or insert characters.
    const chars = [...validCommand(rand).text];
    const edits = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(rand() * chars.length);
      const op = rand();
      if (op < 0.33) chars[at] = String.fromCharCode(Math.floor(rand() * 128));
      else if (op < 0.66) chars.splice(at, 1);
      else chars.splice(at, 0, pickFrom(rand, ['"', '{', '}', ':', ',', '\\', '0', '-', 'e', ' ']));
    }
    return chars.join('');
  }
  if (r < 0.75) {
    // Injections appended to a command or its parameter.
    const injection = pickFrom(rand, INJECTIONS);
    return rand() < 0.5 ? JSON.stringify({ command: `set_temp${injection}`, temp: 22 }) : JSON.stringify({ command: 'set_temp', temp: `22${injection}` });
  }
  if (r < 0.85) return JSON.stringify(pickFrom(rand, [null, 1, 'reboot', [], [{ command: 'reboot' }], { command: ['reboot'] }, { command: { toString: 'reboot' } }, { Command: 'reboot' }]));
  // Raw bytes, decoded as the device decodes its body (UTF-8, replacement characters and all).
  const bytes = Buffer.alloc(1 + Math.floor(rand() * 64));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes.toString('utf8');
}

/**
 * Runs `commands` inputs (every `validEvery`-th a valid command) through a fresh secure handler.
 * The device clock advances `secondsPerCommand` per input, so the rate limit (10 per 60 s) is
 * never what refuses a valid command: it is exercised by its own test, not drowned here.
 */
export function fuzzSecureHandler(o: { seed: number; commands: number; validEvery?: number; secondsPerCommand?: number }): FuzzReport {
  if (!Number.isInteger(o.commands) || o.commands < 1 || o.commands > FUZZ_MAX_COMMANDS) throw new Error(`command fuzzer: commands must be 1..${FUZZ_MAX_COMMANDS}, got ${o.commands}`);
  const validEvery = o.validEvery ?? 10;
  if (!Number.isInteger(validEvery) || validEvery < 2) throw new Error(`command fuzzer: validEvery must be a whole number ≥ 2, got ${validEvery}`);
  const rand = seededRandom(o.seed);
  const device = new DeviceState();
  const handler = secureHandler(device);
  const classes: Record<FuzzClass, number> = { executed: 0, malformed: 0, 'not allowed': 0, type: 0, range: 0, 'rate limit': 0, threw: 0 };
  const failures: { index: number; input: string; problem: string }[] = [];
  let validSent = 0;
  let validExecuted = 0;
  let now = 1_700_000_000;
  for (let i = 0; i < o.commands; i++) {
    now += o.secondsPerCommand ?? 7;
    const valid = i % validEvery === validEvery - 1 ? validCommand(rand) : undefined;
    const input = valid ? valid.text : fuzzCommand(rand);
    try {
      const outcome = handler.handle(input, now);
      classes[outcome.verdict === 'executed' ? 'executed' : outcome.reason] += 1;
      if (valid) {
        validSent += 1;
        const applied = valid.temp === undefined || device.status().setPointC === valid.temp;
        if (outcome.verdict === 'executed' && applied) validExecuted += 1;
        else if (failures.length < 10) failures.push({ index: i, input, problem: outcome.verdict === 'executed' ? `set point is ${device.status().setPointC}, not ${valid.temp}` : `valid command refused: ${outcome.detail}` });
      }
    } catch (err) {
      classes.threw += 1;
      if (failures.length < 10) failures.push({ index: i, input, problem: `threw: ${(err as Error).message}` });
    }
  }
  const outOfRangeApplied = device.setPointsApplied.filter((t) => !(t >= TEMP_MIN && t <= TEMP_MAX));
  return { seed: o.seed, commands: o.commands, classes, validSent, validExecuted, outOfRangeApplied, failures };
}
