/**
 * The cloud side every local topology and rig stands up the same way (docs/architecture.md §3 Roles cloud): the
 * device registry filled from the provisioning records and their certificates, the cloud service
 * with the cloud's E3 key and an audit file, and the options of the mTLS broker in front of it.
 */
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { readPem, type PkiPaths } from '../certs/pki-files.ts';
import type { CloudBrokerConfig } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { CloudService } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import type { EvidenceSink } from '../emulators/evidence.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { SimClock } from '../emulators/sim-clock.ts';
import { e3Topic } from '../emulators/wearable.ts';

export interface CloudServiceAssembly {
  readonly registry: DeviceRegistry;
  readonly service: CloudService;
  /** Did the cloud accept this sequence from this device? (cloud-acks.ts acknowledges duplicates of those.) */
  readonly wasAccepted: (deviceId: string, sequence: bigint) => boolean;
}

/** Registry + cloud service; the audit goes to `<dir>/audit.jsonl`. */
export function assembleCloudService(o: { dir: string; pki: PkiPaths; devices: readonly DeviceProvisioning[]; clock: SimClock }): CloudServiceAssembly {
  const registry = new DeviceRegistry();
  for (const d of o.devices) registry.register(d, readPem(o.pki.wearable(d.deviceId).cert, `the ${d.deviceId} device certificate`));
  const service = new CloudService({
    registry,
    cloudE3PrivateKey: createPrivateKey(readPem(o.pki.cloudE3.privateKey, 'the cloud E3 private key')),
    nowSec: () => o.clock.nowSec(),
    auditFile: join(o.dir, 'audit.jsonl'),
  });
  return { registry, service, wasAccepted: (deviceId, sequence) => service.accepted(deviceId).some((e) => e.sequence === sequence) };
}

/**
 * The mTLS broker's options on loopback (port 0): the cloud server chain and key, the testbed CAs
 * for client certificates, and each device allowed only its own E3 topic.
 */
export function cloudBrokerConfig(o: { pki: PkiPaths; registry: DeviceRegistry; evidence: EvidenceSink }): CloudBrokerConfig {
  const server = { chainPem: readPem(o.pki.cloud.chain, 'the cloud server certificate chain'), keyPem: readPem(o.pki.cloud.key, 'the cloud server key') };
  return loopbackBrokerConfig(server, {
    clientCaPem: readPem(o.pki.caBundle, 'the testbed CA bundle'),
    ownTopicOf: (deviceId) => {
      const device = o.registry.byDeviceId(deviceId);
      return device ? e3Topic(device.pseudonymHex) : undefined;
    },
    evidence: o.evidence,
  });
}
