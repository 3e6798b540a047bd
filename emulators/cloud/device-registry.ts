/**
 * Device registry and key store: the cloud's record of every provisioned wearable (the KMS
 * stand-in of docs/architecture.md §4 The E3 packet). It binds a pseudonym to a device, its certificate's public key (the
 * ECDH half of the E3 key agreement) and the real patient identity, which only the cloud knows.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { E3DeviceRecord } from '../../crypto/e3-opener.ts';
import type { DeviceProvisioning } from '../provisioning.ts';

export interface RegisteredDevice extends E3DeviceRecord {
  readonly patientId: string;
  readonly pseudonymHex: string;
  readonly certificateFingerprint: string;
}

export class DeviceRegistry {
  readonly #byPseudonym = new Map<string, RegisteredDevice>();
  readonly #byDeviceId = new Map<string, RegisteredDevice>();

  register(provisioning: DeviceProvisioning, deviceCertificatePem: string): RegisteredDevice {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(deviceCertificatePem);
    } catch (err) {
      throw new Error(`device-registry: the certificate for ${provisioning.deviceId} is not a readable X.509 PEM (${(err as Error).message}); re-run provisioning (testbed pki)`);
    }
    const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1];
    if (cn !== provisioning.deviceId) {
      throw new Error(`device-registry: certificate subject CN "${cn}" does not match device "${provisioning.deviceId}"; provision the device with its own certificate`);
    }
    const publicKey: KeyObject = cert.publicKey;
    const device: RegisteredDevice = {
      deviceId: provisioning.deviceId,
      patientId: provisioning.patientId,
      pseudonym: Buffer.from(provisioning.pseudonymHex, 'hex'),
      pseudonymHex: provisioning.pseudonymHex,
      publicKey,
      algorithm: provisioning.algorithm,
      certificateFingerprint: cert.fingerprint256,
    };
    this.#byPseudonym.set(device.pseudonymHex, device);
    this.#byDeviceId.set(device.deviceId, device);
    return device;
  }

  byPseudonym(pseudonymHex: string): RegisteredDevice | undefined {
    return this.#byPseudonym.get(pseudonymHex);
  }

  byDeviceId(deviceId: string): RegisteredDevice | undefined {
    return this.#byDeviceId.get(deviceId);
  }

  get size(): number {
    return this.#byDeviceId.size;
  }
}
