/**
 * TLS 1.3 0-RTT for MQTT (issue 12, features/zero-rtt-mqtt.feature): time from a wearable's
 * reconnect to the cloud's audit accepting its reading, through the wolfSSL front of the broker,
 * resumed with the reading sent after the handshake (the baseline, measured in the same run) and
 * resumed with the reading as 0-RTT early data; one full handshake first. Each round trip of the
 * link costs `--rtt` ms (25 each way on the userspace link); --rtt 0 shows the bridges' own cost.
 *
 *   node --import tsx bench/zero-rtt.ts [--rounds 20] [--rtt 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalZeroRttRig } from '../topology/zero-rtt-rig.ts';
import type { SendWhen } from '../emulators/tls13-early-data/wolfssl-tls-process.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, rtt: { type: 'string', default: '50' } } });
const rounds = Number(values.rounds);
const rttMs = Number(values.rtt);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 500) throw new Error(`bench/zero-rtt: --rounds must be a whole number 1..500, got ${values.rounds}`);
if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 1_000) throw new Error(`bench/zero-rtt: --rtt must be 0..1000 ms, got ${values.rtt}`);

const dir = mkdtempSync(join(tmpdir(), 'bench-zero-rtt-'));
const rig = new LocalZeroRttRig({ dir, deviceId: 'wearable-0001', rttMs, singleUseTickets: true });

/** Wall ms from the reconnect to the cloud's audit entry for that reading. */
async function timeToAccepted(when: SendWhen): Promise<number> {
  const started = Date.now();
  const outcome = await rig.report(when);
  const entry = (await rig.audit()).find((e) => e.verdict === 'accepted' && e.sequence === outcome.sequence);
  if (!entry || !outcome.pubackReceived) throw new Error(`bench/zero-rtt: reading #${outcome.sequence} (${when}) was not accepted: ${outcome.failure ?? 'no audit entry'}`);
  return entry.at - started;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

try {
  await rig.start();
  const full = await timeToAccepted('after-handshake');
  const resumed: number[] = [];
  const early: number[] = [];
  for (let i = 0; i < rounds; i++) {
    resumed.push(await timeToAccepted('after-handshake'));
    early.push(await timeToAccepted('early-data'));
  }
  const r = median(resumed);
  const e = median(early);
  console.log(`bench/zero-rtt: ${rounds} rounds, link RTT ${rttMs} ms, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}`);
  console.log(`  full handshake (once)            ${full} ms to the accepted reading`);
  console.log(`  resumed, reading after handshake median ${r} ms (baseline)`);
  console.log(`  resumed, reading as 0-RTT        median ${e} ms  ratio ${(e / r).toFixed(2)} of the baseline, ${r - e} ms sooner`);
} finally {
  await rig.stop();
  rmSync(dir, { recursive: true, force: true });
}
