/**
 * A fleet's firmware as the testbed builds it for a scenario: one PKI, one provisioning record
 * and one image per device, written under the scenario's directory (mode 0600, git-ignored runs/).
 */
import { join } from 'node:path';
import { generatePki, type Pki } from '../certs/pki.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { sharedCredentialsForFleet, writeFleetImages, type FirmwareProfile, type SharedCredentials } from './firmware-image.ts';

export interface FleetFirmware {
  readonly profile: FirmwareProfile;
  readonly pki: Pki;
  readonly devices: readonly DeviceProvisioning[];
  /** Image path per device id. */
  readonly images: ReadonlyMap<string, string>;
  /** hardcoded-credentials: what every image holds. */
  readonly shared?: SharedCredentials;
}

export const MAX_FLEET_IMAGES = 500;

export async function buildFleetFirmware(o: { dir: string; profile: FirmwareProfile; count: number }): Promise<FleetFirmware> {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_FLEET_IMAGES) throw new Error(`firmware: a scenario's fleet has 1..${MAX_FLEET_IMAGES} devices, got ${o.count}`);
  const ids = Array.from({ length: o.count }, (_, i) => `wearable-${String(i + 1).padStart(4, '0')}`);
  const pki = await generatePki({ wearableIds: ids });
  const devices = ids.map((id, i) => provisionDevice(id, i + 1));
  const shared = o.profile === 'hardcoded-credentials' ? sharedCredentialsForFleet() : undefined;
  const paths = writeFleetImages(
    join(o.dir, 'firmware'),
    devices.map((d) => {
      const own = pki.wearables.get(d.deviceId);
      return {
        deviceId: d.deviceId,
        profile: o.profile,
        mqttHost: CLOUD_NAME,
        caPem: pki.rootCa.certPem,
        topic: e3Topic(d.pseudonymHex),
        ...(shared ? { shared } : {}),
        ...(o.profile === 'per-device-identity' && own ? { identity: { certPem: own.chainPem, keyPem: own.keyPem } } : {}),
      };
    }),
  );
  return { profile: o.profile, pki, devices, images: new Map(ids.map((id, i) => [id, paths[i] as string])), ...(shared ? { shared } : {}) };
}
