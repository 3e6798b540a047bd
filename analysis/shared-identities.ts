/**
 * Identities a broker admitted for several clients at the same time, read from the broker's own
 * records (Aedes: emulators/cloud/cloud-broker.ts; Mosquitto: its log, parsed by
 * containers/cloud-broker-container.ts): each accepted CONNECT names the client id and the
 * identity the broker took (certificate CN, or the username of a password login), each
 * disconnect the client id. One identity held by several live clients is either a fleet sharing
 * one credential or a cloned device (source chapter §17.5: "All devices share identical
 * credentials"), and the broker is the one place that sees it.
 */
import type { Observation } from '../emulators/observation-log.ts';

export interface SharedIdentity {
  readonly identity: string;
  /** The most clients connected at once under this identity. */
  readonly most: number;
  /** The client ids connected at that moment. */
  readonly clientIds: readonly string[];
}

export function sharedIdentities(records: readonly Observation[]): SharedIdentity[] {
  const live = new Map<string, Set<string>>();
  const identityOf = new Map<string, string>();
  const most = new Map<string, string[]>();
  for (const r of records) {
    const clientId = typeof r.detail.clientId === 'string' ? r.detail.clientId : undefined;
    if (!clientId) continue;
    if (r.kind === 'mqtt-connect' && r.detail.accepted === true && typeof r.detail.identity === 'string') {
      // A client id that connects again replaces its old session (MQTT 3.1.1 §3.1.4).
      const before = identityOf.get(clientId);
      if (before) live.get(before)?.delete(clientId);
      identityOf.set(clientId, r.detail.identity);
      const set = live.get(r.detail.identity) ?? new Set<string>();
      set.add(clientId);
      live.set(r.detail.identity, set);
      if (set.size > (most.get(r.detail.identity)?.length ?? 0)) most.set(r.detail.identity, [...set].sort());
    } else if (r.kind === 'client-disconnect') {
      const identity = identityOf.get(clientId);
      if (identity) live.get(identity)?.delete(clientId);
      identityOf.delete(clientId);
    }
  }
  return [...most].filter(([, ids]) => ids.length > 1).map(([identity, clientIds]) => ({ identity, most: clientIds.length, clientIds })).sort((a, b) => b.most - a.most);
}
