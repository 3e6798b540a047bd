/**
 * A local cloud broker's options from a run's PKI: on loopback, on a port the kernel picks,
 * presenting the cloud's server certificate chain and key. Every rig and test that stands up a
 * CloudBroker in-process starts here.
 *
 * What decides who gets in stays with the caller, in plain sight: the client CAs
 * (`clientCaPem`), the topic each identity owns, the TLS policy. Mutual TLS itself is not an
 * option: CloudBroker always requests a client certificate and refuses a handshake without a
 * valid one (cloud-broker.ts start).
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
  return { host: '127.0.0.1', port: 0, serverCertChainPem: server.chainPem, serverKeyPem: server.keyPem, ...policy };
}
