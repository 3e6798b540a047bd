/**
 * A wearable fleet served over the control socket (role-runner.ts): the TLS fleet and the DTLS
 * fleet (dtls-roles.ts) answer the same routes with the same observation shapes.
 *
 *   GET  /observations?device=ID     one wearable's log
 *   POST /report {deviceId, count}   connect if needed, report, return the reading-sent observations
 *   POST /settled {timeoutMs}        wait until every reading is acknowledged
 */
import type { Observation } from '../../emulators/observation-log.ts';
import type { ServedRole } from './resumption-device.ts';

export interface FleetWearable {
  readonly log: { all(): readonly Observation[]; ofKind(kind: 'reading-sent'): readonly Observation[] };
  connect(): Promise<void>;
  report(count: number): Promise<void>;
  settled(timeoutMs: number): Promise<void>;
  stop(): Promise<unknown>;
}

export function fleetRole<W extends FleetWearable>(fleet: ReadonlyMap<string, W>, isConnected: (w: W) => boolean, notFound: (message: string) => Error = (m) => new Error(m)): ServedRole {
  const wearable = (id: unknown): W => {
    const w = typeof id === 'string' ? fleet.get(id) : undefined;
    if (!w) throw notFound(`no wearable ${JSON.stringify(id)}; this fleet has ${[...fleet.keys()].join(', ')}`);
    return w;
  };
  return {
    routes: {
      'GET /observations': async (_b, q) => wearable(q.get('device')).log.all(),
      'POST /report': async (b) => {
        const w = wearable(b.deviceId);
        if (!isConnected(w)) await w.connect();
        const before = w.log.ofKind('reading-sent').length;
        await w.report(Number(b.count));
        return w.log.ofKind('reading-sent').slice(before);
      },
      'POST /settled': async (b) => {
        const deadline = Date.now() + Number(b.timeoutMs ?? 10_000);
        for (const w of fleet.values()) await w.settled(Math.max(1, deadline - Date.now()));
        return { settled: true };
      },
    },
    stop: async () => {
      await Promise.allSettled([...fleet.values()].map((w) => w.stop()));
    },
  };
}
