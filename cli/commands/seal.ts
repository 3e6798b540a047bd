/**
 * `testbed seal --device ID [--run DIR|--up] [--hex|--raw] [--reading hr=72,spo2=98]`: one E3
 * packet (96 bytes) for a device of a run's PKI, so an external publisher sends a genuine one.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../main.ts';
import { liveUpState, readUpState } from '../up-state.ts';
import { parseReading, sealReading } from '../../api/seal.ts';
import { parseOptions } from './options.ts';

export const sealCommand: Command = {
  summary: 'seal one reading (E3, 96 bytes) for a device of a run, for your own publisher',
  usage: 'seal --device ID [--run DIR|--up] [--hex|--raw] [--reading hr=72,spo2=98] [--timestamp UNIX_SECONDS]',
  async run(args) {
    const { values } = parseOptions('seal', this.usage, args, {
      device: { type: 'string' },
      run: { type: 'string' },
      up: { type: 'boolean', default: false },
      hex: { type: 'boolean', default: false },
      raw: { type: 'boolean', default: false },
      reading: { type: 'string' },
      timestamp: { type: 'string' },
    });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    if (!values.device) throw new Error(`--device is required (e.g. the external device \`testbed up\` printed)\nusage: testbed ${this.usage}`);
    if (values.run && values.up) throw new Error('give either --run DIR or --up, not both');
    if (values.hex && values.raw) throw new Error('give either --hex or --raw, not both');
    if (values.raw && process.stdout.isTTY) throw new Error('--raw writes 96 binary bytes; redirect it to a file (> /tmp/e3.bin) or use --hex');
    let timestampSec: number | undefined;
    if (values.timestamp !== undefined) {
      timestampSec = Number(values.timestamp);
      if (!/^\d+$/.test(values.timestamp) || timestampSec > 0xffffffff) throw new Error(`--timestamp must be Unix seconds (u32), got "${values.timestamp}"`);
    }
    const state = values.run ? readUpState() : liveUpState();
    const runDir = values.run ? resolve(values.run) : (state as NonNullable<typeof state>).dir;
    if (!existsSync(runDir)) throw new Error(`--run ${values.run}: no such directory; give a run directory with provisioning.json and pki/`);
    const emulated = state && resolve(state.dir) === runDir ? state.emulatedDevices : [];
    const sealed = sealReading({ runDir, deviceId: values.device, emulatedDevices: emulated, ...(values.reading ? { reading: parseReading(values.reading) } : {}), ...(timestampSec !== undefined ? { timestampSec } : {}) });
    if (values.raw) process.stdout.write(sealed.packet);
    else console.log(Buffer.from(sealed.packet).toString('hex'));
    process.stderr.write(`sealed ${sealed.deviceId} sequence ${sealed.sequence} at ${sealed.timestampSec} (hr ${sealed.reading.heartRateBpm}, spo2 ${sealed.reading.spo2Percent}); publish it on ${sealed.topic}\n`);
    return 0;
  },
};
