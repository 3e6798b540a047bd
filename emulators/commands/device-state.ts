/**
 * What a device's commands act on: its thermostat set point (the source chapter's §17.5
 * `thermostat.set`), resets and reboots. Scenarios judge a handler from this state and from the
 * device's records, never from a flag saying "validated".
 */
export interface DeviceStatus {
  readonly setPointC: number;
  readonly resets: number;
  readonly reboots: number;
  readonly executed: number;
}

export class DeviceState {
  #setPointC = 21;
  #resets = 0;
  #reboots = 0;
  #executed = 0;
  /** Every set point ever applied, in order (an out-of-range one shows here). */
  readonly setPointsApplied: number[] = [];

  setPoint(celsius: number): void {
    this.#setPointC = celsius;
    this.setPointsApplied.push(celsius);
  }

  reset(): void {
    this.#resets += 1;
    this.#setPointC = 21;
  }

  reboot(): void {
    this.#reboots += 1;
  }

  /** Counts one command the device carried out. */
  executed(): void {
    this.#executed += 1;
  }

  status(): DeviceStatus {
    return { setPointC: this.#setPointC, resets: this.#resets, reboots: this.#reboots, executed: this.#executed };
  }
}
