/**
 * The 0-RTT scenarios' device as both rigs (topology/zero-rtt-rig.ts, containers-zero-rtt.ts)
 * hold it: its provisioning, its vitals, its E3 sealer once the PKI exists, and one report of
 * the next sealed reading through its wolfSSL bridge (topology/zero-rtt-report.ts).
 */
import { join } from 'node:path';
import type { Pki } from '../certs/pki.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import type { E3Sealer } from '../crypto/e3-sealer.ts';
import { deviceSealer, deviceVitals } from '../emulators/device-sealer.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { readingFlight } from '../emulators/tls13-early-data/mqtt-reading-flight.ts';
import type { SendWhen, WolfsslTlsProcess } from '../emulators/tls13-early-data/wolfssl-tls-process.ts';
import { reportReading, type ReportOutcome, type ZeroRttRigSpec } from './zero-rtt-report.ts';

export class ZeroRttDevice {
  readonly provisioning: DeviceProvisioning;
  readonly #vitals;
  #sealer: E3Sealer | undefined;

  constructor(readonly spec: ZeroRttRigSpec) {
    this.provisioning = provisionDevice(spec.deviceId, 1);
    this.#vitals = deviceVitals(this.provisioning);
  }

  /** The capture beside the device, as both placements write it. */
  get capturePath(): string {
    return join(this.spec.dir, 'captures', 'device-cloud.pcap');
  }

  /** The device bridge's SSLKEYLOGFILE. */
  get keyLogPath(): string {
    return join(this.spec.dir, 'sslkeys.keylog');
  }

  /** Arm the E3 sealer with the run's keys. */
  provision(pki: Pki): void {
    this.#sealer = deviceSealer({ provisioning: this.provisioning, deviceKeyPem: pki.wearables.get(this.spec.deviceId)?.keyPem as string, cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem });
  }

  /** Seal the next reading and report it through `client` on a new connection. */
  async report(client: WolfsslTlsProcess | undefined, when: SendWhen): Promise<ReportOutcome> {
    const sealer = this.#sealer;
    if (!sealer || !client) throw new Error(`zero-rtt: ${this.spec.deviceId} is not started`);
    const sequence = sealer.nextSequence;
    const packet = sealer.seal(encodeReading(this.#vitals.next()), Math.floor(Date.now() / 1000));
    return reportReading(client, readingFlight(this.provisioning, packet), sequence, when);
  }
}
