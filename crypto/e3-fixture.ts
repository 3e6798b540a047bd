/**
 * An in-memory E3 device + cloud pair with fresh P-256 keys, for unit tests and bench/e3.ts.
 * Keys are generated in memory per call and never written to disk.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { rawP256PrivateKey, rawP256PublicKey } from './e3-key-derivation.ts';
import { E3Opener, type E3DeviceRecord, type E3OpenerOptions } from './e3-opener.ts';
import { pseudonymHex, type E3Algorithm } from './e3-packet.ts';
import { encodeReading, type Reading } from './e3-reading.ts';
import { E3Sealer } from './e3-sealer.ts';

export interface E3Fixture {
  algorithm: E3Algorithm;
  cloud: { privateKey: KeyObject; publicKey: KeyObject };
  device: { privateKey: KeyObject; publicKey: KeyObject };
  record: E3DeviceRecord;
  registry: Map<string, E3DeviceRecord>;
  clock: { now: number };
  sealer: E3Sealer;
  opener: E3Opener;
}

export const FIXTURE_START_SEC = 1_700_000_000; // 2023-11-14T22:13:20Z, mid-epoch 19675

export function p256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

export function makeE3Fixture(
  algorithm: E3Algorithm = 'aes-128-gcm',
  options: Pick<E3OpenerOptions, 'maxSkewSec' | 'replayWindowSize' | 'keysPerDevice' | 'onKeyDerived'> = {},
): E3Fixture {
  const cloud = p256KeyPair();
  const device = p256KeyPair();
  const pseudonym = new Uint8Array(randomBytes(16));
  const record: E3DeviceRecord = { deviceId: 'wearable-001', pseudonym, publicKey: device.publicKey, algorithm };
  const registry = new Map([[pseudonymHex(pseudonym), record]]);
  const clock = { now: FIXTURE_START_SEC };
  const sealer = new E3Sealer({
    pseudonym,
    devicePrivateKey: rawP256PrivateKey(device.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    cloudPublicKey: rawP256PublicKey(cloud.publicKey),
    algorithm,
    salt: new Uint8Array(randomBytes(4)),
    nextSequence: 0n,
  });
  const opener = new E3Opener({
    cloudPrivateKey: cloud.privateKey,
    lookup: (hex) => registry.get(hex),
    nowSec: () => clock.now,
    ...options,
  });
  return { algorithm, cloud, device, record, registry, clock, sealer, opener };
}

export const SAMPLE_READING: Reading = {
  heartRateBpm: 72.5,
  spo2Percent: 97.25,
  ecg: {
    rrMeanMs: 828,
    sdnnMs: 42,
    qrsMs: 94,
    qtMs: 390,
    stDeviationUv: -35,
    leadOff: false,
    rhythm: 'sinus',
    beatTemplate: [0, 12, 40, 95, 180, 420, 1150, 980, -260, -120, 30, 85, 140, 120, 60, 10],
  },
};

export function sampleReadingBytes(): Uint8Array {
  return encodeReading(SAMPLE_READING);
}
