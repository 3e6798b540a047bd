/**
 * Firmware scan benchmark: `testbed scan firmware` over a 5,000-device fleet's images (the source
 * chapter's worked example, §17.6), in MB/s and images/s, against a baseline measured in the same
 * run: a plain byte search for the chapter's `sk_live_` prefix over the same bytes (what
 * `strings | grep` does, one pattern, no parsing).
 *
 *   node --import tsx bench/firmware-scan.ts [--devices N] [--per-device N]
 *
 * Fleet: N hard-coded-credential images (default 5,000) and a smaller per-device-identity fleet
 * (default 200: each carries a PEM and a DER private key, which cost a key parse each). Images are
 * built in memory ahead of timing (untimed); the cross-fleet grouping is timed on its own.
 */
import { cpus, release, type } from 'node:os';
import { generatePki } from '../certs/pki.ts';
import { buildFirmwareImage, sharedCredentialsForFleet } from '../firmware/firmware-image.ts';
import { scanBytes, sharedCredentials, type Finding } from '../firmware/secret-scan.ts';

function arg(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`bench/firmware-scan: ${name} must be a whole number from 1 to ${max}, got "${process.argv[i + 1] ?? ''}"`);
    process.exit(2);
  }
  return n;
}

const devices = arg('--devices', 5_000, 20_000);
const perDevice = arg('--per-device', 200, 5_000);
const id = (i: number) => `wearable-${String(i + 1).padStart(4, '0')}`;

const pki = await generatePki({ wearableIds: Array.from({ length: perDevice }, (_, i) => id(i)) });
const shared = sharedCredentialsForFleet();
const hardcoded = Array.from({ length: devices }, (_, i) => buildFirmwareImage({ deviceId: id(i), profile: 'hardcoded-credentials', mqttHost: 'cloud.example', caPem: pki.rootCa.certPem, shared }));
const identities = Array.from({ length: perDevice }, (_, i) => {
  const w = pki.wearables.get(id(i));
  if (!w) throw new Error(`bench: no certificate for ${id(i)}`);
  return buildFirmwareImage({ deviceId: id(i), profile: 'per-device-identity', mqttHost: 'cloud.example', caPem: pki.rootCa.certPem, identity: { certPem: w.certPem, keyPem: w.keyPem } });
});

function timed<T>(f: () => T): { ms: number; value: T } {
  const t = process.hrtime.bigint();
  const value = f();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

const needle = Buffer.from('sk_live_');
function row(name: string, images: readonly Buffer[]) {
  const mb = images.reduce((n, b) => n + b.length, 0) / 1e6;
  const base = timed(() => images.filter((b) => b.indexOf(needle) >= 0).length);
  const scan = timed(() => images.map((b, i) => ({ file: String(i), findings: scanBytes(b) as readonly Finding[] })));
  const group = timed(() => sharedCredentials(scan.value));
  const findings = scan.value.reduce((n, s) => n + s.findings.length, 0);
  console.log(
    `${name.padEnd(26)} ${String(images.length).padStart(6)} images ${mb.toFixed(1).padStart(7)} MB | scan ${(mb / (scan.ms / 1000)).toFixed(1).padStart(6)} MB/s ${(images.length / (scan.ms / 1000)).toFixed(0).padStart(6)} images/s | ` +
      `baseline indexOf ${(mb / (base.ms / 1000)).toFixed(0).padStart(6)} MB/s (scan/baseline time ×${(scan.ms / base.ms).toFixed(1)}) | grouping ${group.ms.toFixed(1)} ms | ${findings} findings, ${group.value.length} shared`,
  );
}

console.log(`firmware scan — ${type()} ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
row('hardcoded-credentials', hardcoded);
row('per-device-identity', identities);
