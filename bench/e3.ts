/**
 * E3 codec benchmark: seal and open of 96-byte packets per second, against the raw AEAD call on
 * the same 48-byte plaintext and 20-byte AAD as a baseline measured in the same run.
 *
 *   node --import tsx bench/e3.ts [--seconds N]      (default 3 s per case)
 *
 * Cases, for AES-128-GCM and ChaCha20-Poly1305:
 *   raw noble encrypt          @noble/ciphers AEAD encrypt only          baseline of E3Sealer.seal
 *   E3Sealer.seal              header, epoch key cache, sequence, seal
 *   raw node:crypto encrypt    createCipheriv/setAAD/update/final/tag   baseline of sealE3Node
 *   sealE3Node                 the cloud-side/test sealer
 *   raw node:crypto decrypt    createDecipheriv/setAAD/setAuthTag/…     baseline of E3Opener.open
 *   E3Opener.open              length, lookup, skew, key cache, AEAD, replay window, accept
 * and, as a ratio measured in the same alternating rounds (no target):
 *   E3Opener.open, in window       a genuine accept (as above)
 *   E3Opener.open, out of window   a genuine packet whose timestamp was rewritten to name another
 *                                  epoch each time: refused as 'stale timestamp' before any key is
 *                                  derived (before that check moved ahead of the tag, each one
 *                                  cost an ECDH + HKDF derivation and an AEAD open)
 * Packets to open are sealed ahead, in untimed batches, with increasing sequences so that every
 * open is a genuine accept (the replay window would refuse a packet opened twice).
 * The overhead target (codec ≤ 25 % slower than its raw AEAD) is informational: exit code 0.
 */
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { deriveDeviceKeyNode } from '../crypto/e3-key-derivation.ts';
import { FIXTURE_START_SEC, makeE3Fixture, sampleReadingBytes } from '../crypto/e3-fixture.ts';
import { E3_AAD_BYTES, E3_EPOCH_SECONDS, E3_NONCE_BYTES, E3_TIMESTAMP_OFFSET, epochOf, type E3Algorithm } from '../crypto/e3-packet.ts';
import { sealE3Node } from '../crypto/e3-sealer.ts';

const TARGET_OVERHEAD = 0.25;
const BATCH = 2_000;
const ROUNDS = 10;
const MAX_BATCHES = 1_000_000; // every loop is bounded, whatever --seconds says

function parseSeconds(argv: string[]): number {
  const i = argv.indexOf('--seconds');
  if (i < 0) return 3;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0 || value > 600) {
    throw new Error(`bench/e3: --seconds must be a number of seconds in (0, 600], got ${JSON.stringify(argv[i + 1] ?? null)}`);
  }
  return value;
}

interface Timing {
  ops: number;
  ns: number;
}

interface Result {
  algorithm: E3Algorithm;
  name: string;
  ops: number;
  ns: number;
  /** Codec cases only: median over rounds of (codec µs/op ÷ raw µs/op − 1), and the raw case. */
  overhead?: number;
  versus?: string;
  /** A cost ratio to report, not an overhead to hold against the target. */
  ratioOnly?: boolean;
}

/** A case: the operation, and an optional untimed step before each batch. */
interface Case {
  name: string;
  op: (i: number) => void;
  prepare?: () => void;
}

/**
 * Runs `c.op` in batches until `seconds` of timed work has accumulated; `c.prepare` runs before
 * each batch, untimed (it seals the packets an opener batch consumes).
 */
function measure(seconds: number, c: Case): Timing {
  const budget = BigInt(Math.round(seconds * 1e9));
  let ns = 0n;
  let ops = 0;
  for (let b = 0; b < MAX_BATCHES && ns < budget; b++) {
    c.prepare?.();
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) c.op(i);
    ns += process.hrtime.bigint() - start;
    ops += BATCH;
  }
  return { ops, ns: Number(ns) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Measures a raw AEAD case and its codec case in alternating rounds (raw first, then codec first,
 * …) so that drift on a shared machine (other processes, CPU frequency) hits both alike; the
 * overhead is the median of the per-round ratios.
 */
function measurePair(algorithm: E3Algorithm, seconds: number, raw: Case, codec: Case, ratioOnly = false): [Result, Result] {
  const perRound = seconds / ROUNDS;
  measure(Math.min(0.2, perRound), raw); // warm-up: JIT, key caches
  measure(Math.min(0.2, perRound), codec);
  const totals = { raw: { ops: 0, ns: 0 }, codec: { ops: 0, ns: 0 } };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['raw', 'codec'] as const) : (['codec', 'raw'] as const);
    const t: Record<'raw' | 'codec', Timing> = { raw: { ops: 0, ns: 0 }, codec: { ops: 0, ns: 0 } };
    for (const which of order) t[which] = measure(perRound, which === 'raw' ? raw : codec);
    for (const which of order) {
      totals[which].ops += t[which].ops;
      totals[which].ns += t[which].ns;
    }
    ratios.push(t.codec.ns / t.codec.ops / (t.raw.ns / t.raw.ops) - 1);
  }
  return [
    { algorithm, name: raw.name, ...totals.raw },
    { algorithm, name: codec.name, ...totals.codec, overhead: median(ratios), versus: raw.name, ratioOnly },
  ];
}

function nobleAead(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) {
  return algorithm === 'aes-128-gcm' ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
}

function rawNodeEncrypt(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv(algorithm as 'aes-128-gcm', key, nonce, { authTagLength: 16 }) as CipherGCM;
  c.setAAD(aad);
  const ct = c.update(plaintext);
  c.final();
  c.getAuthTag();
  return ct;
}

function rawNodeDecrypt(algorithm: E3Algorithm, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer {
  const d = createDecipheriv(algorithm as 'aes-128-gcm', key, nonce, { authTagLength: 16 }) as DecipherGCM;
  d.setAAD(aad);
  d.setAuthTag(tag);
  const pt = d.update(ciphertext);
  d.final();
  return pt;
}

function benchAlgorithm(algorithm: E3Algorithm, seconds: number, report: (r: Result) => void, starting: (raw: string, codec: string) => void): Result[] {
  const reading = sampleReadingBytes();
  const f = makeE3Fixture(algorithm, { maxSkewSec: 300 });
  const key = deriveDeviceKeyNode({
    cloudPrivateKey: f.cloud.privateKey,
    devicePublicKey: f.device.publicKey,
    pseudonym: f.record.pseudonym,
    epoch: epochOf(FIXTURE_START_SEC),
    algorithm,
  });
  // Raw cases get the same 48-byte plaintext and a 20-byte AAD, as the codec does.
  const aad = new Uint8Array(E3_AAD_BYTES).fill(0x11);
  const nonce = new Uint8Array(E3_NONCE_BYTES).fill(0x22);
  const header = { pseudonym: f.record.pseudonym, timestamp: FIXTURE_START_SEC, salt: new Uint8Array(4), sequence: 0n };
  let sink = 0;

  // Openers consume packets sealed ahead of each batch, with ever-increasing sequences.
  let sequence = 0n;
  const packets: Uint8Array[] = new Array(BATCH);
  const sealBatch = (): void => {
    for (let i = 0; i < BATCH; i++) packets[i] = sealE3Node(key, algorithm, { ...header, sequence: sequence++ }, reading);
  };

  // Forged packets for the out-of-window case: a genuine packet with the timestamp rewritten to
  // name a different far-away epoch each time (what an attacker would send to make the cloud
  // derive keys). They are never accepted, so they can be reused batch after batch.
  const genuine = sealE3Node(key, algorithm, { ...header, sequence: 0n }, reading);
  const forged = Array.from({ length: BATCH }, (_, i) => {
    const p = genuine.slice();
    new DataView(p.buffer).setUint32(E3_TIMESTAMP_OFFSET, FIXTURE_START_SEC + (2 + i) * E3_EPOCH_SECONDS);
    return p;
  });
  const openGenuine: Case = {
    name: 'E3Opener.open',
    prepare: sealBatch,
    op: (i) => {
      const r = f.opener.open(packets[i] as Uint8Array);
      if (!r.ok) throw new Error(`bench/e3: genuine packet refused (${r.reason}: ${r.detail})`);
      sink ^= r.reading[0] as number;
    },
  };

  const pairs: [Case, Case, boolean?][] = [
    [
      { name: 'raw noble encrypt', op: () => (sink ^= nobleAead(algorithm, key, nonce, aad).encrypt(reading)[0] as number) },
      { name: 'E3Sealer.seal', op: () => (sink ^= f.sealer.seal(reading, FIXTURE_START_SEC)[20] as number) },
    ],
    [
      { name: 'raw node:crypto encrypt', op: () => (sink ^= rawNodeEncrypt(algorithm, key, nonce, aad, reading)[0] as number) },
      { name: 'sealE3Node', op: (i) => (sink ^= sealE3Node(key, algorithm, { ...header, sequence: BigInt(i) }, reading)[20] as number) },
    ],
    [
      {
        name: 'raw node:crypto decrypt',
        prepare: sealBatch,
        op: (i) => {
          const p = packets[i] as Uint8Array;
          sink ^= rawNodeDecrypt(algorithm, key, p.subarray(68, 80), p.subarray(0, 20), p.subarray(20, 68), p.subarray(80, 96))[0] as number;
        },
      },
      openGenuine,
    ],
    [
      { ...openGenuine, name: 'E3Opener.open, in window' },
      {
        name: 'E3Opener.open, out of window',
        op: (i) => {
          const r = f.opener.open(forged[i] as Uint8Array);
          if (r.ok || r.reason !== 'stale timestamp') throw new Error(`bench/e3: a forged out-of-window packet was not refused as stale (${r.ok ? 'accepted' : r.reason})`);
          sink ^= r.detail.length;
        },
      },
      true,
    ],
  ];
  const results: Result[] = [];
  for (const [raw, codec, ratioOnly] of pairs) {
    starting(raw.name, codec.name);
    for (const r of measurePair(algorithm, seconds, raw, codec, ratioOnly)) {
      report(r);
      results.push(r);
    }
  }
  if (sink === -1) console.log(sink); // keeps the results observable, so nothing is optimised away
  return results;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function main(): void {
  const seconds = parseSeconds(process.argv.slice(2));
  const algorithms: E3Algorithm[] = ['aes-128-gcm', 'chacha20-poly1305'];
  const total = algorithms.length * 8;
  let done = 0;
  const cpu = cpus();
  console.log(`E3 codec benchmark — ${new Date().toISOString()}`);
  console.log(`Node ${process.version} · ${osName()} (${type()} ${release()}) · ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} · ${seconds} s per case`);
  console.log(`command: node --import tsx bench/e3.ts${process.argv.includes('--seconds') ? ` --seconds ${seconds}` : ''}`);
  console.log('');

  const results: Result[] = [];
  for (const algorithm of algorithms) {
    results.push(
      ...benchAlgorithm(algorithm, seconds, (r) => {
        done++;
        console.log(`[${String(done).padStart(2)}/${total}] ${algorithm} ${r.name}: ${opsPerSec(r).toLocaleString('en')} ops/s`);
      }, (raw, codec) => console.log(`… ${algorithm}: ${raw} and ${codec}, ${ROUNDS} alternating rounds of ${(seconds / ROUNDS).toFixed(2)} s each`)),
    );
  }

  console.log('');
  console.log(row(['algorithm', 'case', 'ops/s', 'µs/op', `codec overhead vs raw AEAD (median of ${ROUNDS} rounds; target ≤ ${TARGET_OVERHEAD * 100} %)`]));
  console.log(row(['---', '---', '---:', '---:', '---']));
  for (const r of results) {
    const overhead =
      r.overhead === undefined
        ? 'baseline'
        : r.ratioOnly
          ? `${(1 + r.overhead).toFixed(3)}× the cost of ${r.versus} (ratio, no target)`
          : `${r.overhead >= 0 ? '+' : ''}${(r.overhead * 100).toFixed(1)} % vs ${r.versus} — ${r.overhead <= TARGET_OVERHEAD ? 'PASS' : 'OVER'}`;
    console.log(row([r.algorithm, r.name, opsPerSec(r).toLocaleString('en'), (r.ns / r.ops / 1e3).toFixed(2), overhead]));
  }
}

/** PRETTY_NAME from /etc/os-release (e.g. "Debian GNU/Linux 12 (bookworm)"), if there is one. */
function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? type();
  } catch {
    return type();
  }
}

const opsPerSec = (r: Timing): number => Math.round((r.ops / r.ns) * 1e9);

main();
