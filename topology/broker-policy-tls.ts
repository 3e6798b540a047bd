/**
 * A standing broker's TLS policy (emulators/tls-server-policy.ts) as node:tls server options for
 * Aedes (the local placement; `testbed up --policy`). Both the cloud's ECDSA certificate and an
 * RSA one are served: TLS 1.2 ECDHE_RSA and RSA key-transport suites need an RSA key (RFC 5246
 * §7.4.2), so what a scanner finds offered is the policy's doing, never a missing key.
 */
import type { TlsOptions } from 'node:tls';
import type { Pki } from '../certs/pki.ts';
import type { CloudBrokerContainer, MosquittoTlsVersion } from '../containers/cloud-broker-container.ts';
import { issueRsaServerCertificate, serverPolicy, tlsServerOptions, type TlsServerPolicyName } from '../emulators/tls-server-policy.ts';

export async function brokerPolicyTls(name: TlsServerPolicyName, pki: Pki): Promise<TlsOptions> {
  return tlsServerOptions(serverPolicy(name), [{ chainPem: pki.cloud.chainPem, keyPem: pki.cloud.keyPem }, await issueRsaServerCertificate(pki)]);
}

/**
 * A policy's lowest version as Mosquitto 2.0's `tls_version` (the minimum it accepts). It has no
 * value for TLS 1.0: the lowest it can be told is TLS 1.1 — what it then really does is probed.
 */
export function mosquittoMinimum(minVersion: string): MosquittoTlsVersion {
  if (minVersion === 'TLSv1.3') return 'tlsv1.3';
  if (minVersion === 'TLSv1.2') return 'tlsv1.2';
  return 'tlsv1.1';
}

/** Mosquitto's listener for a policy: its minimum version and both cipher lists (the containers placement). */
export function withMosquittoPolicy(broker: CloudBrokerContainer, name: TlsServerPolicyName | undefined): CloudBrokerContainer {
  if (!name) return broker;
  const policy = serverPolicy(name);
  return broker.withTlsVersion(mosquittoMinimum(policy.minVersion)).withCiphers(policy.ciphers, policy.ciphersuites);
}
