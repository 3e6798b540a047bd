/** `testbed pki --out DIR`: write a fresh per-run PKI for a user (keys mode 0600). */
import { resolve } from 'node:path';
import { generatePki } from '../../certs/pki.ts';
import { writePki } from '../../certs/pki-files.ts';
import type { Command } from '../main.ts';
import { parseOptions, UsageError } from './options.ts';
import { outputDirectoryProblem } from '../../certs/output-directory.ts';

export const pkiCommand: Command = {
  summary: 'write a test PKI (root CA, cloud, gateway, N wearables)',
  usage: 'pki --out DIR [--wearables N] [--algorithm ecdsa-p256|rsa-2048]',
  async run(args) {
    const { values } = parseOptions('pki', this.usage, args, {
      out: { type: 'string' },
      wearables: { type: 'string', default: '3' },
      algorithm: { type: 'string', default: 'ecdsa-p256' },
    });
    if (values.help) {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    if (!values.out) throw new UsageError(`--out DIR is required (where to write the PKI)\nusage: testbed ${this.usage}`);
    const count = Number(values.wearables);
    if (!Number.isInteger(count) || count < 1 || count > 5000) throw new UsageError(`--wearables must be a whole number 1..5000, got "${values.wearables}"`);
    if (values.algorithm !== 'ecdsa-p256' && values.algorithm !== 'rsa-2048') throw new UsageError(`--algorithm must be ecdsa-p256 or rsa-2048, got "${values.algorithm}"`);
    const ids = Array.from({ length: count }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
    const out = resolve(values.out);
    // Refused before any key is generated: a PKI written half-way helps nobody.
    const problem = outputDirectoryProblem(out);
    if (problem) throw new UsageError(`--out: ${problem}`);
    console.log(`generating a test PKI with ${count} wearable(s) (${values.algorithm}) …`);
    const paths = await writePki(await generatePki({ wearableIds: ids, algorithm: values.algorithm }), out);
    console.log(`wrote ${out}`);
    console.log(`  trust anchor : ${paths.caCert}`);
    console.log(`  cloud server : ${paths.cloud.chain}`);
    console.log(`  gateway      : ${paths.gateway.chain}`);
    console.log(`  wearables    : ${ids.length} under ${resolve(out, 'wearables')}`);
    console.log('Private keys are mode 0600. These certificates say DO NOT TRUST: never install them as a real trust anchor.');
    return 0;
  },
};
