/**
 * `testbed up`'s cost on the local placement, against a baseline measured in the same run:
 *
 *   node --import tsx bench/up.ts [--rounds N]      (default 5, at most 20)
 *
 *   LocalTopology start + stop     the standing realization alone (PKI, cloud, gateway, links)   baseline
 *   up() + down()                  the same graph judged by the placement, read back as a spec,
 *                                  published on 127.0.0.1 through relays, the reserved device
 *   up() + one external publish    plus a sealed packet sent over the published gateway endpoint
 *                                  by mosquitto_pub and found in the cloud's audit (if installed)
 * Figures are milliseconds, median of the rounds; exit code 0 (informational).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { up } from '../api/up.ts';
import { specOfGraph, upGraph } from '../api/up-graph.ts';
import { mosquittoArgs } from '../api/client-lines.ts';
import { sealReading } from '../api/seal.ts';
import { LocalTopology } from '../topology/local-topology.ts';

function parseRounds(argv: string[]): number {
  const i = argv.indexOf('--rounds');
  if (i < 0) return 5;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 20) {
    console.error(`bench/up: --rounds must be a whole number from 1 to 20, got ${argv[i + 1] ?? '(nothing)'}`);
    process.exit(2);
  }
  return n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const rounds = parseRounds(process.argv.slice(2));
const root = mkdtempSync(join(tmpdir(), 'tb-bench-up-'));
const graph = upGraph({ broker: 'aedes', wearables: 1, path: 'terminating-gateway' });
const hasPub = await promisify(execFile)('mosquitto_pub', ['--help']).then(() => true, (e: NodeJS.ErrnoException) => e.code !== 'ENOENT');
const base: number[] = [];
const withUp: number[] = [];
const withPublish: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    base.push(await timed(async () => {
      const t = new LocalTopology(join(root, `base-${r}`));
      await t.start(specOfGraph(graph));
      await t.stop();
    }));
    withUp.push(await timed(async () => (await up(graph, { dir: join(root, `up-${r}`) })).down().then(() => undefined)));
    if (hasPub) {
      withPublish.push(await timed(async () => {
        const g = await up(graph, { dir: join(root, `pub-${r}`) });
        const sealed = sealReading({ runDir: g.evidence.dir, deviceId: g.pki.externalDevice.id, emulatedDevices: [] });
        const file = join(g.evidence.dir, 'e3.bin');
        writeFileSync(file, sealed.packet, { mode: 0o600 });
        await promisify(execFile)('mosquitto_pub', [...mosquittoArgs(g.endpoint('gateway'), g.pki), '-t', sealed.topic, '-f', file, '-q', '1'], { timeout: 15_000 });
        for (let i = 0; i < 100 && !(await g.audit()).some((e) => e.deviceId === sealed.deviceId); i++) await new Promise((res) => setTimeout(res, 50));
        await g.down();
      }));
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
const b = median(base);
console.log(`bench/up: local placement, ${rounds} rounds, median ms`);
console.log(`  LocalTopology start + stop      ${b.toFixed(0).padStart(6)}   baseline`);
console.log(`  up() + down()                   ${median(withUp).toFixed(0).padStart(6)}   ×${(median(withUp) / b).toFixed(2)}`);
if (withPublish.length) console.log(`  up() + one external publish     ${median(withPublish).toFixed(0).padStart(6)}   ×${(median(withPublish) / b).toFixed(2)}`);
else console.log('  up() + one external publish     skipped: mosquitto_pub is not installed');
