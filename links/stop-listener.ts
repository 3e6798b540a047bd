/**
 * Stops a TCP (or TLS) listener the way every relay and role here must: destroy the connections
 * it holds first, because `server.close()` only stops accepting and waits for open sockets to end
 * by themselves (a half-open device connection would keep a scenario's teardown waiting forever).
 */
import type { Server, Socket } from 'node:net';

export async function stopListener(server: Server | undefined, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  sockets.clear();
  if (server) await new Promise<void>((r) => server.close(() => r()));
}
