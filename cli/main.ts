/**
 * `testbed`: the command users drive (docs/architecture.md §9 The CLI). Each command lives in its own module;
 * this file only dispatches and turns errors into one clear line instead of a stack trace.
 */
import { UsageError } from './commands/options.ts';
import { packageVersion } from './package-version.ts';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

/**
 * Every subcommand by name, loaded only when used: `testbed energy` or `--version` need not load
 * Cucumber, Docker clients and the topology code of `run` and `up` (bench/cli-startup.ts).
 * README.md lists each with its flags (cli/readme-catalogue.test.ts).
 */
const COMMAND_LOADERS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.ts')).runCommand,
  pki: async () => (await import('./commands/pki.ts')).pkiCommand,
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand,
  energy: async () => (await import('./commands/energy.ts')).energyCommand,
  setup: async () => (await import('./commands/setup.ts')).setupCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  up: async () => (await import('./commands/up.ts')).upCommand,
  status: async () => (await import('./commands/up.ts')).statusCommand,
  down: async () => (await import('./commands/up.ts')).downCommand,
  tail: async () => (await import('./commands/tail.ts')).tailCommand,
  seal: async () => (await import('./commands/seal.ts')).sealCommand,
  scan: async () => (await import('./commands/scan.ts')).scanCommand,
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMAND_LOADERS);

/** All commands, loaded (for the help text and the README check). */
export async function loadCommands(): Promise<Record<string, Command>> {
  const loaded = await Promise.all(Object.entries(COMMAND_LOADERS).map(async ([name, load]) => [name, await load()] as const));
  return Object.fromEntries(loaded);
}

async function help(): Promise<string> {
  const lines = ['testbed — end-to-end testbed for IoT transport encryption (E3/E4)', '', 'Commands:'];
  for (const c of Object.values(await loadCommands())) lines.push(`  ${c.usage.padEnd(52)} ${c.summary}`);
  lines.push('', 'Run `testbed <command> --help` for a command\'s options; `testbed --version` prints the version.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(packageVersion());
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const load = COMMAND_LOADERS[name];
  if (!load) {
    console.error(`testbed: unknown command "${name}"; commands: ${COMMAND_NAMES.join(', ')}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    console.error(`testbed ${name}: ${(err as Error).message}`);
    if (process.env.TESTBED_DEBUG) console.error(err);
    return err instanceof UsageError ? 2 : 1; // 2: the command line needs changing, as parseArgs-style tools do
  }
}
