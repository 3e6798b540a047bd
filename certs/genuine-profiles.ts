// The genuine certificates of the testbed's PKI, each written as a CertificateProfile. The
// forged catalogue (docs/architecture.md §6 PKI and forged certificates) starts from these and changes a field or two.
import { DAY_MS, HOUR_MS, type CertificateProfile, type Issuer } from './certificate-profile.ts';
import { keySpecFor, type KeyAlgorithm, type KeySpec } from './keys.ts';

/** Said in every CA name, as mockttp's test CA does: nobody should ever add these to a trust store. */
export const DO_NOT_TRUST = 'DO NOT TRUST – TESTING ONLY';
export const TESTBED_ORGANIZATION = `IoT E3/E4 Testbed – ${DO_NOT_TRUST}`;
export const ROOT_CA_CN = `IoT E3/E4 Testbed Root CA – ${DO_NOT_TRUST}`;
// Both within RFC 5280's ub-common-name of 64 characters.
export const INTERMEDIATE_CA_CN = `IoT E3/E4 Testbed Intermediate CA – ${DO_NOT_TRUST}`;

/**
 * The cloud's and the gateway's host names: the server names clients check and the certificates
 * carry, in one place, so a client and the certificate it checks can never drift apart.
 */
export const CLOUD_NAME = 'cloud.testbed.local';
export const GATEWAY_NAME = 'gateway.testbed.local';
export const CLOUD_CN = CLOUD_NAME;
export const CLOUD_DNS_NAMES = [CLOUD_NAME, 'broker.testbed.local', 'localhost', 'cloud', 'broker'];
export const GATEWAY_DEFAULT_CN = 'gateway-01';
export const GATEWAY_DNS_NAMES = [GATEWAY_NAME, 'gateway', 'localhost'];
export const LOOPBACK_IPS = ['127.0.0.1'];

/**
 * The cloud service's own client certificate CN (OU cloud): the only identity either broker lets
 * read the wearables' E3 readings — Aedes by this CN (emulators/cloud/cloud-broker.ts
 * maySubscribe), Mosquitto through its ACL, which sees the CN as the username
 * (mosquitto.conf(5) use_identity_as_username). Another client of the cloud's unit, such as the
 * DTLS endpoint, reads nothing.
 */
export const CLOUD_SERVICE_CN = 'cloud-service';

/**
 * The validity every genuine certificate shares: from one hour before `now` (a peer whose clock
 * runs a little behind must not see "not yet valid") to `validityDays` after. Leaves never
 * outlive their CA, which RFC 5280 does not forbid but many validators reject.
 */
export function genuineValidity(validityDays: number): CertificateProfile['validity'] {
  if (!Number.isFinite(validityDays) || validityDays <= 0 || validityDays > 3650) {
    throw new Error(`certs: validityDays must be between 0 and 3650, got ${validityDays}`);
  }
  return { notBeforeOffsetMs: -HOUR_MS, notAfterOffsetMs: validityDays * DAY_MS };
}

interface CaOptions {
  algorithm: KeyAlgorithm;
  validity: CertificateProfile['validity'];
}

export function rootCaProfile(o: CaOptions): CertificateProfile {
  return {
    label: 'the root CA certificate',
    subject: { commonName: ROOT_CA_CN, organization: TESTBED_ORGANIZATION },
    validity: o.validity,
    key: keySpecFor(o.algorithm),
    signatureHash: 'SHA-256',
    issuer: 'self',
    // RFC 5280 §4.2.1.9: CA certificates MUST mark basicConstraints critical; §4.2.1.3: a CA key
    // signs certificates and CRLs (the `revoked` case needs a CRL) and nothing else.
    basicConstraints: { ca: true, critical: true },
    keyUsage: { usages: ['keyCertSign', 'cRLSign'], critical: true },
  };
}

export function intermediateCaProfile(root: Issuer, o: CaOptions): CertificateProfile {
  return {
    ...rootCaProfile(o),
    label: 'the intermediate CA certificate',
    subject: { commonName: INTERMEDIATE_CA_CN, organization: TESTBED_ORGANIZATION },
    issuer: root,
    // pathLen 0: it may issue leaves only, so a stolen leaf key can never mint a sub-CA.
    basicConstraints: { ca: true, pathLength: 0, critical: true },
  };
}

type LeafOptions = CaOptions;

/**
 * TLS server key usage. ECDSA keys only sign (RFC 8446 §4.4.3). An RSA key also needs
 * keyEncipherment for TLS 1.2 RSA key transport (RFC 5246 §7.4.2), which the `legacy-tls12-cbc`
 * profile may negotiate.
 */
function serverKeyUsage(algorithm: KeyAlgorithm): CertificateProfile['keyUsage'] {
  return algorithm === 'rsa-2048'
    ? { usages: ['digitalSignature', 'keyEncipherment'], critical: true }
    : { usages: ['digitalSignature'], critical: true };
}

/** What every genuine end-entity certificate shares: issued by the intermediate, SHA-256, CA:FALSE. */
function endEntity(intermediate: Issuer, validity: CertificateProfile['validity'], key: KeySpec) {
  return {
    validity,
    key,
    signatureHash: 'SHA-256' as const,
    issuer: intermediate,
    // RFC 5280 §4.2.1.9 lets leaves omit basicConstraints; saying CA:FALSE explicitly (critical)
    // means no validator can be talked into treating a leaf as a CA.
    basicConstraints: { ca: false, critical: true },
  };
}

export function cloudServerProfile(intermediate: Issuer, extraNames: { dns: string[]; ip: string[] }, o: LeafOptions): CertificateProfile {
  return {
    label: 'the cloud server certificate',
    subject: { commonName: CLOUD_CN, organization: TESTBED_ORGANIZATION, organizationalUnit: 'cloud' },
    subjectAltNames: {
      dns: unique([...CLOUD_DNS_NAMES, ...extraNames.dns]),
      ip: unique([...LOOPBACK_IPS, ...extraNames.ip]),
    },
    ...endEntity(intermediate, o.validity, keySpecFor(o.algorithm)),
    keyUsage: serverKeyUsage(o.algorithm),
    extendedKeyUsage: { usages: ['serverAuth'], critical: false },
  };
}

export function gatewayProfile(intermediate: Issuer, gatewayName: string, o: LeafOptions): CertificateProfile {
  return {
    label: `the ${gatewayName} gateway certificate`,
    subject: { commonName: gatewayName, organization: TESTBED_ORGANIZATION, organizationalUnit: 'gateway' },
    subjectAltNames: { dns: unique([...GATEWAY_DNS_NAMES, gatewayName]), ip: [...LOOPBACK_IPS] },
    ...endEntity(intermediate, o.validity, keySpecFor(o.algorithm)),
    keyUsage: serverKeyUsage(o.algorithm),
    // Both: the gateway terminates the devices' TLS/DTLS as a server and opens the upstream
    // mTLS connection to the cloud broker as a client.
    extendedKeyUsage: { usages: ['serverAuth', 'clientAuth'], critical: false },
  };
}

export function wearableProfile(intermediate: Issuer, deviceId: string, o: { validity: CertificateProfile['validity'] }): CertificateProfile {
  return {
    label: `the ${deviceId} device certificate`,
    subject: { commonName: deviceId, organization: TESTBED_ORGANIZATION, organizationalUnit: 'wearable' },
    // Always P-256, whatever the server algorithm: the source chapter's device holds one P-256
    // key in an ATECC608B secure element and uses it both to sign (ECDSA, mTLS client auth) and
    // for ECDH with the cloud key (E3 key agreement). Hence digitalSignature + keyAgreement
    // (RFC 5480 §3 allows both on an id-ecPublicKey certificate).
    ...endEntity(intermediate, o.validity, { kind: 'ec', curve: 'P-256' }),
    keyUsage: { usages: ['digitalSignature', 'keyAgreement'], critical: true },
    extendedKeyUsage: { usages: ['clientAuth'], critical: false },
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
