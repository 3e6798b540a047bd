/**
 * Seal one reading (E3, docs/architecture.md §4 The E3 packet) for a device of a run's PKI, so an external publisher can
 * send a genuine 96-byte packet the cloud opens.
 *
 * The sequence number is the second half of the AES-GCM / ChaCha20-Poly1305 nonce (the first is
 * the device's fixed salt). Reusing a nonce under one key reveals the XOR of two readings and
 * lets an attacker forge tags (source chapter §17.6; NIST SP 800-38D §8). So external sealing
 * keeps its own per-device sequence file in the run directory and never starts where an
 * emulated wearable counts: for a device the wearables use, external sequences start at 2^32
 * (the wearables, at 1, never get there in a run). The cloud's replay window then treats the
 * wearable's later, lower sequences as old — which is why `up` reserves a device for you.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { deviceSealer, deviceVitals } from '../emulators/device-sealer.ts';
import { readProvisioning } from '../emulators/provisioning.ts';
import { encodeReading, type Reading } from '../crypto/e3-reading.ts';
import { pkiPaths, readPem } from '../certs/pki-files.ts';
import { e3Topic } from '../emulators/wearable.ts';

export const EXTERNAL_SEQUENCE_START_FOR_EMULATED = 2n ** 32n;

export interface SealRequest {
  /** The run directory (provisioning.json and pki/ in it). */
  readonly runDir: string;
  readonly deviceId: string;
  /** Devices an emulated wearable uses (their external sequences start at 2^32). */
  readonly emulatedDevices: readonly string[];
  /** Values to override in the device's next vital-signs reading (hr, spo2). */
  readonly reading?: { readonly heartRateBpm?: number; readonly spo2Percent?: number };
  /** Seconds since the epoch (the cloud accepts ±300 s around its clock); now when absent. */
  readonly timestampSec?: number;
}

export interface Sealed {
  readonly deviceId: string;
  readonly sequence: bigint;
  readonly timestampSec: number;
  readonly reading: Reading;
  readonly packet: Uint8Array;
  /** The MQTT topic the device publishes on. */
  readonly topic: string;
}

/** `hr=72,spo2=98` → reading overrides, or an error naming what is wrong. */
export function parseReading(text: string): { heartRateBpm?: number; spo2Percent?: number } {
  const out: { heartRateBpm?: number; spo2Percent?: number } = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [key = '', value = ''] = pair.split('=', 2);
    const n = Number(value);
    if (value === '' || !Number.isFinite(n)) throw new Error(`--reading "${text}": each part is name=number, e.g. hr=72,spo2=98`);
    if (key === 'hr') {
      if (n < 20 || n > 300) throw new Error(`--reading hr must be 20..300 bpm, got ${n}`);
      out.heartRateBpm = n;
    } else if (key === 'spo2') {
      if (n < 50 || n > 100) throw new Error(`--reading spo2 must be 50..100 %, got ${n}`);
      out.spo2Percent = n;
    } else throw new Error(`--reading: unknown value "${key}"; use hr and spo2 (e.g. hr=72,spo2=98)`);
  }
  return out;
}

function sequenceFile(runDir: string, deviceId: string): string {
  return join(runDir, 'external-sequences', `${deviceId}.seq`);
}

/** Seal one reading and advance the device's external sequence file (written before the packet is returned). */
export function sealReading(r: SealRequest): Sealed {
  const device = readProvisioning(join(r.runDir, 'provisioning.json')).find((d) => d.deviceId === r.deviceId);
  if (!device) {
    const known = readProvisioning(join(r.runDir, 'provisioning.json')).map((d) => d.deviceId);
    throw new Error(`the run in ${r.runDir} has no device "${r.deviceId}"; its devices: ${known.join(', ')}`);
  }
  const pki = pkiPaths(join(r.runDir, 'pki'));
  const seqPath = sequenceFile(r.runDir, r.deviceId);
  const start = r.emulatedDevices.includes(r.deviceId) ? EXTERNAL_SEQUENCE_START_FOR_EMULATED : 1n;
  const next = existsSync(seqPath) ? BigInt(readFileSync(seqPath, 'utf8').trim()) : start;
  const sealer = deviceSealer({
    provisioning: device,
    deviceKeyPem: readPem(pki.wearable(r.deviceId).key, `the ${r.deviceId} device key`),
    cloudE3PublicKeyPem: readPem(pki.cloudE3.publicKey, 'the cloud E3 public key'),
    nextSequence: next,
  });
  // Persist the sequence before the packet leaves (a crash must not hand out the same nonce twice).
  writeSequence(seqPath, next + 1n);
  const vitals = deviceVitals(device).next();
  const reading: Reading = { ...vitals, ...(r.reading?.heartRateBpm !== undefined ? { heartRateBpm: r.reading.heartRateBpm } : {}), ...(r.reading?.spo2Percent !== undefined ? { spo2Percent: r.reading.spo2Percent } : {}) };
  const timestampSec = r.timestampSec ?? Math.floor(Date.now() / 1000);
  const packet = sealer.seal(encodeReading(reading), timestampSec);
  sealer.destroy();
  return { deviceId: r.deviceId, sequence: next, timestampSec, reading, packet, topic: e3Topic(device.pseudonymHex) };
}

function writeSequence(path: string, next: bigint): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  writeSync(fd, `${next}\n`);
  closeSync(fd);
  renameSync(tmp, path);
}
