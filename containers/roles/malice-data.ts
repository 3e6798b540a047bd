/** A gateway's malice rebuilt from the data in a role config (role-config.ts validates it first). */
import { delay, downgrade, drop, reorder, replay, sniff, tamper, type GatewayMalice } from '../../emulators/gateway-malice.ts';
import type { GatewayRole } from '../role-config.ts';
import { commandMaliceFromData } from '../../emulators/command-malice.ts';

export function maliceFromData(data: GatewayRole['malice'][number]): GatewayMalice {
  const o = data.options as { packets: number[]; byteOffset?: number; bit?: number; copies?: number };
  if (data.name === 'sniff') return sniff();
  if (data.name === 'tamper') return tamper(o);
  if (data.name === 'replay') return replay(o);
  if (data.name === 'drop') return drop(o);
  if (data.name === 'delay') return delay(data.options as { packets: number[]; heldSeconds: number; speedup: number });
  if (data.name === 'reorder') return reorder(o);
  if (data.name === 'downgrade') return downgrade();
  const command = commandMaliceFromData(data);
  if (command) return command;
  throw new Error(`role-runner: unknown gateway malice "${data.name}"; known: sniff, tamper, replay, drop, delay, reorder, downgrade`);
}
