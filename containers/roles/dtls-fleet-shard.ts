/**
 * DTLS wearables on ONE fleet bridge process in one container (issue 11 "DTLS fleet";
 * emulators/dtls/dtls-fleet-shard.ts, the same class the local placement runs in-process), the
 * pion bridge binary from the read-only project mount, the devices' keys from the mounted PKI.
 *
 *   POST /connect {deadlineMs}                      open every device's session; {seconds}
 *   POST /report {count, intervalMs, deadlineMs}    every device reads `count` readings; {seconds}
 *   GET  /stats                                     DtlsFleetStats (the devices' own counts)
 *
 * The bridge writes its session keys to EVIDENCE_DIR/dtls-keylogs/fleet.keylog (0600); the
 * topology merges them into the scenario's dtls.keylog.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pkiPaths } from '../../certs/pki-files.ts';
import { SimClock } from '../../emulators/sim-clock.ts';
import { DtlsFleetShard } from '../../emulators/dtls/dtls-fleet-shard.ts';
import { EVIDENCE_DIR, PKI_DIR, type DtlsFleetShardRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export async function startDtlsFleetShard(config: DtlsFleetShardRole): Promise<ServedRole> {
  const keyLogs = join(EVIDENCE_DIR, 'dtls-keylogs');
  mkdirSync(keyLogs, { recursive: true, mode: 0o700 });
  const shard = new DtlsFleetShard({
    devices: config.devices,
    pki: pkiPaths(PKI_DIR),
    endpoint: config.endpoint,
    pskHex: config.pskHex,
    clock: new SimClock(config.clock),
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    resend: config.resend,
    window: config.window,
    keyLogFile: join(keyLogs, 'fleet.keylog'),
  });
  // Ready before the bridge listens: on a loaded host its start can outlast the role's start-up
  // wait (node-role-container.ts); every route waits for it instead, and reports its failure.
  const starting = shard.start();
  starting.catch(() => undefined);
  return {
    routes: {
      'POST /connect': async (b) => starting.then(() => shard.connectAll(Number(b.deadlineMs))),
      'POST /report': async (b) => starting.then(() => shard.report(Number(b.count), Number(b.intervalMs), Number(b.deadlineMs))),
      'GET /stats': async () => starting.then(() => shard.stats()),
    },
    stop: () => starting.catch(() => undefined).then(() => shard.stop()),
  };
}
