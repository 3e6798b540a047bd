/**
 * `testbed`: the command users drive (docs/architecture.md §9 The CLI). Each command lives in its own module;
 * this file only dispatches and turns errors into one clear line instead of a stack trace.
 */
import { runCommand } from './commands/run.ts';
import { pkiCommand } from './commands/pki.ts';
import { doctorCommand } from './commands/doctor.ts';
import { energyCommand } from './commands/energy.ts';
import { setupCommand } from './commands/setup.ts';
import { demoCommand } from './commands/demo.ts';
import { upCommand, statusCommand, downCommand } from './commands/up.ts';
import { tailCommand } from './commands/tail.ts';
import { sealCommand } from './commands/seal.ts';
import { scanCommand } from './commands/scan.ts';
import { UsageError } from './commands/options.ts';
import { packageVersion } from './package-version.ts';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

/** Every subcommand by name (README.md lists each with its flags: cli/readme-catalogue.test.ts). */
export const COMMANDS: Record<string, Command> = {
  run: runCommand,
  pki: pkiCommand,
  doctor: doctorCommand,
  energy: energyCommand,
  setup: setupCommand,
  demo: demoCommand,
  up: upCommand,
  status: statusCommand,
  down: downCommand,
  tail: tailCommand,
  seal: sealCommand,
  scan: scanCommand,
};

function help(): string {
  const lines = ['testbed — end-to-end testbed for IoT transport encryption (E3/E4)', '', 'Commands:'];
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.usage.padEnd(52)} ${c.summary}`);
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
    console.log(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`testbed: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    console.error(`testbed ${name}: ${(err as Error).message}`);
    if (process.env.TESTBED_DEBUG) console.error(err);
    return err instanceof UsageError ? 2 : 1; // 2: the command line needs changing, as parseArgs-style tools do
  }
}
