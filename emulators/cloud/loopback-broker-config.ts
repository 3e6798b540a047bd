/**
 * A local cloud broker's options from a run's PKI: on loopback, on a port the kernel picks,
 * presenting the cloud's server certificate chain and key. The rigs and tests that stand up a
 * CloudBroker in-process start here (the benchmarks build theirs inline).
 *
 * What decides who gets in stays with the caller, in plain sight: the client CAs
 * (`clientCaPem`), the topic each identity owns, the TLS policy, and the listeners that take a
 * password instead of a certificate (`plainPort`, `passwordTlsPort`, `fleetAccount`: the pitfalls
 * the plaintext and hard-coded-credentials scenarios show). The mutual-TLS listener itself always
 * requests a client certificate and refuses a handshake without a valid one (cloud-broker.ts start).
 */
import type { CloudBrokerConfig } from './cloud-broker.ts';

/** The cloud's server certificate as a run's PKI holds it (`Pki.cloud`): the leaf and its intermediate, and the key. */
export interface CloudServerCredential {
  readonly chainPem: string;
  readonly keyPem: string;
}

/** Everything of CloudBrokerConfig but where it listens and which certificate it presents. */
export type CloudBrokerPolicy = Omit<CloudBrokerConfig, 'host' | 'port' | 'serverCertChainPem' | 'serverKeyPem'>;

export function loopbackBrokerConfig(server: CloudServerCredential, policy: CloudBrokerPolicy): CloudBrokerConfig {
  // The fixed fields last: a policy object carrying its own host or port cannot move the broker off loopback.
  return { ...policy, host: '127.0.0.1', port: 0, serverCertChainPem: server.chainPem, serverKeyPem: server.keyPem };
}
