/**
 * Device provisioning: what a wearable's secure element holds and what the cloud registry learns,
 * written once per run (the "secure element" and "KMS" stand-ins of docs/architecture.md §4 The E3 packet).
 *
 * The real patient identity stays here and in the cloud registry: it never crosses a link. On the
 * wire the device is known only by a random 16-byte pseudonym (source chapter §17.6 step 2).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { E3Algorithm } from '../crypto/e3-packet.ts';

export interface DeviceProvisioning {
  readonly deviceId: string;
  /** The real patient identity (PHI): never sent, used by scenarios to search the bytes for leaks. */
  readonly patientId: string;
  readonly pseudonymHex: string;
  /** Fixed 4-byte nonce prefix; with the 8-byte sequence it makes every nonce unique (NIST SP 800-38D §8.2.1). */
  readonly saltHex: string;
  readonly algorithm: E3Algorithm;
  /**
   * Per-device MQTT password, random per run: credentials are unique per device and never in
   * source (source chapter §17.5, "Hardcoded Credentials in Firmware").
   */
  readonly mqttPassword: string;
}

export function provisionDevice(deviceId: string, index: number, algorithm: E3Algorithm = 'aes-128-gcm'): DeviceProvisioning {
  return {
    deviceId,
    patientId: `MRN-${String(4_700_000 + index * 7919).padStart(8, '0')} Patient ${deviceId}`,
    pseudonymHex: randomBytes(16).toString('hex'),
    saltHex: randomBytes(4).toString('hex'),
    algorithm,
    mqttPassword: randomBytes(12).toString('base64url'),
  };
}

/** Records hold no key material, but they link pseudonyms to patients: mode 0600 like the keys. */
export function writeProvisioning(dir: string, records: readonly DeviceProvisioning[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'provisioning.json');
  writeFileSync(path, JSON.stringify(records, null, 2), { mode: 0o600 });
  return path;
}

export function readProvisioning(path: string): DeviceProvisioning[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`provisioning: cannot read ${path} (${(err as Error).message}); give a run directory that has one: "testbed up" writes runs/up/<time>/provisioning.json ("testbed status" shows the directory), "testbed run" writes runs/<time>/scenarios/<n>/provisioning.json`);
  }
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`provisioning: ${path} must hold a JSON array of device records`);
  return parsed as DeviceProvisioning[];
}
