/** Option parsing shared by the commands: node:util parseArgs with errors that say what to do. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, usage: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (err) {
    // node's messages can span lines (an option value that starts with a dash): one line each.
    throw new Error(`${(err as Error).message.split('\n').join(' ')}\nusage: testbed ${usage}`, { cause: err });
  }
}
