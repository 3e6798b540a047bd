/**
 * The entry of a fleet shard hosted apart from the broker (topology/fleet-shard-thread.ts): a
 * worker thread (its parentPort) or a forked process (its IPC channel), whichever started it.
 * It serves the shard's routes (emulators/fleet/fleet-shard-routes.ts) to the host as messages:
 *
 *   host → shard  {spec}                   build the Fleet; answers {ready: true} or {fatal}
 *                 {id, route, body}        answers {id, result} or {id, error} (one line)
 *                 {id, route: 'stop'}      stops every device; answers {id, result: null}
 */
import { parentPort } from 'node:worker_threads';
import { fleetShard, type FleetShard, type FleetShardSpec } from '../emulators/fleet/fleet-shard-routes.ts';

export type ShardRequest = { readonly spec: FleetShardSpec } | { readonly id: number; readonly route: string; readonly body: Record<string, unknown> };
export type ShardReply = { readonly ready: true } | { readonly fatal: string } | { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

const send = (m: ShardReply): void => {
  if (parentPort) parentPort.postMessage(m);
  else if (process.send) process.send(m);
};

let shard: FleetShard | undefined;

/** A thrown value's one line, whatever was thrown (an empty message would reach the host as nothing). */
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)) || 'failed without a message';

function handle(m: ShardRequest): void {
  if ('spec' in m) {
    try {
      shard = fleetShard(m.spec);
      send({ ready: true });
    } catch (err) {
      send({ fatal: messageOf(err) });
    }
    return;
  }
  const { id, route, body } = m;
  if (route === 'stop') {
    shard?.stop();
    send({ id, result: null });
    return;
  }
  const serve = shard?.routes[route];
  if (!serve) {
    send({ id, error: shard ? `fleet shard: no route "${route}" (it serves ${Object.keys(shard.routes).join(', ')})` : 'fleet shard: asked before its spec arrived' });
    return;
  }
  serve(body).then(
    (result) => send({ id, result }),
    (err: unknown) => send({ id, error: messageOf(err) }),
  );
}

if (parentPort) parentPort.on('message', handle);
else if (process.send) {
  process.on('message', (m) => handle(m as ShardRequest));
  // A host that died leaves no shard behind: the IPC channel closing ends this process.
  process.on('disconnect', () => process.exit(0));
}
else {
  console.error('fleet-shard-worker: start it through topology/fleet-shard-thread.ts (a worker thread or a forked process), not directly');
  process.exit(2);
}
