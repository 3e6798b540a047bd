/**
 * Colour for the CLI's own marks, only where a person reads a terminal: never when stdout is a
 * pipe or a file (CI logs, `| grep`), never with NO_COLOR set (https://no-color.org: any
 * non-empty value). Text from other tools (versions, banners) is stripped of its escape codes
 * whatever the terminal, since they are not ours to print raw.
 */

/** ECMA-48 CSI sequences (ESC [ … final byte) and lone OSC/ESC pairs, as tools print them. */
// eslint-disable-next-line no-control-regex -- matching escape codes is this expression's job
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** `text` without terminal escape codes, its tabs and runs of spaces made single spaces. */
export function plainText(text: string): string {
  return text.replace(ESCAPES, '').replace(/[\t ]+/g, ' ').trim();
}

/** Whether to colour output written to `stream` under `env`. */
export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

const CODES = { green: 32, red: 31, yellow: 33 } as const;

/** A painter: wraps text in the colour's SGR codes when `enabled`, returns it unchanged otherwise. */
export function painter(enabled: boolean): (colour: keyof typeof CODES, text: string) => string {
  return (colour, text) => (enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}
