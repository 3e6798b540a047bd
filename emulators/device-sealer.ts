/**
 * The device side of E3 as a wearable holds it (docs/architecture.md §4 The E3 packet): a sealer keyed from the device's
 * provisioned key and the cloud's E3 public key, and the vital-signs source seeded from its
 * pseudonym. Every transport (MQTT/TLS in wearable.ts, DTLS in dtls/dtls-wearable.ts, external
 * clients in the rigs) seals the same way, so the cloud cannot tell them apart.
 */
import { E3Sealer } from '../crypto/e3-sealer.ts';
import { rawP256PrivateKey, rawP256PublicKey } from '../crypto/e3-key-derivation.ts';
import type { DeviceProvisioning } from './provisioning.ts';
import { VitalSigns } from './vital-signs.ts';

export interface DeviceSealerConfig {
  readonly provisioning: DeviceProvisioning;
  /** PEM of the device's P-256 private key (its secure element stand-in). */
  readonly deviceKeyPem: string;
  /** SPKI PEM of the cloud's E3 key, provisioned at manufacturing. */
  readonly cloudE3PublicKeyPem: string;
  /** First sequence number to use (default 1). */
  readonly nextSequence?: bigint;
}

/** An E3 sealer for this device; sequences start at 1 unless told otherwise. */
export function deviceSealer(config: DeviceSealerConfig): E3Sealer {
  const p = config.provisioning;
  return new E3Sealer({
    pseudonym: Buffer.from(p.pseudonymHex, 'hex'),
    devicePrivateKey: rawP256PrivateKey(config.deviceKeyPem),
    cloudPublicKey: rawP256PublicKey(config.cloudE3PublicKeyPem),
    algorithm: p.algorithm,
    salt: Buffer.from(p.saltHex, 'hex'),
    nextSequence: config.nextSequence ?? 1n,
  });
}

/** The device's vital-signs source, seeded from its pseudonym so a run is reproducible per device. */
export function deviceVitals(provisioning: DeviceProvisioning): VitalSigns {
  return new VitalSigns(Number.parseInt(provisioning.pseudonymHex.slice(0, 8), 16));
}
