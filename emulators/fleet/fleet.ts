/**
 * A fleet of wearables in one process (docs/architecture.md §3 Roles: a wearable is an object): thousands of
 * FleetDevices, each with its own identity, connected through a bounded connect pool and
 * reporting on the source chapter's 30 s interval (§17.6), compressed by the SimClock.
 *
 * Readings are spread evenly over the interval (device i reads at phase i/N of it), as a real
 * fleet whose devices were switched on at different times, so the broker sees N/30 readings per
 * simulated second rather than N at once.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { deviceVitals } from '../device-sealer.ts';
import { FleetSealer } from './fleet-sealer.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import type { SimClock } from '../sim-clock.ts';
import { FleetDevice, type FleetDeviceEvents, type FleetEndpoint } from './fleet-device.ts';
import { FleetCounters, type FleetStats } from './fleet-counters.ts';

export interface FleetMember {
  readonly provisioning: DeviceProvisioning;
  readonly keyPem: string;
  readonly certChainPem: string;
}

export interface FleetConfig {
  readonly members: readonly FleetMember[];
  readonly caPem: string;
  readonly cloudE3PublicKeyPem: string;
  readonly endpoint: FleetEndpoint;
  readonly clock: SimClock;
  /** Simulated reporting interval; the source chapter's device reports every 30 s. */
  readonly intervalSimMs?: number;
  /** Readings a device holds while it cannot deliver them (default 256). */
  readonly queueCapacity?: number;
  /**
   * Connection attempts in flight at once during the first connect (default 16). More do not
   * connect faster on 2 cores: with 64 per shard, 4 shards beside Mosquitto at load 23, handshakes
   * passed the attempt timeout, were torn down half-way and retried, and the storm collapsed
   * (1,288 of 5,000 connected, 4,344 refusals, Mosquitto logging "Protocol error").
   */
  readonly connectConcurrency?: number;
  readonly connectTimeoutMs?: number;
}

export const MAX_FLEET_PER_PROCESS = 5_000;
/** A device gives up one connection attempt (TCP + TLS + CONNACK) after this long unless told otherwise. */
export const FLEET_CONNECT_TIMEOUT_MS = 45_000;

export class Fleet {
  readonly devices: readonly FleetDevice[];
  readonly counters: FleetCounters;
  readonly #sealers: FleetSealer[] = [];
  readonly #config: FleetConfig;
  #clock: SimClock;
  #reporting: { timer: NodeJS.Timeout; reject: (err: Error) => void } | undefined;

  constructor(config: FleetConfig) {
    const n = config.members.length;
    if (n < 1 || n > MAX_FLEET_PER_PROCESS) throw new Error(`fleet: one process hosts 1..${MAX_FLEET_PER_PROCESS} wearables, got ${n}; shard a larger fleet over several processes or containers`);
    this.#config = config;
    this.#clock = config.clock;
    // Devices read the fleet's clock through this, so setClock re-anchors all of them at once.
    const clock = { nowSec: () => this.#clock.nowSec() };
    this.counters = new FleetCounters(n);
    const events: FleetDeviceEvents = this.counters;
    const cloudE3PublicKey = createPublicKey(config.cloudE3PublicKeyPem);
    this.devices = config.members.map((m) => {
      let context: SecureContext | undefined;
      return new FleetDevice({
        provisioning: m.provisioning,
        // One TLS context per device, built once and reused on every reconnect (parsing the
        // key, chain and CA bundle again per handshake is what makes a reconnect slow).
        secureContext: () =>
          (context ??= createSecureContext({ ca: config.caPem, cert: m.certChainPem, key: m.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=2' })),
        sealer: this.#sealerOf(m, cloudE3PublicKey),
        vitals: deviceVitals(m.provisioning),
        clock,
        endpoint: config.endpoint,
        queueCapacity: config.queueCapacity ?? 256,
        events,
        connectTimeoutMs: config.connectTimeoutMs ?? FLEET_CONNECT_TIMEOUT_MS,
      });
    });
  }

  #sealerOf(m: FleetMember, cloudE3PublicKey: KeyObject): FleetSealer {
    const sealer = new FleetSealer(m.provisioning, m.keyPem, cloudE3PublicKey);
    this.#sealers.push(sealer);
    return sealer;
  }

  /**
   * Load every device's key, certificate chain and CA into its TLS context, and its E3 device key
   * into its sealer, now, as a wearable does once at power-on, instead of on its first connect or
   * seal (parsing them is ~3 ms per device on OpenSSL 3: 15 s for 5,000, as long as the whole
   * connect storm may take). Returns seconds.
   */
  loadCredentials(): number {
    const started = performance.now();
    for (const d of this.devices) d.config.secureContext();
    for (const s of this.#sealers) s.loadKey();
    return (performance.now() - started) / 1000;
  }

  /**
   * Connect every device, at most `connectConcurrency` attempts at once; a device that fails
   * keeps retrying with backoff. Resolves when all are connected, rejects at the deadline with
   * how many are not and the commonest reason.
   */
  async connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    const started = performance.now();
    const concurrency = this.#config.connectConcurrency ?? 16;
    let next = 0;
    const worker = async () => {
      while (next < this.devices.length) {
        const device = this.devices[next++] as FleetDevice;
        await device.connect().catch(() => {
          this.counters.refused(device, 'first connect failed');
          device.keepConnected();
        });
      }
    };
    // The workers keep going in the background; the deadline bounds the whole connect.
    void Promise.all(Array.from({ length: Math.min(concurrency, this.devices.length) }, worker));
    await this.waitFor(() => this.counters.connectedNow === this.devices.length, deadlineMs, () => `${this.devices.length - this.counters.connectedNow} of ${this.devices.length} wearables are not connected (${this.counters.topRefusal()})`);
    return { seconds: (performance.now() - started) / 1000 };
  }

  /** Every device reads `count` readings on the compressed interval; resolves when all are sealed. */
  report(count: number, deadlineMs: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error(`fleet: readings per wearable must be an integer in 1..10000, got ${count}`);
    if (this.#reporting) throw new Error('fleet: already reporting; wait for the current run to end');
    const n = this.devices.length;
    const total = n * count;
    const spacingMs = this.#clock.wallMs(this.#config.intervalSimMs ?? 30_000) / n;
    const t0 = performance.now();
    let g = 0;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearInterval(timer);
        this.#reporting = undefined;
        if (err) reject(err);
        else resolve();
      };
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        if (elapsed > deadlineMs) return done(new Error(`fleet: only ${g} of ${total} readings were sealed within ${deadlineMs} ms; the machine is too slow for this rate (use a lower speed-up or fewer wearables)`));
        const due = Math.min(total, Math.floor(elapsed / spacingMs) + 1);
        for (; g < due; g++) (this.devices[g % n] as FleetDevice).read();
        this.counters.sealedTotal = g;
        if (g >= total) done();
      }, 5);
      this.#reporting = { timer, reject: (err) => done(err) };
    });
  }

  /** Wait (bounded) until every sealed reading has been acknowledged by the broker. */
  settle(deadlineMs: number): Promise<void> {
    return this.waitFor(() => this.devices.every((d) => d.queue.size === 0), deadlineMs, () => `${this.devices.reduce((s, d) => s + d.queue.size, 0)} readings still unacknowledged on ${this.devices.filter((d) => d.queue.size > 0).length} wearables`);
  }

  /** Re-anchor simulated time (e.g. just before a key epoch ends) for every device at once. */
  setClock(clock: SimClock): void {
    this.#clock = clock;
  }

  /** Readings each device sealed (sequences 1..n): what the cloud must have opened, exactly once. */
  sealedPerDevice(): Record<string, number> {
    return Object.fromEntries(this.devices.map((d) => [d.deviceId, Number(d.nextSequence - 1n)]));
  }

  stats(): FleetStats {
    return this.counters.stats(this.devices);
  }

  stop(): void {
    this.#reporting?.reject(new Error('fleet: stopped while reporting'));
    for (const d of this.devices) d.stop();
    this.counters.stopSampling();
  }

  waitFor(condition: () => boolean, deadlineMs: number, what: () => string): Promise<void> {
    return waitUntil(condition, deadlineMs, what);
  }
}

/**
 * Poll `condition` (it may be asynchronous: a shard in another thread) until it holds; at the
 * deadline, fail with what is still missing. `pollMs`: 20 in process, more across a thread.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, deadlineMs: number, what: () => string | Promise<string>, pollMs = 20): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!(await condition())) {
    if (performance.now() > until) throw new Error(`fleet: after ${(deadlineMs / 1000).toFixed(0)} s, ${await what()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
