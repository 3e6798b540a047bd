/**
 * Firmware images as a device vendor builds them: one binary per device, laid out the way real
 * images embed their configuration and credentials (a header, a code section, an NVS-like
 * key/value section, then certificate and key blobs in PEM and DER). The emulated device loads
 * its configuration from its image (readFirmwareImage), and `testbed scan firmware` reads the
 * same bytes an attacker gets from a dumped flash chip.
 *
 * Two provisioning profiles (source chapter §17.5, "Hardcoded Credentials in Firmware"):
 * - `hardcoded-credentials`: the chapter's WRONG build — MQTT_USER / MQTT_PASS and one API key
 *   (`sk_live_…`) compiled into every image, identical across the fleet;
 * - `per-device-identity`: the chapter's CORRECT build — a certificate and key unique to each
 *   device, no shared password or API key.
 * The shared secrets are random per fleet (never a literal in source): a scan that finds them
 * cannot have been told what to look for.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIRMWARE_PROFILES = ['hardcoded-credentials', 'per-device-identity'] as const;
export type FirmwareProfile = (typeof FIRMWARE_PROFILES)[number];

/** "WFW1": wearable firmware, layout version 1. */
export const FIRMWARE_MAGIC = Buffer.from('WFW1', 'ascii');
export const HEADER_BYTES = 64;
/** Code section size of a generated image; a real MCU application is tens to hundreds of KiB. */
export const DEFAULT_CODE_BYTES = 32 * 1024;

/** What the chapter's WRONG firmware compiles in, the same for the whole fleet. */
export interface SharedCredentials {
  readonly mqttUser: string;
  readonly mqttPass: string;
  readonly apiKey: string;
}

export interface DeviceIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface FirmwareSpec {
  readonly deviceId: string;
  readonly profile: FirmwareProfile;
  readonly mqttHost: string;
  /** The device's E3 topic (not a secret: its pseudonym is in clear in every E3 packet, docs/architecture.md §4 The E3 packet). */
  readonly topic?: string;
  /** The CA the device trusts (public; every image holds it in either profile). */
  readonly caPem: string;
  /** hardcoded-credentials only. */
  readonly shared?: SharedCredentials;
  /** per-device-identity only. */
  readonly identity?: DeviceIdentity;
  readonly codeBytes?: number;
  /** Seed of the code filler (a build of one firmware version has the same code in every image). */
  readonly buildSeed?: number;
}

/** What a device reads back from its image at boot. */
export interface FirmwareConfig {
  readonly deviceId: string;
  readonly profile: FirmwareProfile;
  readonly config: ReadonlyMap<string, string>;
  readonly certPem?: string;
  readonly keyPem?: string;
}

const PROFILE_CODE: Record<FirmwareProfile, number> = { 'hardcoded-credentials': 1, 'per-device-identity': 2 };

/** One shared credential set for a hard-coded fleet: the chapter's names, random values. */
export function sharedCredentialsForFleet(): SharedCredentials {
  const base62 = (n: number) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    return [...randomBytes(n)].map((b) => alphabet[b % 62]).join('');
  };
  return { mqttUser: 'admin', mqttPass: `secretpassword-${base62(10)}`, apiKey: `sk_live_${base62(24)}` };
}

/**
 * Code-like filler: a small xorshift generator picking from a set of 16-bit "instructions", so
 * the section has the skewed byte statistics of machine code (and few long printable runs), not
 * those of random data. Deterministic per build seed: every image of one build shares its code.
 */
function codeFiller(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  const ops = [0x4770, 0xb580, 0xbd80, 0x2000, 0x6800, 0x6008, 0xf000, 0xe7fe, 0x4608, 0x3001, 0x2800, 0xd1fa, 0x4b02, 0x681b, 0x9300, 0xaf00];
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 1 < bytes; i += 2) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const op = (ops[x & 15] as number) ^ ((x >>> 8) & 0x0007);
    out.writeUInt16LE(op, i);
  }
  return out;
}

/** NVS-like section: "namespace\0" then "KEY=value\0" entries, 0xFF-padded to 4 KiB like erased flash. */
function configSection(entries: readonly (readonly [string, string])[]): Buffer {
  const text = Buffer.from(['nvs:wearable', ...entries.map(([k, v]) => `${k}=${v}`)].join('\0') + '\0', 'latin1');
  const size = Math.ceil(text.length / 4096) * 4096;
  return Buffer.concat([text, Buffer.alloc(size - text.length, 0xff)]);
}

function check(spec: FirmwareSpec): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/.test(spec.deviceId)) throw new Error(`firmware: device id "${spec.deviceId}" must be 1-16 letters, digits, '.', '_' or '-' (it fills a 16-byte header field)`);
  if (!(FIRMWARE_PROFILES as readonly string[]).includes(spec.profile)) throw new Error(`firmware: unknown profile "${spec.profile}"; use ${FIRMWARE_PROFILES.join(' or ')}`);
  if (spec.profile === 'hardcoded-credentials' && !spec.shared) throw new Error('firmware: a hardcoded-credentials image needs the fleet\'s shared credentials (sharedCredentialsForFleet())');
  if (spec.profile === 'per-device-identity' && !spec.identity) throw new Error(`firmware: a per-device-identity image needs ${spec.deviceId}'s own certificate and key`);
  const code = spec.codeBytes ?? DEFAULT_CODE_BYTES;
  if (!Number.isInteger(code) || code < 256 || code > 16 * 1024 * 1024) throw new Error(`firmware: codeBytes must be a whole number from 256 to 16 MiB, got ${code}`);
}

/** The image's bytes. */
export function buildFirmwareImage(spec: FirmwareSpec): Buffer {
  check(spec);
  const entries: [string, string][] = [['DEVICE_ID', spec.deviceId], ['MQTT_HOST', spec.mqttHost], ['MQTT_PORT', '8883'], ['FW_VERSION', '1.4.2'], ...(spec.topic ? [['MQTT_TOPIC', spec.topic] as [string, string]] : [])];
  if (spec.shared) entries.push(['MQTT_USER', spec.shared.mqttUser], ['MQTT_PASS', spec.shared.mqttPass], ['API_KEY', spec.shared.apiKey]);
  const blobs: Buffer[] = [Buffer.from(spec.caPem, 'latin1')];
  if (spec.identity) {
    // PEM for the TLS stack, and the same key as PKCS#8 DER, as a secure-element-less build keeps it for its crypto library.
    const der = createPrivateKey(spec.identity.keyPem).export({ type: 'pkcs8', format: 'der' });
    blobs.push(Buffer.from(spec.identity.certPem, 'latin1'), Buffer.from(spec.identity.keyPem, 'latin1'), Buffer.from('KEYDER\0', 'latin1'), der);
  }
  const code = codeFiller(spec.codeBytes ?? DEFAULT_CODE_BYTES, spec.buildSeed ?? 0x5eed);
  const config = configSection(entries);
  const credentials = Buffer.concat(blobs.flatMap((b) => [b, Buffer.from([0])]));
  const header = Buffer.alloc(HEADER_BYTES);
  FIRMWARE_MAGIC.copy(header, 0);
  header.writeUInt16LE(1, 4);
  header.writeUInt16LE(PROFILE_CODE[spec.profile], 6);
  header.write(spec.deviceId, 8, 16, 'latin1');
  let offset = HEADER_BYTES;
  for (const [i, section] of [code, config, credentials].entries()) {
    header.writeUInt32LE(offset, 24 + i * 8);
    header.writeUInt32LE(section.length, 28 + i * 8);
    offset += section.length;
  }
  return Buffer.concat([header, code, config, credentials]);
}

const section = (image: Buffer, i: number) => {
  const start = image.readUInt32LE(24 + i * 8);
  const length = image.readUInt32LE(28 + i * 8);
  if (start + length > image.length) throw new Error(`firmware: section ${i} runs past the end of the image (${start}+${length} > ${image.length}); the image is truncated`);
  return image.subarray(start, start + length);
};

/** Every PEM block of one label (RFC 7468 §2) in the image's credential section, in order. */
function pemBlocks(text: string, label: string): string[] {
  return text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\n?`, 'g')) ?? [];
}

/** What a device boots with: its configuration and credentials read back from its image. */
export function parseFirmwareImage(image: Buffer, what = 'the image'): FirmwareConfig {
  if (image.length < HEADER_BYTES || !image.subarray(0, 4).equals(FIRMWARE_MAGIC)) throw new Error(`firmware: ${what} is not a wearable firmware image (no "WFW1" header); write one with writeFleetImages()`);
  const code = image.readUInt16LE(6);
  const profile = (Object.keys(PROFILE_CODE) as FirmwareProfile[]).find((p) => PROFILE_CODE[p] === code);
  if (!profile) throw new Error(`firmware: ${what} has unknown profile code ${code}`);
  const config = new Map<string, string>();
  for (const entry of section(image, 1).toString('latin1').split('\0').slice(1)) {
    const eq = entry.indexOf('=');
    if (eq > 0) config.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const text = section(image, 2).toString('latin1');
  const certs = pemBlocks(text, 'CERTIFICATE');
  const key = pemBlocks(text, 'PRIVATE KEY')[0];
  const deviceId = config.get('DEVICE_ID') ?? image.subarray(8, 24).toString('latin1').replace(/\0+$/, '');
  // The first certificate is the trusted CA; a per-device image has its own chain next (leaf first).
  const certPem = profile === 'per-device-identity' && certs.length > 1 ? certs.slice(1).join('') : undefined;
  return { deviceId, profile, config, ...(certPem ? { certPem } : {}), ...(key ? { keyPem: key } : {}) };
}

export function readFirmwareImage(path: string): FirmwareConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`firmware: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write the fleet's images first`, { cause: err });
  }
  return parseFirmwareImage(bytes, path);
}

/** Write one image per device into `dir` (mode 0600: they hold keys), returning the paths. */
export function writeFleetImages(dir: string, specs: readonly FirmwareSpec[]): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return specs.map((spec) => {
    const path = join(dir, `${spec.deviceId}.fw.bin`);
    writeFileSync(path, buildFirmwareImage(spec), { mode: 0o600 });
    return path;
  });
}
