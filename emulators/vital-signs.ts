/**
 * Synthetic vital signs for an emulated wearable: heart rate, SpO2 and an ECG summary, the three
 * measurements of the source chapter's remote-patient-monitoring example (§17.6).
 *
 * Deterministic per seed so a failed scenario can be replayed reading for reading.
 */
import type { Reading } from '../crypto/e3-reading.ts';

/** Mulberry32: a tiny seeded PRNG; not for keys, only for reproducible test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class VitalSigns {
  readonly #random: () => number;
  #heartRate: number;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
    this.#heartRate = 60 + this.#random() * 30;
  }

  next(): Reading {
    const r = this.#random;
    // A random walk keeps consecutive readings plausible (a resting adult, 50–120 bpm).
    this.#heartRate = Math.min(120, Math.max(50, this.#heartRate + (r() - 0.5) * 4));
    const heartRateBpm = Math.round(this.#heartRate * 10) / 10;
    const rrMeanMs = Math.round(60_000 / heartRateBpm);
    const beatTemplate = Array.from({ length: 16 }, (_, i) => Math.round(Math.sin((i / 16) * Math.PI * 2) * 800 + (r() - 0.5) * 40));
    return {
      heartRateBpm,
      spo2Percent: Math.round((95 + r() * 4) * 100) / 100,
      ecg: {
        rrMeanMs,
        sdnnMs: Math.round(20 + r() * 60),
        qrsMs: Math.round(80 + r() * 20),
        qtMs: Math.round(360 + r() * 60),
        stDeviationUv: Math.round((r() - 0.5) * 100),
        leadOff: false,
        rhythm: 'sinus',
        beatTemplate,
      },
    };
  }
}
