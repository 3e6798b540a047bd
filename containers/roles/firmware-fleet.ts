/**
 * The firmware fleet and the attacker in a container (topology/containers-credentials.ts): each
 * device boots from its own image and keeps its MQTT/TLS session open; the attacker boots one
 * leaked image once per device. The images are the scenario's own (the evidence mount), read
 * here as a device reads its flash.
 *
 *   POST /boot {caPem, devices: [{deviceId, image, certPem?, keyPem?}]}   every device (re)connects
 *   POST /attack {caPem, leaked, targets: [{deviceId, pseudonymHex}]}     clones from one image
 *   POST /close {}                                                          every session closed
 */
import { basename, join } from 'node:path';
import { FirmwareSession, type BrokerEndpoints } from '../../firmware/firmware-client.ts';
import { readFirmwareImage, type FirmwareConfig } from '../../firmware/firmware-image.ts';
import { attackWithLeakedImage, type AttackTarget } from '../../firmware/leaked-image-attack.ts';
import { EVIDENCE_DIR, type FirmwareFleetRole } from '../role-config.ts';

type Handler = (body: Record<string, unknown>) => Promise<unknown>;

/** An image under the evidence mount's firmware/ directory; a plain file name only. */
function image(name: unknown): FirmwareConfig {
  if (typeof name !== 'string' || basename(name) !== name || !name.endsWith('.fw.bin')) throw new Error(`firmware-fleet: an image is a plain file name ending in .fw.bin, got ${JSON.stringify(name)}`);
  return readFirmwareImage(join(EVIDENCE_DIR, 'firmware', name));
}

function caPem(b: Record<string, unknown>): string {
  if (typeof b.caPem !== 'string' || !b.caPem.includes('BEGIN CERTIFICATE')) throw new Error('firmware-fleet: the request has no "caPem" certificate');
  return b.caPem;
}

export function startFirmwareFleet(config: FirmwareFleetRole): { routes: Record<string, Handler>; stop(): Promise<void> } {
  const devices = new Map<string, FirmwareSession>();
  const attackers: FirmwareSession[] = [];
  const endpoints = (ca: string): BrokerEndpoints => ({
    mtls: { host: config.broker.host, port: config.broker.port },
    password: { host: config.broker.host, port: config.passwordPort },
    serverName: config.broker.serverName,
    caPem: ca,
  });
  const closeAll = () => {
    for (const s of [...devices.values(), ...attackers.splice(0)]) s.close();
    devices.clear();
  };
  return {
    routes: {
      'POST /boot': async (b) => {
        if (!Array.isArray(b.devices)) throw new Error('firmware-fleet: "devices" must be a list of {deviceId, image, certPem?, keyPem?}');
        const ca = caPem(b);
        return Promise.all(
          (b.devices as Record<string, unknown>[]).map((d) => {
            const fw = image(d.image);
            // Credentials delivered after the image was written (rotation, no firmware update).
            const rotated = typeof d.certPem === 'string' && typeof d.keyPem === 'string' ? { certPem: d.certPem, keyPem: d.keyPem } : {};
            devices.get(fw.deviceId)?.close();
            const session = new FirmwareSession({ ...fw, ...rotated });
            devices.set(fw.deviceId, session);
            return session.connect(endpoints(ca));
          }),
        );
      },
      'POST /attack': async (b) => {
        if (!Array.isArray(b.targets)) throw new Error('firmware-fleet: "targets" must be a list of {deviceId, pseudonymHex}');
        return attackWithLeakedImage(image(b.leaked), b.targets as AttackTarget[], endpoints(caPem(b)), attackers);
      },
      'POST /close': async () => {
        closeAll();
        return { closed: true };
      },
    },
    stop: async () => closeAll(),
  };
}
