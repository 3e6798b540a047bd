/**
 * Command fuzzer and sealed-command throughput (issue 13), each against a baseline measured in
 * the same run:
 *
 *   node --import tsx bench/commands.ts [--commands N]     (default 200000, at most 2000000)
 *
 *   generate + JSON.parse        the fuzzer's inputs, parsed only: the least any handler does   baseline
 *   generate + secure handler    the same inputs through the §17.5 CORRECT handler (rate limit,
 *                                allowlist, types, range), every one classified
 *   raw node:crypto GCM seal     AES-128-GCM of a 40-byte command body, nothing else              baseline
 *   sealed command round trip    cloud seals (node:crypto) → device opens (noble), replay window,
 *                                handler, seals its answer (noble) → cloud opens and audits it
 * Figures are commands per second, best of 3 rounds; exit code 0 (informational).
 */
import { createCipheriv, createPrivateKey, randomBytes } from 'node:crypto';
import { cpus, release, type } from 'node:os';
import { generatePki } from '../certs/pki.ts';
import { CommandCenter } from '../emulators/cloud/command-center.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { fuzzCommand, fuzzSecureHandler, seededRandom } from '../emulators/commands/command-fuzzer.ts';
import { responseTopic } from '../emulators/commands/command-topics.ts';
import { DeviceCommands } from '../emulators/commands/device-commands.ts';
import { provisionDevice } from '../emulators/provisioning.ts';

function parseCommands(argv: string[]): number {
  const i = argv.indexOf('--commands');
  if (i < 0) return 200_000;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1_000 || n > 2_000_000) {
    console.error(`bench/commands: --commands must be a whole number from 1000 to 2000000, got ${argv[i + 1] ?? '(nothing)'}`);
    process.exit(2);
  }
  return n;
}

function best(rounds: number, run: () => number): number {
  let top = 0;
  for (let r = 0; r < rounds; r++) top = Math.max(top, run());
  return top;
}

function perSecond(count: number, work: () => void): number {
  const t0 = process.hrtime.bigint();
  work();
  const ns = Number(process.hrtime.bigint() - t0);
  return (count * 1e9) / ns;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const commands = parseCommands(process.argv);
  console.log(`bench/commands: ${commands.toLocaleString('en-US')} fuzzed commands per round, best of 3; ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, ${type()} ${release()}, node ${process.version}`);
  const parseOnly = best(3, () =>
    perSecond(commands, () => {
      const rand = seededRandom(13);
      for (let i = 0; i < commands; i++) {
        try {
          JSON.parse(fuzzCommand(rand));
        } catch {
          /* classified as malformed by a real handler */
        }
      }
    }),
  );
  let lastReport: ReturnType<typeof fuzzSecureHandler> | undefined;
  const fuzz = best(3, () => perSecond(commands, () => (lastReport = fuzzSecureHandler({ seed: 13, commands }))));
  console.log(`  generate + JSON.parse (baseline)   ${fmt(parseOnly).padStart(12)} /s`);
  console.log(`  generate + secure handler          ${fmt(fuzz).padStart(12)} /s   ${(fuzz / parseOnly).toFixed(2)}× the baseline`);
  if (lastReport) console.log(`    classes: ${JSON.stringify(lastReport.classes)}; valid executed ${lastReport.validExecuted}/${lastReport.validSent}`);

  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  const issued = pki.wearables.get('wearable-0001');
  if (!issued) throw new Error('bench/commands: the PKI issued no wearable');
  const provisioning = provisionDevice('wearable-0001', 1);
  const registry = new DeviceRegistry();
  registry.register(provisioning, issued.certPem);
  const roundTrips = Math.min(20_000, Math.floor(commands / 10));
  const key = randomBytes(16);
  const body = Buffer.from('{"command":"set_temp","temp":22.5}');
  const rawSeal = best(3, () =>
    perSecond(roundTrips, () => {
      for (let i = 0; i < roundTrips; i++) {
        const nonce = Buffer.alloc(12);
        nonce.writeUInt32BE(i, 8);
        const c = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
        c.setAAD(nonce);
        c.update(body);
        c.final();
        c.getAuthTag();
      }
    }),
  );
  const sealed = best(3, () => {
    let now = 1_700_000_000;
    let last: Uint8Array = new Uint8Array();
    const center = new CommandCenter({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => now, publish: (_t, p) => (last = p) });
    const device = new DeviceCommands({ provisioning, deviceKeyPem: issued.keyPem, cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem, handler: 'secure', clock: { nowSec: () => now }, rateLimit: { commands: 1_000_000, perSeconds: 1 } });
    const topic = responseTopic(provisioning.pseudonymHex);
    return perSecond(roundTrips, () => {
      for (let i = 0; i < roundTrips; i++) {
        center.send('wearable-0001', body.toString());
        center.ingestResponse(device.handle(last).response, topic);
        if (i % 1000 === 999) now += 1;
      }
    });
  });
  console.log(`  raw node:crypto GCM seal (baseline)${fmt(rawSeal).padStart(12)} /s`);
  console.log(`  sealed command round trip          ${fmt(sealed).padStart(12)} /s   ${(rawSeal / sealed).toFixed(1)}× slower than one raw seal (4 AEAD calls, JSON both ways, noble on the device side)`);
}

main().catch((err: Error) => {
  console.error(`bench/commands: ${err.message}`);
  process.exit(1);
});
