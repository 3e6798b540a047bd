/**
 * The DTLS fleet's shard container (containers/roles/dtls-fleet-shard.ts): every wearable of the
 * fleet on ONE pion bridge process, run from the read-only project mount like the other DTLS
 * roles (containers/dtls-containers.ts). topology/containers-dtls-topology.ts puts it on the
 * device network, behind the link relay.
 */
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClockSpec } from '../emulators/sim-clock.ts';
import { MAX_DTLS_FLEET_SESSIONS, checkDtlsFleetReporting, type DtlsFleetReporting, type DtlsFleetShardHandle, type DtlsFleetStats } from '../emulators/dtls/dtls-fleet-shard.ts';
import { DtlsNodeRoleContainer, StartedDtlsRole } from './dtls-containers.ts';

/** Control calls wait at most this much longer than the shard's own deadline. */
const CALL_MARGIN_MS = 10_000;

export class DtlsFleetShardContainer extends DtlsNodeRoleContainer {
  #devices: readonly DeviceProvisioning[] = [];
  #endpoint: { host: string; port: number } | undefined;
  #pskHex: string | undefined;
  #clock: SimClockSpec | undefined;
  #handshakeTimeoutMs = 15_000;
  #reporting: DtlsFleetReporting | undefined;

  withDevices(devices: readonly DeviceProvisioning[]): this {
    if (devices.length < 1 || devices.length > MAX_DTLS_FLEET_SESSIONS) throw new Error(`DtlsFleetShardContainer: one fleet bridge hosts 1..${MAX_DTLS_FLEET_SESSIONS} wearables, got ${devices.length}`);
    this.#devices = devices;
    return this;
  }

  /** Where every session goes (the link relay's name on the device network, or the gateway's). */
  withEndpoint(host: string, port: number): this {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`DtlsFleetShardContainer: port must be 1..65535, got ${port}`);
    this.#endpoint = { host, port };
    return this;
  }

  /** The fleet's PSK (RFC 4279); each session sends its own device's identity. */
  withPsk(pskHex: string): this {
    if (!/^[0-9a-f]{32}$/.test(pskHex)) throw new Error('DtlsFleetShardContainer: the PSK must be 16 bytes as 32 lower-case hex digits');
    this.#pskHex = pskHex;
    return this;
  }

  withClock(spec: SimClockSpec): this {
    this.#clock = spec;
    return this;
  }

  withHandshakeTimeoutMs(ms: number): this {
    if (!Number.isInteger(ms) || ms < 100 || ms > 120_000) throw new Error(`DtlsFleetShardContainer: handshake timeout must be 100..120000 ms, got ${ms}`);
    this.#handshakeTimeoutMs = ms;
    return this;
  }

  withReporting(reporting: DtlsFleetReporting): this {
    checkDtlsFleetReporting(reporting);
    this.#reporting = reporting;
    return this;
  }

  override async start(): Promise<StartedDtlsFleetShardContainer> {
    if (this.#devices.length === 0) throw new Error('DtlsFleetShardContainer: no wearables; call withDevices(...)');
    if (!this.#endpoint) throw new Error('DtlsFleetShardContainer: no endpoint; call withEndpoint(host, port)');
    if (!this.#pskHex) throw new Error('DtlsFleetShardContainer: no PSK; call withPsk(hex), the one the gateway takes');
    if (!this.#clock) throw new Error("DtlsFleetShardContainer: no clock; call withClock(spec) with the cloud service's clock");
    if (!this.#reporting) throw new Error('DtlsFleetShardContainer: no resend policy; call withReporting({ resend: { intervalMs, maxAttempts }, window })');
    const { started, control } = await this.startRole({ role: 'dtls-fleet-shard', devices: this.#devices, endpoint: this.#endpoint, pskHex: this.#pskHex, clock: this.#clock, handshakeTimeoutMs: this.#handshakeTimeoutMs, resend: this.#reporting.resend, window: this.#reporting.window });
    return new StartedDtlsFleetShardContainer(started, control);
  }
}

export class StartedDtlsFleetShardContainer extends StartedDtlsRole implements DtlsFleetShardHandle {
  connectAll(deadlineMs: number): Promise<{ seconds: number }> {
    return this.control.call('POST', '/connect', { deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  report(count: number, intervalMs: number, deadlineMs: number): Promise<{ seconds: number }> {
    return this.control.call('POST', '/report', { count, intervalMs, deadlineMs }, deadlineMs + CALL_MARGIN_MS);
  }

  stats(): Promise<DtlsFleetStats> {
    return this.control.call('GET', '/stats');
  }
}
