/**
 * The fleet's cloud service in its own container: the CloudService (E3 opener, replay window,
 * audit log) behind a Mosquitto subscription with a persistent session (clean session 0, QoS 1:
 * MQTT 3.1.1 §3.1.2.4), so readings the broker acknowledged before a restart are still
 * delivered after it (Mosquitto keeps them in its persistence file). It keeps the delivery
 * ledger (emulators/fleet/fleet-ledger.ts) instead of serving every audit entry.
 *
 *   POST /ledger {sealed: {deviceId: n}}   the ledger judged against what each device sealed
 *   GET  /accepted                         readings opened so far
 *   POST /away                             DISCONNECT, the session left with the broker
 *   POST /back                             CONNECT again (clean session 0); {sessionPresent}
 */
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import { CloudService } from '../../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../../emulators/cloud/device-registry.ts';
import { E3_TOPIC_FILTER } from '../../emulators/cloud/cloud-broker.ts';
import { SimClock, type SimClockSpec } from '../../emulators/sim-clock.ts';
import { FleetLedger } from '../../emulators/fleet/fleet-ledger.ts';
import { connectTls } from '../../emulators/tls-connect.ts';
import { FLEET_CLOUD_CLIENT_ID, PersistentSubscriber } from '../../emulators/cloud/persistent-subscriber.ts';
import { secureProfile, tlsClientOptions } from '../../emulators/tls-client-profile.ts';
import { EVIDENCE_DIR, IDENTITY_DIR, PKI_DIR, type FleetCloudRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export async function startFleetCloud(config: FleetCloudRole): Promise<ServedRole> {
  const pki = pkiPaths(PKI_DIR);
  const registry = new DeviceRegistry();
  for (const d of config.devices) registry.register(d, readPem(pki.wearable(d.deviceId).cert, `the ${d.deviceId} device certificate`));
  let clock = new SimClock(config.clock);
  const service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(readPem(pki.cloudE3.privateKey, 'the cloud E3 private key')), nowSec: () => clock.nowSec(), auditFile: join(EVIDENCE_DIR, 'audit.jsonl') });
  const ledger = new FleetLedger();
  const tls = tlsClientOptions(secureProfile, {
    ca: readPem(pki.caBundle, 'the testbed CA bundle'),
    certChain: readPem(join(IDENTITY_DIR, 'client-chain.crt'), 'the cloud service certificate chain'),
    key: readPem(join(IDENTITY_DIR, 'client.key'), 'the cloud service key'),
    serverName: config.broker.serverName,
  });
  const subscriber = new PersistentSubscriber({
    stream: () => connectTls(config.broker.host, config.broker.port, tls),
    clientId: FLEET_CLOUD_CLIENT_ID,
    filter: E3_TOPIC_FILTER,
    brokerName: `${config.broker.host}:${config.broker.port}`,
    onMessage: (topic, payload) => ledger.observe(service.ingest(payload, { topic, deliveredBy: 'Mosquitto (publisher identity in the broker log)' })),
  });
  await subscriber.start();
  return {
    routes: {
      'POST /ledger': async (b) => ledger.report((b.sealed ?? {}) as Record<string, number>),
      'GET /accepted': async () => ({ accepted: ledger.accepted, connectionErrors: subscriber.connectionErrors }),
      'POST /away': async () => {
        await subscriber.away();
        return { ok: true };
      },
      'POST /back': async () => subscriber.back(),
      'POST /clock': async (b) => {
        clock = new SimClock(b.clock as SimClockSpec);
        return { ok: true };
      },
    },
    stop: () => subscriber.stop(),
  };
}
