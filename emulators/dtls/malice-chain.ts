/**
 * Runs a gateway's malice objects (gateway-malice.ts) over one E3 packet that a DTLS-terminating
 * node read in the clear. The same attack objects as on the MQTT path, so a scenario can say
 * "tampers with reading 5" whichever transport the device uses.
 */
import type { GatewayMalice, MaliceContext, PublishVerdict } from '../gateway-malice.ts';

export interface MaliceOutcome {
  readonly verdict: PublishVerdict;
  /** Extra copies the malice asked to send after this packet. */
  readonly injected: readonly Uint8Array[];
}

export function runMalice(malice: readonly GatewayMalice[], index: number, topic: string, payload: Uint8Array, note: MaliceContext['note']): MaliceOutcome {
  const injected: Uint8Array[] = [];
  const ctx: MaliceContext = { inject: (_topic, p) => injected.push(Uint8Array.from(p)), note };
  let verdict: PublishVerdict = { action: 'forward', payload };
  for (const m of malice) {
    if (verdict.action === 'drop' || !m.onPublish) continue;
    verdict = m.onPublish({ index, topic, payload: verdict.payload }, ctx);
  }
  return { verdict, injected };
}
