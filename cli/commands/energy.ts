/** `testbed energy --profile NAME [--rtt MS]`: the device energy model with the source chapter's figures. */
import { DEVICE_PROFILES, deviceProfile, energyReport } from '../../emulators/energy-model.ts';
import type { Command } from '../main.ts';
import { parseOptions } from './options.ts';

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
    if (!values.profile) throw new Error(`--profile is required (one of ${DEVICE_PROFILES.map((p) => p.name).join(', ')})\nusage: testbed ${this.usage}`);
    const rtt = Number(values.rtt);
    if (!Number.isFinite(rtt) || rtt < 0 || rtt > 10_000) throw new Error(`--rtt must be a number of milliseconds in 0..10000, got "${values.rtt}"`);
    console.log(energyReport(deviceProfile(values.profile), rtt).join('\n'));
    return 0;
  },
};
