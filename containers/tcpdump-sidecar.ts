/**
 * A capture sidecar: capture/tcpdump.ts's wrapper, run through `docker run` in a container that
 * shares a role's network namespace (`--network container:<id>`) with NET_RAW, so it sees that
 * role's real interfaces. Readiness is tcpdump's own "listening on"; the wrapper's SIGINT
 * reaches tcpdump through `docker run`'s signal proxy, so the pcap is flushed and complete;
 * the file lands in a mounted directory of the run's evidence and `--rm` removes the sidecar.
 */
import { chmodSync, chownSync } from 'node:fs';
import { Tcpdump } from '../capture/tcpdump.ts';
import { labelArgs } from './run-labels.ts';

export const SIDECAR_CAPTURE_DIR = '/captures';

export interface TcpdumpSidecarOptions {
  readonly image: string;
  readonly runId: string;
  /** The container whose network namespace is captured. */
  readonly target: string;
  /** Host directory the pcap is written to. */
  readonly hostDir: string;
  /** File name of the pcap, e.g. "device-gateway.pcap". */
  readonly file: string;
  /** BPF filter, e.g. "tcp and net 172.20.0.0/16". */
  readonly filter: string;
  readonly readyTimeoutMs?: number;
}

export async function startTcpdumpSidecar(o: TcpdumpSidecarOptions): Promise<Tcpdump> {
  if (!/^[A-Za-z0-9._-]+\.pcap$/.test(o.file)) throw new Error(`tcpdump-sidecar: file "${o.file}" must be a plain name ending in .pcap`);
  const command = ['docker', 'run', '--rm', '--network', `container:${o.target}`, '--cap-add', 'NET_RAW', ...labelArgs(o.runId), '-v', `${o.hostDir}:${SIDECAR_CAPTURE_DIR}`, o.image];
  return Tcpdump.start({ interface: 'any', filter: o.filter, outFile: `${SIDECAR_CAPTURE_DIR}/${o.file}`, command, readyTimeoutMs: o.readyTimeoutMs ?? 15_000, drainMs: 300 });
}

/**
 * After the sidecar stopped: tcpdump drops to its own uid in the sidecar, so hand the pcap back
 * to this process's user, readable by it alone (0600): a capture of plain MQTT holds passwords,
 * and any capture holds what an analyst decrypts with the run's key log.
 */
export function handBackCapture(path: string): void {
  chownSync(path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  chmodSync(path, 0o600);
}
