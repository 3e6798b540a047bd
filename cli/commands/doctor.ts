/** `testbed doctor`: which system prerequisites are present, and the exact command for the rest. */
import type { Command } from '../main.ts';
import { PREREQUISITES, checkPrerequisite, installCommand } from '../prerequisites.ts';
import { parseOptions } from './options.ts';
import { dockerDaemonStatus } from '../../containers/docker-daemon.ts';
import { colourWanted, painter, plainText } from '../terminal-colour.ts';

export const doctorCommand: Command = {
  summary: 'report missing prerequisites and how to install them',
  usage: 'doctor',
  async run(args) {
    const { values } = parseOptions('doctor', this.usage, args, {});
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    const paint = painter(colourWanted(process.stdout));
    const ok = paint('green', 'ok     ');
    console.log(`node ${process.version} (needs >= 20.19)`);
    const statuses = await Promise.all(PREREQUISITES.map(checkPrerequisite));
    for (const s of statuses) {
      const mark = s.available ? ok : paint('red', 'MISSING');
      // A tool's version line is its own text (sslscan colours it): printed plain.
      console.log(`${mark} ${s.prerequisite.name.padEnd(18)} ${s.available ? plainText(s.version ?? '') : `needed for ${s.prerequisite.neededFor}`}`);
    }
    // docker.io installed is not enough for the containers topology: the daemon must answer.
    if (statuses.find((s) => s.prerequisite.name === 'docker')?.available) {
      const daemon = await dockerDaemonStatus();
      console.log(`${daemon.running ? ok : paint('red', 'DOWN   ')} ${'dockerd (running)'.padEnd(18)} ${plainText(daemon.running ? (daemon.serverVersion ?? '') : (daemon.reason ?? ''))}`);
    }
    const missing = statuses.filter((s) => !s.available).map((s) => s.prerequisite);
    if (missing.length === 0) {
      console.log('\nEverything is installed.');
      return 0;
    }
    console.log(`\nTo install what is missing (as root): ${installCommand(missing)}`);
    console.log('Or run `testbed setup` as root: it installs them and says what it installs.');
    return 1;
  },
};
