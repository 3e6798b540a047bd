/**
 * What the in-process placements (TLS and DTLS paths) share: routing an observation query to a
 * common role, and stopping the roles in order before closing the evidence files.
 */
import type { KeyLog } from '../capture/keylog.ts';
import type { PcapWriter } from '../capture/pcap-writer.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { CaptureFile, RoleName } from './topology.ts';

interface Logged {
  readonly log: { all(): readonly Observation[] };
}
interface Stoppable {
  stop(): Promise<unknown>;
}

/** Observations of the roles every loopback topology has; `undefined` for a role it must route itself. */
export function commonObservations(
  role: RoleName,
  parts: { broker?: Logged | undefined; service?: Logged | undefined; wearable: (deviceId: string) => Logged; links: ReadonlyMap<string, Logged> },
): readonly Observation[] | undefined {
  if (role === 'cloud-broker') {
    if (!parts.broker) throw new Error('topology: not started');
    return parts.broker.log.all();
  }
  if (role === 'cloud-service') return parts.service?.log.all() ?? [];
  if (role.startsWith('wearable:')) return parts.wearable(role.slice('wearable:'.length)).log.all();
  if (role.startsWith('link:')) {
    const name = role.slice('link:'.length);
    const link = parts.links.get(name);
    if (!link) throw new Error(`topology: no link "${name}"; links: ${[...parts.links.keys()].join(', ')}`);
    return link.log.all();
  }
  return undefined;
}

/**
 * Stop every role even if one of them throws (devices first, the broker last), then close the
 * captures and the key log, so the evidence is complete on disk.
 */
export async function stopLoopback(parts: {
  wearables: Iterable<Stoppable>;
  middle: readonly (Stoppable | undefined)[];
  links: Iterable<Stoppable>;
  broker?: Stoppable | undefined;
  captures: readonly { link: string; writer: PcapWriter }[];
  keyLog?: KeyLog | undefined;
}): Promise<CaptureFile[]> {
  await Promise.allSettled([...parts.wearables].map((w) => w.stop()));
  await Promise.allSettled(parts.middle.map((r) => r?.stop()));
  await Promise.allSettled([...parts.links].map((l) => l.stop()));
  await Promise.allSettled([parts.broker?.stop()]);
  const captures: CaptureFile[] = [];
  for (const { link, writer } of parts.captures) {
    await writer.close();
    captures.push({ link, path: writer.path });
  }
  await parts.keyLog?.close();
  return captures;
}
