/** `testbed energy --profile NAME [--rtt MS]`: the device energy model with the source chapter's figures. */
import { DEVICE_PROFILES } from '../../emulators/energy-model.ts';
import { energyReportLines } from '../energy-report.ts';
import type { Command } from '../main.ts';
import { parseOptions, UsageError } from './options.ts';

export const energyCommand: Command = {
  summary: 'energy per reading, per day and per TLS handshake for a device profile',
  usage: `energy --profile ${DEVICE_PROFILES.map((p) => p.name).join('|')} [--rtt MS]`,
  async run(args) {
    const { values } = parseOptions('energy', this.usage, args, {
      profile: { type: 'string' },
      rtt: { type: 'string', default: '50' },
    });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    const names = DEVICE_PROFILES.map((p) => p.name).join(', ');
    if (!values.profile) throw new UsageError(`--profile is required (one of ${names})\nusage: testbed ${this.usage}`);
    const profile = DEVICE_PROFILES.find((p) => p.name === values.profile);
    if (!profile) throw new UsageError(`--profile: unknown device profile "${values.profile}"; profiles: ${names}`);
    const rtt = Number(values.rtt);
    if (values.rtt.trim() === '' || !Number.isFinite(rtt) || rtt < 0 || rtt > 10_000) throw new UsageError(`--rtt must be a number of milliseconds in 0..10000, got "${values.rtt}"`);
    console.log(energyReportLines(profile, rtt).join('\n'));
    return 0;
  },
};
