/**
 * The fleet's cloud service in its own container: the CloudService (E3 opener, replay window,
 * audit log) behind a Mosquitto subscription with a persistent session (clean session 0, QoS 1:
 * MQTT 3.1.1 §3.1.2.4), so readings the broker acknowledged before a restart are still
 * delivered after it (Mosquitto keeps them in its persistence file). It keeps the delivery
 * ledger (emulators/fleet/fleet-ledger.ts) instead of serving every audit entry.
 *
 *   POST /ledger {sealed: {deviceId: n}}   the ledger judged against what each device sealed
 *   GET  /accepted                         readings opened so far
 */
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pkiPaths, readPem } from '../../certs/pki-files.ts';
import { CloudService } from '../../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../../emulators/cloud/device-registry.ts';
import { E3_TOPIC_FILTER } from '../../emulators/cloud/cloud-broker.ts';
import { SimClock, type SimClockSpec } from '../../emulators/sim-clock.ts';
import { FleetLedger } from '../../emulators/fleet/fleet-ledger.ts';
import { connectTls } from '../../emulators/tls-connect.ts';
import { secureProfile, tlsClientOptions } from '../../emulators/tls-client-profile.ts';
import { EVIDENCE_DIR, IDENTITY_DIR, PKI_DIR, type FleetCloudRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export const FLEET_CLOUD_CLIENT_ID = 'fleet-cloud-service';

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
  const client = new mqtt.MqttClient(() => connectTls(config.broker.host, config.broker.port, tls), {
    protocolVersion: 4,
    clientId: FLEET_CLOUD_CLIENT_ID,
    clean: false,
    reconnectPeriod: 300,
    connectTimeout: 10_000,
    keepalive: 30,
  });
  // A broker restart closes the connection (ECONNRESET, then ECONNREFUSED while it is down): MQTT.js
  // reconnects by itself; without a listener its 'error' event would end the process.
  let connectionErrors = 0;
  client.on('error', () => {
    connectionErrors++;
  });
  client.on('message', (topic, payload) => ledger.observe(service.ingest(payload, { topic, deliveredBy: 'Mosquitto (publisher identity in the broker log)' })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fleet-cloud: no CONNACK/SUBACK from ${config.broker.host}:${config.broker.port} within 15 s`)), 15_000);
    client.once('connect', () => {
      client.subscribe(E3_TOPIC_FILTER, { qos: 1 }, (err, granted) => {
        clearTimeout(timer);
        if (err || granted?.[0]?.qos === 128) reject(new Error(`fleet-cloud: the broker refused the subscription to ${E3_TOPIC_FILTER} (${err?.message ?? 'SUBACK 0x80'}); check the ACL`));
        else resolve();
      });
    });
  });
  return {
    routes: {
      'POST /ledger': async (b) => ledger.report((b.sealed ?? {}) as Record<string, number>),
      'GET /accepted': async () => ({ accepted: ledger.accepted, connectionErrors }),
      'POST /clock': async (b) => {
        clock = new SimClock(b.clock as SimClockSpec);
        return { ok: true };
      },
    },
    stop: async () => {
      await client.endAsync(false).catch(() => client.end(true));
    },
  };
}
