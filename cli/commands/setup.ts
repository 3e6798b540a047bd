/** `testbed setup`: install the system prerequisites (root with apt), saying what it installs. */
import type { Command } from '../main.ts';
import { PREREQUISITES, canInstallWithApt, installCommand, installMissing } from '../prerequisites.ts';
import { parseOptions } from './options.ts';

export const setupCommand: Command = {
  summary: 'install system prerequisites with apt (root), e.g. --only tshark,openssl',
  usage: 'setup [--only NAME,NAME]',
  async run(args) {
    const { values } = parseOptions('setup', this.usage, args, { only: { type: 'string' } });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\nknown: ${PREREQUISITES.map((p) => p.name).join(', ')}`);
      return 0;
    }
    const names = values.only ? values.only.split(',').map((s) => s.trim()) : PREREQUISITES.map((p) => p.name);
    const stillMissing = await installMissing(names, (line) => console.log(line));
    if (stillMissing.length === 0) {
      console.log(`setup: all of ${names.join(', ')} present`);
      return 0;
    }
    if (!canInstallWithApt()) console.error(`setup: not root with apt; run as root: ${installCommand(stillMissing.map((s) => s.prerequisite))}`);
    for (const s of stillMissing) console.error(`setup: ${s.reason}`);
    return 1;
  },
};
