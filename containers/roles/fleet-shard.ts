/**
 * A shard of the fleet in one container (docs/architecture.md §8 The graph and its placements: "a wearable container hosts a shard of the
 * fleet"): the same Fleet the local placement runs, its devices' keys read from the mounted PKI,
 * its operations (emulators/fleet/fleet-shard-routes.ts, listed there) served over HTTP, the
 * presented certificate's key log under the evidence directory's keylogs/.
 */
import { join } from 'node:path';
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import { fleetShard } from '../../emulators/fleet/fleet-shard-routes.ts';
import { EVIDENCE_DIR, PKI_DIR, type FleetShardRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export function startFleetShard(config: FleetShardRole): ServedRole {
  const pki = pkiPaths(PKI_DIR);
  const members = config.devices.map((d) => {
    const files = pki.wearable(d.deviceId);
    return { provisioning: d, keyPem: readPem(files.key, `the ${d.deviceId} device key`), certChainPem: readPem(files.chain, `the ${d.deviceId} certificate chain`) };
  });
  const shard = fleetShard(
    {
      members,
      // The root only, as on the local placement (topology/local-fleet.ts): the broker sends its intermediate.
      caPem: readPem(pki.caCert, 'the testbed root CA certificate'),
      cloudE3PublicKeyPem: readPem(pki.cloudE3.publicKey, 'the cloud E3 public key'),
      endpoint: config.endpoint,
      clock: config.clock,
      ...(config.queueCapacity ? { queueCapacity: config.queueCapacity } : {}),
    },
    join(EVIDENCE_DIR, 'keylogs'),
  );
  return { routes: shard.routes, stop: async () => shard.stop() };
}
