/**
 * Compressible time. The source chapter's wearable reports every 30 s (§17.6); a scenario cannot
 * wait 30 s per reading, so simulated time runs `speedup` times faster than the wall clock.
 *
 * The clock is pure data ({ startSec, speedup, wallStartMs }), so roles in other processes or
 * containers reconstruct the same clock from the same three numbers: the cloud's timestamp window
 * (E3 "stale timestamp") and the wearable's timestamps agree wherever they run.
 */
export interface SimClockSpec {
  /** Simulated Unix time (seconds) at wallStartMs. */
  readonly startSec: number;
  /** Simulated seconds per wall-clock second; 1 = real time. */
  readonly speedup: number;
  /** Wall-clock ms at which simulated time was startSec. */
  readonly wallStartMs: number;
}

export class SimClock {
  constructor(readonly spec: SimClockSpec) {
    if (!(spec.speedup > 0 && spec.speedup <= 1_000_000)) {
      throw new Error(`sim-clock: speedup must be in (0, 1000000], got ${spec.speedup}`);
    }
  }

  static realTime(): SimClock {
    const now = Date.now();
    return new SimClock({ startSec: Math.floor(now / 1000), speedup: 1, wallStartMs: now });
  }

  static compressed(speedup: number): SimClock {
    const now = Date.now();
    return new SimClock({ startSec: Math.floor(now / 1000), speedup, wallStartMs: now });
  }

  /** Simulated Unix time in whole seconds (the E3 timestamp field is u32 seconds). */
  nowSec(): number {
    return Math.floor(this.spec.startSec + ((Date.now() - this.spec.wallStartMs) * this.spec.speedup) / 1000);
  }

  /** Wall-clock milliseconds that `simMs` simulated milliseconds take. */
  wallMs(simMs: number): number {
    return simMs / this.spec.speedup;
  }
}
