/**
 * What a standing broker of a policy offers, as `up` prints it beside the broker's endpoint: the
 * protocol versions its broker kind can really be told (Mosquitto 2.0's `tls_version` is a
 * minimum from TLS 1.1, so its `legacy` starts there; Aedes on node:tls takes TLS 1.0) and the
 * policy's suites in one phrase (emulators/tls-server-policy.ts; RFC 9325 §4.1-4.2).
 */
import { serverPolicy, type TlsServerPolicy } from '../emulators/tls-server-policy.ts';
import type { BrokerKind } from '../topology/graph.ts';

const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

export interface BrokerPolicyOffer {
  readonly policy: TlsServerPolicy['name'];
  /** Node's / OpenSSL's version names, lowest first. */
  readonly versions: readonly string[];
  readonly suites: string;
}

export function brokerPolicyOffer(policyName: string, broker: BrokerKind): BrokerPolicyOffer {
  const policy = serverPolicy(policyName);
  const lowest = broker === 'mosquitto' && policy.minVersion === 'TLSv1' ? 'TLSv1.1' : policy.minVersion;
  const versions = VERSIONS.slice(VERSIONS.indexOf(lowest as (typeof VERSIONS)[number]), VERSIONS.indexOf(policy.maxVersion as (typeof VERSIONS)[number]) + 1);
  const cbc = /-SHA(?::|$)/.test(policy.ciphers);
  const suites = versions.length === 1 && versions[0] === 'TLSv1.3' ? 'TLS 1.3 AEAD suites only' : cbc ? `ECDHE+AEAD and CBC suites${broker === 'aedes' ? ' incl. RSA key transport' : ''}` : 'ECDHE with AEAD suites only';
  return { policy: policy.name, versions, suites };
}

export function offerPhrase(o: BrokerPolicyOffer): string {
  return `policy ${o.policy}: ${o.versions.join(', ')}; ${o.suites}`;
}
