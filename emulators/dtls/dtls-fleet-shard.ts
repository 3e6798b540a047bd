/**
 * A shard of DTLS wearables hosted by ONE fleet bridge process (issue 11 "DTLS fleet";
 * dtls-fleet-transport.ts, dtls-fleet-device.ts): every device its own PSK identity (RFC 4279),
 * E3 key, pseudonym, salt and sequence, each on its own DTLS session of the shared bridge. The
 * local placement runs it in-process, the containers placement in one `dtls-fleet-shard`
 * container (containers/roles/dtls-fleet-shard.ts). Its counters have the TLS fleet's shape
 * (emulators/fleet/fleet-counters.ts FleetStats), so the fleet's live line and summary table
 * (fleet-progress.ts) draw it too; its charts are its own (analysis/dtls-fleet-charts.ts): its
 * latency ends at the cloud's ack back at the wearable, not at a broker's PUBACK.
 */
import type { PkiPaths } from '../../certs/pki-files.ts';
import { readPem } from '../../certs/pki-files.ts';
import type { DeviceProvisioning } from '../provisioning.ts';
import type { SimClock } from '../sim-clock.ts';
import { deviceVitals } from '../device-sealer.ts';
import { FleetSealer } from '../fleet/fleet-sealer.ts';
import { percentile, type FleetSample, type FleetStats } from '../fleet/fleet-counters.ts';
import type { UdpAddress } from './dtls-bridge-process.ts';
import { DtlsFleetTransport } from './dtls-fleet-transport.ts';
import { DtlsFleetDevice } from './dtls-fleet-device.ts';

/** The bridge's own bound (dtls-bridge fleet mode --max-sessions). */
export const MAX_DTLS_FLEET_SESSIONS = 10_000;
/**
 * Sessions opened at once: the bridge's own handshake slots (fleetHandshakesAtOnce in
 * dtls-bridge/bridge/fleet.go), so each open's timeout measures its handshake, not its wait.
 */
const HANDSHAKES_IN_FLIGHT = 32;
/** Handshakes per session before the device is counted as refused (pion's flight retransmissions can outlast one). */
const HANDSHAKE_ATTEMPTS = 4;
/** The bridge's start on a 2-core host at load 15 took over 10 s (the bridge process's default) in a container. */
const BRIDGE_START_MS = 60_000;
const TICK_MS = 20;
const SAMPLE_MS = 250;
const MAX_SAMPLES = 4_800;

/** How the fleet's devices report: resend policy and readings in flight (dtls-fleet-device.ts). */
export interface DtlsFleetReporting {
  readonly resend: { readonly intervalMs: number; readonly maxAttempts: number };
  /** Readings in flight per device; 1 is stop-and-wait (in order at the cloud). */
  readonly window: number;
}

export interface DtlsFleetShardConfig extends DtlsFleetReporting {
  readonly devices: readonly DeviceProvisioning[];
  /** The run's PKI: each device's P-256 key (its E3 key agreement) and the cloud's E3 public key. */
  readonly pki: PkiPaths;
  /** Where every session goes: the gateway, or the device link in front of it. */
  readonly endpoint: UdpAddress;
  readonly pskHex: string;
  readonly clock: Pick<SimClock, 'nowSec'>;
  readonly handshakeTimeoutMs: number;
  readonly keyLogFile?: string;
}

/** FleetStats plus what only a datagram fleet has: resends, readings given up, the devices' own sealed counts. */
export interface DtlsFleetStats extends FleetStats {
  readonly resends: number;
  readonly givenUp: number;
  /** Datagrams on a device's session that were not an ack for it (dtls-fleet-device.ts). */
  readonly refusedDatagrams: number;
  readonly sealedPerDevice: Readonly<Record<string, number>>;
}

/** What a shard is asked, wherever it runs (in-process, or over a container's control socket). */
export interface DtlsFleetShardHandle {
  connectAll(deadlineMs: number): Promise<{ seconds: number }>;
  /** Every device reads `count` readings, one each `intervalMs`, then waits until none is pending; bounded. */
  report(count: number, intervalMs: number, deadlineMs: number): Promise<{ seconds: number }>;
  stats(): Promise<DtlsFleetStats>;
}

export function checkDtlsFleetReporting(r: DtlsFleetReporting): void {
  if (!Number.isInteger(r.window) || r.window < 1 || r.window > 1_000) throw new Error(`dtls-fleet: window must be 1..1000 readings in flight, got ${r.window}`);
  if (!(r.resend.intervalMs >= 10 && r.resend.intervalMs <= 60_000)) throw new Error(`dtls-fleet: the resend interval must be 10..60000 ms, got ${r.resend.intervalMs}`);
  if (!Number.isInteger(r.resend.maxAttempts) || r.resend.maxAttempts < 1 || r.resend.maxAttempts > 100) throw new Error(`dtls-fleet: maxAttempts must be 1..100 sends, got ${r.resend.maxAttempts}`);
}

function checkDeadline(what: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 1 || ms > 3_600_000) throw new Error(`dtls-fleet: the ${what} deadline must be 1..3600000 ms, got ${ms}`);
}

export class DtlsFleetShard implements DtlsFleetShardHandle {
  readonly #config: DtlsFleetShardConfig;
  readonly #devices: DtlsFleetDevice[] = [];
  readonly #latencies: number[] = [];
  readonly #samples: FleetSample[] = [];
  readonly #born = performance.now();
  readonly #refusals = new Map<string, number>();
  readonly #refused = new Set<string>();
  #transport: DtlsFleetTransport | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #sampler: NodeJS.Timeout | undefined;
  #connected = 0;
  #handshakes = 0;
  #retries = 0;

  constructor(config: DtlsFleetShardConfig) {
    if (config.devices.length < 1 || config.devices.length > MAX_DTLS_FLEET_SESSIONS) throw new Error(`dtls-fleet: a shard hosts 1..${MAX_DTLS_FLEET_SESSIONS} wearables on one bridge, got ${config.devices.length}`);
    checkDtlsFleetReporting(config);
    this.#config = config;
  }

  /** Read the devices' keys and start the one bridge process (no session yet). */
  async start(): Promise<void> {
    const c = this.#config;
    const cloudE3PublicKeyPem = readPem(c.pki.cloudE3.publicKey, 'the cloud E3 public key');
    const transport = await DtlsFleetTransport.start({ connect: c.endpoint, pskHex: c.pskHex, ciphers: ['PSK-AES128-GCM-SHA256'], maxSessions: c.devices.length, handshakeTimeoutMs: c.handshakeTimeoutMs, startTimeoutMs: BRIDGE_START_MS, ...(c.keyLogFile ? { keyLogFile: c.keyLogFile } : {}) });
    this.#transport = transport;
    c.devices.forEach((p, i) => {
      const keyPem = readPem(c.pki.wearable(p.deviceId).key, `the ${p.deviceId} device key`);
      this.#devices.push(new DtlsFleetDevice({
        provisioning: p,
        sealer: new FleetSealer(p, keyPem, cloudE3PublicKeyPem),
        vitals: deviceVitals(p),
        clock: c.clock,
        send: (datagram) => transport.send(i + 1, datagram),
        // Backing off: 1,000 wearables resending in step would swamp the path their acks come back on.
        resend: { ...c.resend, backoff: true },
        window: c.window,
        onAcknowledged: (ms) => this.#latencies.push(ms),
      }));
    });
    this.#ticker = setInterval(() => {
      const now = Date.now();
      for (const d of this.#devices) d.tick(now);
    }, TICK_MS);
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sampler.unref();
  }

  /** Open every device's session (session id = its index + 1), at most HANDSHAKES_IN_FLIGHT at once; bounded. */
  async connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    checkDeadline('connect', deadlineMs);
    const transport = this.#started();
    const started = performance.now();
    const until = Date.now() + deadlineMs;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.#devices.length) {
        const i = next++;
        const d = this.#devices[i] as DtlsFleetDevice;
        const left = until - Date.now();
        if (left <= 0) return this.#refuse(d.deviceId, 'connect deadline passed');
        try {
          const attempts = await transport.openWithRetries(i + 1, d.deviceId, (payload) => d.received(payload), Math.min(left, this.#config.handshakeTimeoutMs * 2), HANDSHAKE_ATTEMPTS);
          this.#handshakes += 1;
          this.#retries += attempts - 1;
          this.#connected += 1;
        } catch (err) {
          this.#refuse(d.deviceId, (err as Error).message.replace(/session \d+ \([^)]*\)|session \d+/, 'session'));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(HANDSHAKES_IN_FLIGHT, this.#devices.length) }, worker));
    return { seconds: (performance.now() - started) / 1000 };
  }

  async report(count: number, intervalMs: number, deadlineMs: number): Promise<{ seconds: number }> {
    if (!Number.isInteger(count) || count < 1 || count > 1_000) throw new Error(`dtls-fleet: readings per device must be 1..1000, got ${count}`);
    if (!(intervalMs >= 1 && intervalMs <= 600_000)) throw new Error(`dtls-fleet: the reading interval must be 1..600000 ms of wall time, got ${intervalMs}`);
    checkDeadline('report', deadlineMs);
    this.#started();
    const started = performance.now();
    const until = Date.now() + deadlineMs;
    for (let round = 0; round < count; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, intervalMs));
      const now = Date.now();
      for (const d of this.#devices) d.read(now);
    }
    while (this.#devices.some((d) => d.pending > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return { seconds: (performance.now() - started) / 1000 };
  }

  async stats(): Promise<DtlsFleetStats> {
    const sum = (f: (d: DtlsFleetDevice) => number) => this.#devices.reduce((s, d) => s + f(d), 0);
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      devices: this.#config.devices.length,
      connected: this.#connected,
      fullHandshakes: this.#handshakes,
      resumedHandshakes: 0,
      // A session handshaken again after a failed attempt on the lossy link.
      reconnects: this.#retries,
      disconnects: 0,
      refusals: this.#refused.size,
      refusalReasons: Object.fromEntries(this.#refusals),
      refusedDevices: [...this.#refused],
      sealed: sum((d) => d.sealed),
      acknowledged: sum((d) => d.acknowledged),
      pending: sum((d) => d.pending),
      overflows: 0,
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
      samples: [...this.#samples],
      resends: sum((d) => d.resends),
      givenUp: sum((d) => d.givenUp),
      refusedDatagrams: sum((d) => d.refusedDatagrams),
      sealedPerDevice: Object.fromEntries(this.#devices.map((d) => [d.deviceId, d.sealed])),
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.#ticker);
    clearInterval(this.#sampler);
    const transport = this.#transport;
    this.#transport = undefined;
    await transport?.stop();
  }

  #started(): DtlsFleetTransport {
    if (!this.#transport) throw new Error('dtls-fleet: the shard is not started (or already stopped); call start() first');
    return this.#transport;
  }

  #refuse(deviceId: string, reason: string): void {
    this.#refused.add(deviceId);
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
  }

  #sample(): void {
    if (this.#samples.length >= MAX_SAMPLES) return;
    this.#samples.push({ tMs: performance.now() - this.#born, connected: this.#connected, acknowledged: this.#devices.reduce((s, d) => s + d.acknowledged, 0), refusals: this.#refused.size, reconnects: this.#retries });
  }
}
