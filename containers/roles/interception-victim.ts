/**
 * The victim of the forged-certificate matrix as a long-lived role: topology/interception-victim.ts
 * (the code the local placement runs), one fresh client attempt per request, so one container
 * serves every attempt of its client kind in a run.
 *
 * The victim reaches the MITM through a relay on its own loopback (127.0.0.1:MQTT_TLS_PORT), as
 * on the local placement it reaches it through the link relay on 127.0.0.1: a client that
 * verifies the address it was given (mosquitto_pub -h 127.0.0.1) checks the same address on
 * both placements. The hop on the network is the internal network to the MITM's container,
 * captured by a tcpdump sidecar in this container's namespace.
 *
 *   POST /attempt {client, dir, readings, timeoutMs}   one attempt; returns what the victim saw
 */
import { join } from 'node:path';
import { KeyLog } from '../../capture/keylog.ts';
import { pkiPaths } from '../../certs/pki-files.ts';
import { TcpLink } from '../../links/tcp-link.ts';
import { runVictim, type VictimMaterial } from '../../topology/interception-victim.ts';
import { EVIDENCE_DIR, MQTT_TLS_PORT, PKI_DIR, type InterceptionVictimRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

const LOOPBACK = '127.0.0.1';

export async function startInterceptionVictim(config: InterceptionVictimRole): Promise<ServedRole> {
  const material: VictimMaterial = {
    paths: pkiPaths(PKI_DIR),
    crlFile: join(PKI_DIR, 'ca', 'intermediate.crl'),
    crlPems: config.crlPems,
    cloudPin: config.cloudPin,
    victim: config.victim,
  };
  const link = new TcpLink({ name: 'victim-mitm', listen: { host: LOOPBACK, port: MQTT_TLS_PORT }, target: config.mitm });
  const endpoint = await link.start();
  return {
    routes: {
      'POST /attempt': async (b) => {
        const dir = String(b.dir ?? '');
        if (dir === '' || dir.startsWith('/') || dir.split('/').includes('..')) throw new Error(`interception-victim: "dir" must be a path inside the evidence directory, got ${JSON.stringify(b.dir)}`);
        const keyLog = KeyLog.open(join(EVIDENCE_DIR, dir, 'keylogs', 'victim.keylog'));
        try {
          return await runVictim(material, { client: String(b.client), endpoint, dir: join(EVIDENCE_DIR, dir), readings: Number(b.readings ?? 2), timeoutMs: Number(b.timeoutMs ?? 5_000), keyLog });
        } finally {
          await keyLog.close();
        }
      },
    },
    stop: () => link.stop(),
  };
}
