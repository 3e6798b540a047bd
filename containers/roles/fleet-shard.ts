/**
 * A shard of the fleet in one container (docs/architecture.md §8 The graph and its placements: "a wearable container hosts a shard of the
 * fleet"): the same Fleet the local placement runs, its devices' keys read from the mounted PKI.
 *
 *   POST /connect {deadlineMs}          connect every device (mutual TLS); {seconds}
 *   POST /report {count, deadlineMs}    every device reads `count` readings on the interval
 *   POST /settle {deadlineMs}           wait until every reading is acknowledged
 *   GET  /stats                         FleetStats (counters, latency, 250 ms samples)
 *   GET  /sealed                        readings sealed per device
 *   POST /device {deviceId}             one device's own record (fleet-device-record.ts), or null
 *   POST /present {deviceId, keyLog}    present that device's certificate and key once more (a probe
 *                                       with its key log under the evidence directory's keylogs/)
 */
import { basename, join } from 'node:path';
import { probeBroker } from '../../emulators/device-credentials.ts';
import { fleetDeviceRecord } from '../../emulators/fleet/fleet-device-record.ts';
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import { SimClock, type SimClockSpec } from '../../emulators/sim-clock.ts';
import { Fleet } from '../../emulators/fleet/fleet.ts';
import { EVIDENCE_DIR, PKI_DIR, type FleetShardRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export function startFleetShard(config: FleetShardRole): ServedRole {
  const pki = pkiPaths(PKI_DIR);
  const members = config.devices.map((d) => {
    const files = pki.wearable(d.deviceId);
    return { provisioning: d, keyPem: readPem(files.key, `the ${d.deviceId} device key`), certChainPem: readPem(files.chain, `the ${d.deviceId} certificate chain`) };
  });
  const caPem = readPem(pki.caBundle, 'the testbed CA bundle');
  const fleet = new Fleet({
    members,
    caPem,
    cloudE3PublicKeyPem: readPem(pki.cloudE3.publicKey, 'the cloud E3 public key'),
    endpoint: config.endpoint,
    clock: new SimClock(config.clock),
    queueCapacity: config.queueCapacity,
  });
  const deadline = (b: Record<string, unknown>) => {
    const ms = Number(b.deadlineMs);
    if (!Number.isInteger(ms) || ms < 1 || ms > 3_600_000) throw new Error(`fleet-shard: deadlineMs must be 1..3600000, got ${String(b.deadlineMs)}`);
    return ms;
  };
  return {
    routes: {
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
      'POST /device': async (b) => fleetDeviceRecord(fleet, String(b.deviceId)) ?? null,
      'POST /present': async (b) => {
        const m = members.find((x) => x.provisioning.deviceId === b.deviceId);
        if (!m) throw new Error(`fleet-shard: ${String(b.deviceId)} is not in this shard`);
        const keyLog = String(b.keyLog);
        if (basename(keyLog) !== keyLog || !keyLog.endsWith('.keylog')) throw new Error(`fleet-shard: "keyLog" must be a plain file name ending in .keylog, got "${keyLog}"`);
        const device = fleet.devices.find((d) => d.deviceId === b.deviceId);
        return probeBroker({ credential: { kind: 'genuine', certChainPem: m.certChainPem, keyPem: m.keyPem }, caPem, ...config.endpoint, clientId: `${m.provisioning.deviceId}-presented`, topic: device?.topic ?? 'wearables/unknown/e3', payload: new Uint8Array(96), timeoutMs: 10_000, keyLogFile: join(EVIDENCE_DIR, 'keylogs', keyLog) });
      },
    },
    stop: async () => fleet.stop(),
  };
}
