/**
 * An emulated firmware shell: what a device's `os.system(cmd)` would do with a command line
 * built by string concatenation — the WRONG handlers of the source chapter's §17.5 ("Missing
 * Input Validation on Device Commands": `exec(msg['command'])`, `thermostat.set(msg['temp'])`).
 *
 * It is an interpreter of a tiny command language over an emulated device, never a real shell:
 * nothing received reaches eval, exec, spawn or the host's file system. It reproduces the parts
 * of a shell an injection relies on: `;` and newlines separate statements, `&&` and `||` chain
 * them, and a few builtins act on the device — the thermostat, resets and reboots — or read its
 * emulated file system, where the device's key lives as firmware keeps it (/secure/device.key).
 *
 * Bounded: a command line is at most MAX_LINE characters and MAX_STATEMENTS statements, so a
 * hostile line costs a known amount of work.
 */
import type { DeviceState } from './device-state.ts';

export const SHELL_MAX_LINE = 4096;
export const SHELL_MAX_STATEMENTS = 32;

export interface ShellStatement {
  readonly argv: readonly string[];
  readonly status: 0 | 1 | 127;
  readonly output: string;
}

export interface ShellRun {
  readonly line: string;
  readonly statements: readonly ShellStatement[];
  /** Everything the statements printed, as the command's reply would carry it back. */
  readonly output: string;
}

/** The emulated file system: path → contents. */
export type EmulatedFiles = ReadonlyMap<string, string>;

type Builtin = (args: readonly string[], device: DeviceState, files: EmulatedFiles) => { status: 0 | 1; output: string };

const BUILTINS: Readonly<Record<string, Builtin>> = {
  get_status: (_a, d) => ({ status: 0, output: JSON.stringify(d.status()) }),
  // No type or range check: the WRONG `thermostat.set(msg['temp'])`. A number is applied as is.
  set_temp: (a, d) => {
    const value = Number(a[0]);
    if (a[0] === undefined || a[0] === '' || !Number.isFinite(value)) return { status: 1, output: `set_temp: "${a[0] ?? ''}" is not a number` };
    d.setPoint(value);
    return { status: 0, output: `set point ${value} °C` };
  },
  reset: (_a, d) => {
    d.reset();
    return { status: 0, output: 'reset' };
  },
  reboot: (_a, d) => {
    d.reboot();
    return { status: 0, output: 'rebooting' };
  },
  cat: (a, _d, files) => {
    const out: string[] = [];
    for (const path of a) {
      const text = files.get(path);
      if (text === undefined) return { status: 1, output: `${out.join('')}cat: ${path}: No such file or directory` };
      out.push(text);
    }
    return { status: 0, output: out.join('') };
  },
  ls: (a, _d, files) => {
    const dir = (a[0] ?? '/').replace(/\/?$/, '/');
    return { status: 0, output: [...files.keys()].filter((p) => p.startsWith(dir)).join('\n') };
  },
  echo: (a) => ({ status: 0, output: a.join(' ') }),
  id: () => ({ status: 0, output: 'uid=0(root) gid=0(root)' }),
};

/** Splits a line into statements with the operator that joins each to the one before. */
function statements(line: string): { op: ';' | '&&' | '||'; words: string[] }[] {
  const out: { op: ';' | '&&' | '||'; words: string[] }[] = [];
  let op: ';' | '&&' | '||' = ';';
  for (const part of line.split(/(;|\n|&&|\|\|)/)) {
    if (part === ';' || part === '\n' || part === '&&' || part === '||') {
      op = part === '\n' ? ';' : part;
      continue;
    }
    const words = part.trim().split(/\s+/).filter((w) => w !== '');
    if (words.length > 0) out.push({ op, words });
  }
  return out;
}

/** Runs a command line against the device as a firmware's system() would. Never throws. */
export function runFirmwareShell(line: string, device: DeviceState, files: EmulatedFiles): ShellRun {
  if (typeof line !== 'string') line = String(line);
  if (line.length > SHELL_MAX_LINE) {
    return { line: line.slice(0, 80), statements: [], output: `sh: line too long (${line.length} > ${SHELL_MAX_LINE} characters)` };
  }
  const parsed = statements(line).slice(0, SHELL_MAX_STATEMENTS);
  const run: ShellStatement[] = [];
  let last: 0 | 1 | 127 = 0;
  for (const { op, words } of parsed) {
    if ((op === '&&' && last !== 0) || (op === '||' && last === 0)) continue;
    const [name, ...args] = words as [string, ...string[]];
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    const result = builtin ? builtin(args, device, files) : { status: 127 as const, output: `sh: ${name}: not found` };
    run.push({ argv: words, status: result.status, output: result.output });
    last = result.status;
  }
  return { line, statements: run, output: run.map((s) => s.output).join('\n') };
}
