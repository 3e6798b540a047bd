/**
 * `testbed energy` as a person reads it: named rows, each with its unit, every number in one
 * format (en-US grouping, at most two decimals). The figures are the energy model's
 * (emulators/energy-model.ts, source chapter §17.6 step 3 and §17.7); this only names them.
 */
import { handshakeCost, readingBudget, type DeviceProfile, type HandshakeKind } from '../emulators/energy-model.ts';

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** The one number format of the report. */
export function formatNumber(value: number): string {
  return NUMBER.format(value);
}

/** Each profile figure's row name and unit (a profile field without one here is not printed raw). */
const FIGURES: readonly { key: keyof DeviceProfile; name: string; unit: string; scale?: number }[] = [
  { key: 'supplyVolts', name: 'supply voltage', unit: 'V' },
  { key: 'tlsCurrentAmps', name: 'current while doing TLS', unit: 'mA', scale: 1000 },
  { key: 'ecdheKeygenMs', name: 'ECDHE P-256 key generation', unit: 'ms' },
  { key: 'ecdsaVerifyMs', name: 'ECDSA signature verification', unit: 'ms' },
  { key: 'hkdfMs', name: 'HKDF key derivation', unit: 'ms' },
  { key: 'aesGcmMessageMillijoules', name: 'one AES-GCM message', unit: 'mJ' },
  { key: 'e3EncryptMicrojoules', name: 'E3 encryption per reading', unit: 'µJ' },
  { key: 'recordLayerMicrojoules', name: 'record layer per reading', unit: 'µJ' },
  { key: 'radioMicrojoulesPerReading', name: 'radio per reading', unit: 'µJ' },
  { key: 'batteryMilliampHours', name: 'battery capacity', unit: 'mAh' },
  { key: 'batteryVolts', name: 'battery voltage', unit: 'V' },
  { key: 'readingIntervalSec', name: 'reading interval', unit: 's' },
];

const HANDSHAKES: readonly { kind: HandshakeKind; name: string; roundTrips: number }[] = [
  { kind: 'tls13-full', name: 'TLS 1.3 full handshake', roundTrips: 1 },
  { kind: 'tls13-resumed', name: 'TLS 1.3 resumed handshake', roundTrips: 1 },
  { kind: 'tls12-full', name: 'TLS 1.2 full handshake', roundTrips: 2 },
  { kind: 'tls12-resumed', name: 'TLS 1.2 resumed handshake', roundTrips: 1 },
];

const row = (name: string, value: string): string => `  ${`${name}:`.padEnd(42)} ${value}`;

/** The report's lines for one device profile at `rttMs`. */
export function energyReportLines(p: DeviceProfile, rttMs: number): string[] {
  const lines = [`${p.name}: ${p.description}`, `figures from: ${p.source}`, 'device figures:'];
  for (const f of FIGURES) {
    const value = p[f.key];
    if (typeof value === 'number') lines.push(row(f.name, `${formatNumber(value * (f.scale ?? 1))} ${f.unit}`));
  }
  if (p.radioMicrojoulesPerReading !== undefined) {
    const b = readingBudget(p);
    lines.push('per reading (§17.6 step 3):',
      row('per reading', `${formatNumber(b.perReadingMicrojoules)} µJ`),
      row('readings per day', `${formatNumber(b.readingsPerDay)} readings`),
      row('per day', `${formatNumber(b.dailyMillijoules)} mJ`),
      row('battery', `${formatNumber(b.batteryJoules)} J`),
      // The chapter quotes battery life to the nearest ten days (~27,130).
      row('battery life (radio + crypto)', `~${formatNumber(Math.round(b.batteryDays / 10) * 10)} days`),
      row('encryption share', `${formatNumber(b.encryptionShare * 100)} % (radio ${formatNumber(b.radioShare * 100)} %)`));
  }
  if (p.tlsCurrentAmps !== undefined) {
    lines.push(`per handshake at ${formatNumber(rttMs)} ms round-trip time (§17.7; TLS round trips, TCP excluded as in the chapter):`);
    for (const h of HANDSHAKES) {
      const c = handshakeCost(p, h.kind, h.roundTrips, rttMs);
      lines.push(row(`${h.name} (${h.roundTrips} round trip${h.roundTrips === 1 ? '' : 's'})`,
        `${formatNumber(c.totalMs)} ms, ${formatNumber(c.millijoules)} mJ ≈ ${formatNumber(Math.round(c.messagesWorth))} AES-GCM messages`));
    }
    lines.push('  (the scenarios replace these round-trip counts by the ones measured on the wire)');
  }
  return lines;
}
