/**
 * A shard's operations over its Fleet, free of any transport (docs/architecture.md §8: "a wearable
 * container hosts a shard of the fleet"). The container role serves them over HTTP
 * (containers/roles/fleet-shard.ts); the local placement serves them to its main thread over a
 * worker's message port (topology/fleet-shard-thread.ts), and bench/fleet.ts over a forked
 * process's IPC channel, so the wearables and the broker each get a core of the two.
 *
 *   POST /connect {deadlineMs}          connect every device (mutual TLS); {seconds}
 *   POST /report {count, deadlineMs}    every device reads `count` readings on the interval
 *   POST /settle {deadlineMs}           wait until every reading is acknowledged
 *   POST /clock {clock}                 re-anchor simulated time (SimClockSpec)
 *   GET  /stats                         FleetStats (counters, latency, 250 ms samples)
 *   GET  /sealed                        readings sealed per device
 *   POST /latencies                     seal-to-PUBACK latencies since the last call, sorted (a benchmark phase)
 *   POST /credentials                   load every device's TLS context now; {seconds}
 *   POST /device {deviceId}             one device's own record (fleet-device-record.ts), or null
 *   POST /present {deviceId, keyLog}    present that device's certificate and key once more (a probe
 *                                       with its key log in `keyLogDir`); only where a key-log directory is given
 */
import { basename, join } from 'node:path';
import { probeBroker } from '../device-credentials.ts';
import { SimClock, type SimClockSpec } from '../sim-clock.ts';
import { Fleet, type FleetMember } from './fleet.ts';
import { fleetDeviceRecord } from './fleet-device-record.ts';
import type { FleetEndpoint } from './fleet-device.ts';

export type FleetShardRoute = (body: Record<string, unknown>) => Promise<unknown>;

export interface FleetShardSpec {
  readonly members: readonly FleetMember[];
  readonly caPem: string;
  readonly cloudE3PublicKeyPem: string;
  readonly endpoint: FleetEndpoint;
  readonly clock: SimClockSpec;
  readonly queueCapacity?: number;
}

export interface FleetShard {
  /** The Fleet itself, for a host in the same thread (bench/fleet.ts drives single devices of it). */
  readonly fleet: Fleet;
  readonly routes: Readonly<Record<string, FleetShardRoute>>;
  stop(): void;
}

/** Bound on one presentation of a credential to the broker. */
const PRESENT_TIMEOUT_MS = 10_000;

function deadline(b: Record<string, unknown>): number {
  const ms = Number(b.deadlineMs);
  if (!Number.isInteger(ms) || ms < 1 || ms > 3_600_000) throw new Error(`fleet-shard: deadlineMs must be 1..3600000, got ${String(b.deadlineMs)}`);
  return ms;
}

/** `keyLogDir`: where /present writes its key logs; without it /present is not served. */
export function fleetShard(spec: FleetShardSpec, keyLogDir?: string): FleetShard {
  const fleet = new Fleet({
    members: spec.members,
    caPem: spec.caPem,
    cloudE3PublicKeyPem: spec.cloudE3PublicKeyPem,
    endpoint: spec.endpoint,
    clock: new SimClock(spec.clock),
    ...(spec.queueCapacity ? { queueCapacity: spec.queueCapacity } : {}),
  });
  const routes: Record<string, FleetShardRoute> = {
    'POST /connect': async (b) => fleet.connectAll(deadline(b)),
    'POST /report': async (b) => {
      await fleet.report(Number(b.count), deadline(b));
      return { sealed: fleet.stats().sealed };
    },
    'POST /settle': async (b) => {
      await fleet.settle(deadline(b));
      return { settled: true };
    },
    'POST /clock': async (b) => {
      fleet.setClock(new SimClock(b.clock as SimClockSpec));
      return { ok: true };
    },
    'GET /stats': async () => fleet.stats(),
    'GET /sealed': async () => fleet.sealedPerDevice(),
    'POST /latencies': async () => fleet.counters.takeLatencies(),
    'POST /credentials': async () => ({ seconds: fleet.loadCredentials() }),
    'POST /device': async (b) => fleetDeviceRecord(fleet, String(b.deviceId)) ?? null,
  };
  if (keyLogDir !== undefined) {
    routes['POST /present'] = async (b) => {
      const m = spec.members.find((x) => x.provisioning.deviceId === b.deviceId);
      if (!m) throw new Error(`fleet-shard: ${String(b.deviceId)} is not in this shard`);
      const keyLog = String(b.keyLog);
      if (basename(keyLog) !== keyLog || !keyLog.endsWith('.keylog')) throw new Error(`fleet-shard: "keyLog" must be a plain file name ending in .keylog, got "${keyLog}"`);
      const device = fleet.devices.find((d) => d.deviceId === b.deviceId);
      return probeBroker({ credential: { kind: 'genuine', certChainPem: m.certChainPem, keyPem: m.keyPem }, caPem: spec.caPem, ...spec.endpoint, clientId: `${m.provisioning.deviceId}-presented`, topic: device?.topic ?? 'wearables/unknown/e3', payload: new Uint8Array(96), timeoutMs: PRESENT_TIMEOUT_MS, keyLogFile: join(keyLogDir, keyLog) });
    };
  }
  return { fleet, routes, stop: () => fleet.stop() };
}
