/**
 * Energy model of the wearable, from the source chapter's figures (one table of data, each row
 * citing its section), and the arithmetic that reproduces its worked examples:
 * - §17.6 step 3 (nRF52840): 0.8 µJ E3 encrypt + 0.3 µJ record layer + 33 µJ radio = 34.1 µJ per
 *   reading; 2,880 readings a day = 98.2 mJ/day; 2,664 J battery ≈ 27,130 days; encryption ≈ 3 %.
 * - §17.7 (ESP32 at 240 MHz): a full TLS 1.3 handshake at 50 ms RTT takes 1 RTT + 22 ms of crypto
 *   = 72 ms, at 160 mA × 3.3 V ≈ 38 mJ, the energy of ≈ 760 AES-GCM messages at 0.05 mJ.
 *
 * Handshake time is RTTs × RTT + the crypto the handshake kind performs, with the RTT count
 * coming from the handshake analyser's measurement, not from an assumption. Which operations a
 * kind performs is the model's statement (RFC 8446 §2.2): a TLS 1.3 resumption with psk_dhe_ke
 * (what OpenSSL, hence Node, uses) still does the ECDHE key generation and HKDF but verifies no
 * certificate; a TLS 1.2 abbreviated handshake (RFC 5246 §7.3) does neither ECDHE nor a
 * certificate check, only key derivation.
 */

export interface DeviceProfile {
  readonly name: string;
  readonly description: string;
  /** Where the figures come from. */
  readonly source: string;
  readonly supplyVolts?: number;
  /** Current drawn while doing TLS. */
  readonly tlsCurrentAmps?: number;
  readonly ecdheKeygenMs?: number;
  readonly ecdsaVerifyMs?: number;
  readonly hkdfMs?: number;
  /** Energy of one AES-GCM-protected message after the handshake. */
  readonly aesGcmMessageMillijoules?: number;
  readonly e3EncryptMicrojoules?: number;
  readonly recordLayerMicrojoules?: number;
  readonly radioMicrojoulesPerReading?: number;
  readonly batteryMilliampHours?: number;
  readonly batteryVolts?: number;
  /** Reporting interval of the worked example. */
  readonly readingIntervalSec?: number;
}

export const DEVICE_PROFILES: readonly DeviceProfile[] = [
  {
    name: 'esp32',
    description: 'ESP32 at 240 MHz doing TLS 1.3 (ECDHE-P256, ECDSA)',
    source: 'source chapter §17.7, worked example "TLS handshake", steps 2 and 4',
    supplyVolts: 3.3,
    tlsCurrentAmps: 0.16,
    ecdheKeygenMs: 8,
    ecdsaVerifyMs: 12,
    hkdfMs: 2,
    aesGcmMessageMillijoules: 0.05,
  },
  {
    name: 'nrf52840',
    description: 'Nordic nRF52840 wearable sending E3 readings over BLE',
    source: 'source chapter §17.6, step 3 "Performance Impact on Wearable"',
    e3EncryptMicrojoules: 0.8,
    recordLayerMicrojoules: 0.3,
    radioMicrojoulesPerReading: 33,
    batteryMilliampHours: 200,
    batteryVolts: 3.7,
    readingIntervalSec: 30,
  },
];

export function deviceProfile(name: string): DeviceProfile {
  const p = DEVICE_PROFILES.find((d) => d.name === name);
  if (!p) throw new Error(`energy-model: unknown device profile "${name}"; profiles: ${DEVICE_PROFILES.map((d) => d.name).join(', ')}`);
  return p;
}

function need<K extends keyof DeviceProfile>(p: DeviceProfile, key: K, what: string): NonNullable<DeviceProfile[K]> {
  const v = p[key];
  if (v === undefined) {
    const has = DEVICE_PROFILES.filter((d) => d[key] !== undefined).map((d) => d.name);
    throw new Error(`energy-model: profile "${p.name}" has no ${String(key)} (needed for ${what}); profiles with it: ${has.join(', ') || 'none'}`);
  }
  return v as NonNullable<DeviceProfile[K]>;
}

export interface ReadingBudget {
  readonly perReadingMicrojoules: number;
  readonly readingsPerDay: number;
  readonly dailyMillijoules: number;
  readonly batteryJoules: number;
  readonly batteryDays: number;
  /** Encryption (E3 + record layer) as a share of the per-reading energy. */
  readonly encryptionShare: number;
  readonly radioShare: number;
}

/** §17.6 step 3: energy per reading, per day, and battery life (TX + encryption only). */
export function readingBudget(p: DeviceProfile): ReadingBudget {
  const e3 = need(p, 'e3EncryptMicrojoules', 'the per-reading budget');
  const record = need(p, 'recordLayerMicrojoules', 'the per-reading budget');
  const radio = need(p, 'radioMicrojoulesPerReading', 'the per-reading budget');
  const interval = need(p, 'readingIntervalSec', 'readings per day');
  const perReading = e3 + record + radio;
  const readingsPerDay = 86_400 / interval;
  // The chapter rounds the day to 98.2 mJ before dividing the battery by it; so do we.
  const dailyMillijoules = Math.round((readingsPerDay * perReading) / 100) / 10;
  // mAh × V = mWh; × 3.6 = J.
  const batteryJoules = need(p, 'batteryMilliampHours', 'battery life') * need(p, 'batteryVolts', 'battery life') * 3.6;
  return {
    perReadingMicrojoules: perReading,
    readingsPerDay,
    dailyMillijoules,
    batteryJoules,
    batteryDays: (batteryJoules * 1000) / dailyMillijoules,
    encryptionShare: (e3 + record) / perReading,
    radioShare: radio / perReading,
  };
}

export type HandshakeKind = 'tls13-full' | 'tls13-resumed' | 'tls12-full' | 'tls12-resumed';

/** The crypto each handshake kind performs on the device (see the module comment). */
export function handshakeCryptoMs(p: DeviceProfile, kind: HandshakeKind): number {
  const keygen = need(p, 'ecdheKeygenMs', 'handshake crypto');
  const verify = need(p, 'ecdsaVerifyMs', 'handshake crypto');
  const hkdf = need(p, 'hkdfMs', 'handshake crypto');
  switch (kind) {
    case 'tls13-full':
    case 'tls12-full':
      return keygen + verify + hkdf;
    case 'tls13-resumed':
      return keygen + hkdf;
    case 'tls12-resumed':
      return hkdf;
  }
}

export interface HandshakeCost {
  readonly kind: HandshakeKind;
  readonly roundTrips: number;
  readonly rttMs: number;
  readonly networkMs: number;
  readonly cryptoMs: number;
  readonly totalMs: number;
  readonly millijoules: number;
  /** How many AES-GCM messages the same energy would protect. */
  readonly messagesWorth: number;
}

/** §17.7 steps 1–4 with the TLS round trips given (measured by the handshake analyser). */
export function handshakeCost(p: DeviceProfile, kind: HandshakeKind, tlsRoundTrips: number, rttMs: number): HandshakeCost {
  if (!Number.isInteger(tlsRoundTrips) || tlsRoundTrips < 0 || tlsRoundTrips > 10) {
    throw new Error(`energy-model: TLS round trips must be an integer in 0..10, got ${tlsRoundTrips}`);
  }
  if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 10_000) throw new Error(`energy-model: RTT must be 0..10000 ms, got ${rttMs}`);
  const networkMs = tlsRoundTrips * rttMs;
  const cryptoMs = handshakeCryptoMs(p, kind);
  const totalMs = networkMs + cryptoMs;
  const watts = need(p, 'supplyVolts', 'handshake energy') * need(p, 'tlsCurrentAmps', 'handshake energy');
  const millijoules = watts * totalMs;
  return { kind, roundTrips: tlsRoundTrips, rttMs, networkMs, cryptoMs, totalMs, millijoules, messagesWorth: millijoules / need(p, 'aesGcmMessageMillijoules', 'messages worth') };
}

/** Round to a number of decimals for reports (the chapter prints 98.2, 34.1, 38). */
export function round(value: number, decimals = 1): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** The profile's figures and worked example as report lines (used by `testbed energy`). */
export function energyReport(p: DeviceProfile, rttMs = 50): string[] {
  const lines = [`${p.name}: ${p.description}`, `figures: ${p.source}`];
  for (const [key, value] of Object.entries(p)) {
    if (!['name', 'description', 'source'].includes(key)) lines.push(`  ${key.padEnd(28)} ${String(value)}`);
  }
  if (p.radioMicrojoulesPerReading !== undefined) {
    const b = readingBudget(p);
    lines.push('per reading (§17.6 step 3):',
      `  energy per reading          ${round(b.perReadingMicrojoules)} µJ`,
      `  readings per day            ${b.readingsPerDay.toLocaleString('en-US')}`,
      `  daily energy                ${round(b.dailyMillijoules)} mJ`,
      `  battery                     ${b.batteryJoules.toLocaleString('en-US')} J`,
      `  battery life (TX + crypto)  ~${(Math.round(b.batteryDays / 10) * 10).toLocaleString('en-US')} days`,
      `  encryption share            ${round(b.encryptionShare * 100)} % (radio ${round(b.radioShare * 100)} %)`);
  }
  if (p.tlsCurrentAmps !== undefined) {
    lines.push(`per handshake at ${rttMs} ms RTT (§17.7; round trips are the TLS ones, TCP excluded as in the chapter):`);
    for (const [kind, rtts] of [['tls13-full', 1], ['tls13-resumed', 1], ['tls12-full', 2], ['tls12-resumed', 1]] as const) {
      const c = handshakeCost(p, kind, rtts, rttMs);
      lines.push(`  ${kind.padEnd(14)} ${rtts} RTT  ${round(c.totalMs)} ms  ${round(c.millijoules)} mJ  ≈ ${Math.round(c.messagesWorth)} messages`);
    }
    lines.push('  (scenarios replace these round-trip counts by the ones measured on the wire)');
  }
  return lines;
}
