/**
 * An emulated link as a role of its own: links/tcp-link.ts, the same userspace relay the local
 * rig puts between device and broker, with a latency per direction (links/impairments.ts). The
 * capture is taken beside the device by a tcpdump sidecar, not by the relay's tap.
 *
 * A userspace relay cannot delay TCP's own handshake: its kernel answers the device's SYN before
 * the relay sees a connection. The local link only stamps that round trip as delayed in its
 * capture; here the capture is real, so the SYN and the SYN-ACK are really held, each by the
 * one-way delay: iptables hands them to an NFQUEUE queue that link-delay (link-delay/main.go)
 * releases after the delay. This kernel has no tc netem to do it instead.
 *
 *   POST /reset {why}       reset every open connection (RST both ways), as a broker-side drop
 *   GET  /observations      the link's log (connections, closes, resets)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TcpLink } from '../../links/tcp-link.ts';
import { latency, symmetric } from '../../links/impairments.ts';
import { PROJECT_DIR, type TcpLinkRelayRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

const run = promisify(execFile);
export const LINK_DELAY_BINARY = 'link-delay/bin/link-delay';
const QUEUE = '0';

/** The iptables rules that queue the SYN coming in to, and the SYN-ACK going out of, `port`. */
export function handshakeQueueRules(port: number): string[][] {
  return [
    ['-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '--syn', '-j', 'NFQUEUE', '--queue-num', QUEUE],
    ['-A', 'OUTPUT', '-p', 'tcp', '--sport', String(port), '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'NFQUEUE', '--queue-num', QUEUE],
  ];
}

/** Start link-delay and queue the TCP handshake through it; resolves once it is in place. */
async function delayTcpHandshake(port: number, oneWayMs: number): Promise<ChildProcess> {
  const binary = join(PROJECT_DIR, LINK_DELAY_BINARY);
  if (!existsSync(binary)) throw new Error(`tcp-link: ${LINK_DELAY_BINARY} is not built; run link-delay/build.sh`);
  const child = spawn(binary, ['--queue', QUEUE, '--delay-ms', String(oneWayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tcp-link: link-delay did not say "ready" within 5 s')), 5_000);
    child.once('exit', (code) => reject(new Error(`tcp-link: link-delay exited with ${String(code)} before it was ready (it needs CAP_NET_ADMIN)`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('link-delay: ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  for (const rule of handshakeQueueRules(port)) {
    await run('iptables', rule).catch((err: Error) => {
      child.kill();
      throw new Error(`tcp-link: iptables ${rule.join(' ')} failed (${err.message.split('\n')[0]}); the container needs NET_ADMIN`);
    });
  }
  return child;
}

export async function startTcpLinkRelay(config: TcpLinkRelayRole): Promise<ServedRole> {
  const link = new TcpLink({
    name: config.name,
    listen: { host: '0.0.0.0', port: config.listenPort },
    target: config.target,
    impairments: symmetric(latency({ ms: config.oneWayDelayMs })),
  });
  await link.start();
  const delayer = config.oneWayDelayMs > 0 ? await delayTcpHandshake(config.listenPort, config.oneWayDelayMs) : undefined;
  return {
    routes: {
      'POST /reset': async (b) => ({ reset: link.resetConnections(typeof b.why === 'string' ? b.why : 'reset by the test') }),
      'GET /observations': async () => link.log.all(),
    },
    stop: async () => {
      await link.stop();
      delayer?.kill();
    },
  };
}
