/**
 * The 48-byte E3 reading: heart rate, SpO2 and an ECG summary (source chapter §17.6 step 2,
 * "Heart rate + SpO2 + ECG summary: 48 bytes"). Big-endian, fixed layout:
 *
 *   hr ×10 (u16) · spo2 ×100 (u16) · rrMean (u16) · sdnn (u16) · qrs (u16) · qt (u16) ·
 *   stDeviation (i16) · leadOff (u8) · rhythm (u8) · beatTemplate 16 × i16  = 48 bytes
 */

export interface EcgSummary {
  rrMeanMs: number; // u16
  sdnnMs: number; // u16
  qrsMs: number; // u16
  qtMs: number; // u16
  stDeviationUv: number; // i16
  leadOff: boolean; // u8 0|1
  rhythm: 'sinus' | 'afib' | 'brady' | 'tachy' | 'unknown'; // u8 code 0..4
  beatTemplate: number[]; // 16 × i16 µV
}

export interface Reading {
  heartRateBpm: number; // u16, stored ×10 (0.1 bpm resolution)
  spo2Percent: number; // u16, stored ×100
  ecg: EcgSummary;
}

export const E3_READING_BYTES = 48;
export const E3_BEAT_TEMPLATE_SAMPLES = 16;

/** Wire codes for the rhythm classification; the index is the code. */
export const RHYTHM_CODES: readonly EcgSummary['rhythm'][] = ['sinus', 'afib', 'brady', 'tachy', 'unknown'];

const U16_MAX = 0xffff;
const I16_MIN = -0x8000;
const I16_MAX = 0x7fff;

function fail(message: string): never {
  throw new Error(`e3-reading: ${message}`);
}

function checkRange(name: string, value: number, min: number, max: number, unit = ''): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(`${name} must be a number in ${min}..${max}${unit}, got ${String(value)}`);
  }
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  checkRange(name, value, min, max);
  if (!Number.isInteger(value)) fail(`${name} must be a whole number, got ${value}`);
}

/** Validates every field and packs it; throws 'e3-reading: …' naming the field to fix. */
export function encodeReading(r: Reading): Uint8Array {
  if (typeof r !== 'object' || r === null || typeof r.ecg !== 'object' || r.ecg === null) {
    fail('reading must be an object { heartRateBpm, spo2Percent, ecg: { … } }');
  }
  const { ecg } = r;
  checkRange('heartRateBpm', r.heartRateBpm, 0, 300, ' bpm');
  checkRange('spo2Percent', r.spo2Percent, 0, 100, ' %');
  checkInteger('ecg.rrMeanMs', ecg.rrMeanMs, 0, U16_MAX);
  checkInteger('ecg.sdnnMs', ecg.sdnnMs, 0, U16_MAX);
  checkInteger('ecg.qrsMs', ecg.qrsMs, 0, U16_MAX);
  checkInteger('ecg.qtMs', ecg.qtMs, 0, U16_MAX);
  checkInteger('ecg.stDeviationUv', ecg.stDeviationUv, I16_MIN, I16_MAX);
  if (typeof ecg.leadOff !== 'boolean') fail(`ecg.leadOff must be true or false, got ${String(ecg.leadOff)}`);
  const rhythmCode = RHYTHM_CODES.indexOf(ecg.rhythm);
  if (rhythmCode < 0) fail(`ecg.rhythm must be one of ${RHYTHM_CODES.join(', ')}, got ${JSON.stringify(ecg.rhythm)}`);
  if (!Array.isArray(ecg.beatTemplate) || ecg.beatTemplate.length !== E3_BEAT_TEMPLATE_SAMPLES) {
    fail(`ecg.beatTemplate must hold exactly ${E3_BEAT_TEMPLATE_SAMPLES} samples, got ${Array.isArray(ecg.beatTemplate) ? ecg.beatTemplate.length : typeof ecg.beatTemplate}`);
  }
  ecg.beatTemplate.forEach((v, i) => checkInteger(`ecg.beatTemplate[${i}]`, v, I16_MIN, I16_MAX));

  const out = new Uint8Array(E3_READING_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, Math.round(r.heartRateBpm * 10));
  view.setUint16(2, Math.round(r.spo2Percent * 100));
  view.setUint16(4, ecg.rrMeanMs);
  view.setUint16(6, ecg.sdnnMs);
  view.setUint16(8, ecg.qrsMs);
  view.setUint16(10, ecg.qtMs);
  view.setInt16(12, ecg.stDeviationUv);
  view.setUint8(14, ecg.leadOff ? 1 : 0);
  view.setUint8(15, rhythmCode);
  ecg.beatTemplate.forEach((v, i) => view.setInt16(16 + 2 * i, v));
  return out;
}

/** Unpacks a 48-byte reading; throws on a wrong length, an unknown rhythm or lead-off code. */
export function decodeReading(bytes: Uint8Array): Reading {
  if (!(bytes instanceof Uint8Array) || bytes.length !== E3_READING_BYTES) {
    fail(`reading must be ${E3_READING_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const leadOffCode = view.getUint8(14);
  if (leadOffCode > 1) fail(`lead-off flag must be 0 or 1, got ${leadOffCode}`);
  const rhythm = RHYTHM_CODES[view.getUint8(15)];
  if (rhythm === undefined) fail(`unknown rhythm code ${view.getUint8(15)}; known codes are 0..${RHYTHM_CODES.length - 1}`);
  const beatTemplate: number[] = [];
  for (let i = 0; i < E3_BEAT_TEMPLATE_SAMPLES; i++) beatTemplate.push(view.getInt16(16 + 2 * i));
  return {
    heartRateBpm: view.getUint16(0) / 10,
    spo2Percent: view.getUint16(2) / 100,
    ecg: {
      rrMeanMs: view.getUint16(4),
      sdnnMs: view.getUint16(6),
      qrsMs: view.getUint16(8),
      qtMs: view.getUint16(10),
      stDeviationUv: view.getInt16(12),
      leadOff: leadOffCode === 1,
      rhythm,
      beatTemplate,
    },
  };
}
