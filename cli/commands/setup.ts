/** `testbed setup`: install the system prerequisites (root with apt), saying what it installs. */
import type { Command } from '../main.ts';
import { PREREQUISITES, canInstallWithApt, installCommand, installMissing, isCi } from '../prerequisites.ts';
import { parseOptions } from './options.ts';
import { ensureDockerDaemon } from '../../containers/docker-daemon.ts';

export const setupCommand: Command = {
  summary: 'install system prerequisites with apt (root), e.g. --only tshark,openssl',
  usage: 'setup [--only NAME,NAME] [--best-effort]',
  async run(args) {
    const { values } = parseOptions('setup', this.usage, args, { only: { type: 'string' }, 'best-effort': { type: 'boolean' } });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\nknown: ${PREREQUISITES.map((p) => p.name).join(', ')}`);
      return 0;
    }
    const names = values.only ? values.only.split(',').map((s) => s.trim()) : PREREQUISITES.map((p) => p.name);
    const stillMissing = await installMissing(names, (line) => console.log(line));
    // The containers topology needs a running daemon, not only the package: there is no init
    // system on a fresh CI machine, so start dockerd (containers/docker-daemon.ts).
    if (names.includes('docker') && !stillMissing.some((s) => s.prerequisite.name === 'docker')) {
      try {
        await ensureDockerDaemon((line) => console.log(line));
      } catch (err) {
        console.error(`setup: ${(err as Error).message}`);
        if (!values['best-effort'] || isCi()) return 1;
      }
    }
    if (stillMissing.length === 0) {
      console.log(`setup: all of ${names.join(', ')} present`);
      return 0;
    }
    if (!canInstallWithApt()) console.error(`setup: not root with apt; run as root: ${installCommand(stillMissing.map((s) => s.prerequisite))}`);
    for (const s of stillMissing) console.error(`setup: ${s.reason}`);
    // --best-effort (used by `npm test`): where we cannot install, say so and let the tests that
    // need a tool report themselves as skipped; in CI a missing prerequisite is a failure.
    if (values['best-effort'] && !isCi()) {
      console.error('setup: continuing; tests that need these tools will be reported as skipped.');
      return 0;
    }
    return 1;
  },
};
