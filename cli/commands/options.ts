/** Option parsing shared by the commands: node:util parseArgs with errors that say what to do. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad flag or value: main prints its message (what to change, then the usage) and exits 2. */
export class UsageError extends Error {}

export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, usage: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (err) {
    // node's messages can span lines (an option value that starts with a dash): one line each.
    throw new UsageError(`${problemOf(err as NodeJS.ErrnoException, Object.keys(options))}\nusage: testbed ${usage}`, { cause: err });
  }
}

/** node's parse error as one line; an unknown option also gets the list of those the command takes. */
function problemOf(err: NodeJS.ErrnoException, known: readonly string[]): string {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-[^']*)'/.exec(err.message)?.[1] : undefined;
  if (unknown !== undefined) {
    const list = known.length ? `its options are ${known.map((k) => `--${k}`).join(', ')}` : 'it takes no options';
    return `unknown option ${unknown}: ${list}`;
  }
  return err.message.split('\n').join(' ');
}
