/**
 * Domain words of the device-command scenarios (issue 13): the handler a device runs, the reason
 * it refuses a command, and what a gateway does to commands on their way down. Kept beside
 * parameter-types.ts so the command vocabulary is defined in one place.
 */
import { defineParameterType } from '@cucumber/cucumber';
import { assertHandlerName, type CommandHandlerName } from '../emulators/commands/command-handlers.ts';
import type { CommandRefusal } from '../emulators/commands/device-commands.ts';
import { forgeCommands, replayCommands, tamperCommands, type DownstreamMalice } from '../emulators/command-malice.ts';

defineParameterType({
  name: 'command handler',
  regexp: /"([a-z-]+)" command handler/,
  transformer: (name: string): CommandHandlerName => {
    assertHandlerName(name);
    return name;
  },
});

export const COMMAND_REFUSALS: readonly CommandRefusal[] = ['malformed', 'not allowed', 'type', 'range', 'rate limit', 'bad tag', 'replay', 'stale timestamp', 'wrong device'];

defineParameterType({
  name: 'command refusal',
  regexp: /refused as "([a-z ]+)"/,
  transformer: (reason: string): CommandRefusal => {
    if (!(COMMAND_REFUSALS as readonly string[]).includes(reason)) throw new Error(`unknown command refusal "${reason}"; valid: ${COMMAND_REFUSALS.map((r) => `"${r}"`).join(', ')}`);
    return reason as CommandRefusal;
  },
});

defineParameterType({
  name: 'command malice',
  regexp: /alters command \d+ on its way to the device|replays command \d+ to the device|forges a set_temp 35 command for the device/,
  transformer: (text: string): DownstreamMalice => {
    const n = Number(/\d+/.exec(text)?.[0]);
    if (text.startsWith('alters')) return tamperCommands({ commands: [n] });
    if (text.startsWith('replays')) return replayCommands({ commands: [n] });
    return forgeCommands({ body: '{"command":"set_temp","temp":35}' });
  },
});
