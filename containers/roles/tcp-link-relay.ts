/**
 * An emulated link as a role of its own: links/tcp-link.ts, the same userspace relay the local
 * rig puts between device and broker, with a latency per direction (links/impairments.ts). The
 * kernel here has no tc netem, so the delay is the relay's; the capture is taken beside the
 * device by a tcpdump sidecar, not by the relay's tap.
 *
 *   POST /reset {why}       reset every open connection (RST both ways), as a broker-side drop
 *   GET  /observations      the link's log (connections, closes, resets)
 */
import { TcpLink } from '../../links/tcp-link.ts';
import { latency, symmetric } from '../../links/impairments.ts';
import type { TcpLinkRelayRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export async function startTcpLinkRelay(config: TcpLinkRelayRole): Promise<ServedRole> {
  const link = new TcpLink({
    name: config.name,
    listen: { host: '0.0.0.0', port: config.listenPort },
    target: config.target,
    impairments: symmetric(latency({ ms: config.oneWayDelayMs })),
  });
  await link.start();
  return {
    routes: {
      'POST /reset': async (b) => ({ reset: link.resetConnections(typeof b.why === 'string' ? b.why : 'reset by the test') }),
      'GET /observations': async () => link.log.all(),
    },
    stop: () => link.stop(),
  };
}
