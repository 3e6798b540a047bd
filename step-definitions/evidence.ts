/**
 * Evidence an analyst can open from the report: for each scenario, the note with the exact
 * tshark/Wireshark command (the real server ports of its captures, both decode-as options), links
 * to the pcaps and the key log in the run directory, and the key log's text itself, so a pcap
 * downloaded from the report decrypts with what the report holds. Pcaps are linked rather than
 * embedded: embedded, they made the full suite's report 4.2 MB and 5.1 s to open
 * (docs/benchmarks.md, "Report").
 */
import type { World } from '@cucumber/cucumber';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { readPcap, reassembleTcpStreams, udpFlows } from '../capture/pcap-reader.ts';
import { runDirectory } from './run-context.ts';
import { INTERCEPTION_CELL_FILE, INTERCEPTION_CELL_MEDIA_TYPE, type InterceptionCell } from './interception-cell.ts';
import { RUN_LINK } from '../cli/report-files.ts';

export interface EvidenceFiles {
  readonly captures: readonly { readonly link?: string; readonly path: string }[];
  readonly keyLog?: string;
  readonly auditLog?: string;
}

/** Embedding a key log beyond this would grow the report more than it helps; it stays linked. */
const KEY_LOG_EMBED_LIMIT = 256 * 1024;


/** A path inside the run directory as seen from the run directory, or undefined outside it. */
export function inRun(path: string): string | undefined {
  const rel = relative(resolve(runDirectory()), resolve(path));
  return rel.startsWith('..') || rel.startsWith(sep) ? undefined : rel.split(sep).join('/');
}

/** Server ports of a capture: TCP by who answered the SYN, UDP by who received the first datagram. */
export function serverPorts(pcap: string): { tcp: number[]; udp: number[] } {
  const { packets } = readPcap(pcap);
  const tcp = new Set(reassembleTcpStreams(packets).map((s) => s.server.port));
  const udp = new Set(udpFlows(packets).map((f) => f.b.port));
  return { tcp: [...tcp].sort((a, b) => a - b), udp: [...udp].sort((a, b) => a - b) };
}

/**
 * Decode-as options for one capture: TCP ports as TLS carrying MQTT (the links carry MQTT over
 * TLS, RFC 8446 + MQTT 3.1.1 §4.2), UDP ports as DTLS (RFC 6347 / RFC 9147).
 */
export function decodeAsOptions(ports: { tcp: number[]; udp: number[] }): string {
  return [...ports.tcp.flatMap((p) => [`-d tcp.port==${p},tls`, `-d tls.port==${p},mqtt`]), ...ports.udp.map((p) => `-d udp.port==${p},dtls`)].join(' ');
}

/**
 * The note: where the evidence is, and for each capture the full command, from the scenario's
 * directory (so each path is written once), with its real server ports decoded as TLS + MQTT or DTLS.
 */
export function evidenceNote(dir: string, files: EvidenceFiles): string {
  const keyLog = files.keyLog && existsSync(files.keyLog) ? files.keyLog : undefined;
  const here = (p: string): string => (relative(dir, p).startsWith('..') ? p : relative(dir, p));
  const lines = [`evidence directory: ${dir}`, keyLog ? `TLS key log (SSLKEYLOGFILE): ${here(keyLog)} (attached to this step too: a downloaded pcap decrypts with it)` : 'TLS key log: none was written for this scenario (no TLS session, or the client exports no secrets)'];
  if (files.auditLog && existsSync(files.auditLog)) lines.push(`audit log: ${here(files.auditLog)}`);
  for (const c of files.captures) {
    if (!existsSync(c.path)) continue;
    const decode = decodeAsOptions(serverPorts(c.path));
    const keys = keyLog ? ` -o tls.keylog_file:${here(keyLog)}` : '';
    lines.push(`capture ${c.link ?? basename(c.path, '.pcap')}:`);
    lines.push(`  cd ${dir} && tshark -r ${here(c.path)}${keys}${decode ? ` ${decode}` : ''}`);
    lines.push(`  cd ${dir} && wireshark${keys}${decode ? ` ${decode}` : ''} ${here(c.path)}`);
  }
  return lines.join('\n');
}

/** The note, the links to the pcaps and key log, and the key log's text, on the current step. */
export function attachEvidenceFiles(world: World, dir: string, files: EvidenceFiles): void {
  const present = files.captures.filter((c) => existsSync(c.path));
  const keyLog = files.keyLog && existsSync(files.keyLog) ? files.keyLog : undefined;
  if (present.length === 0 && !keyLog) return;
  world.attach(evidenceNote(dir, files), { mediaType: 'text/plain', fileName: 'evidence.txt' });
  const links = [...present.map((c) => c.path), ...(keyLog ? [keyLog] : [])].map(inRun).filter((p): p is string => p !== undefined);
  if (links.length > 0) world.attach(links.map((p) => `${RUN_LINK}/${p}`).join('\n'), { mediaType: 'text/uri-list', fileName: 'evidence links' });
  if (keyLog && statSync(keyLog).size > 0 && statSync(keyLog).size <= KEY_LOG_EMBED_LIMIT) {
    world.attach(readFileSync(keyLog, 'latin1'), { mediaType: 'text/plain', fileName: 'sslkeys.keylog' });
  }
}

/** The matrix cell, as structured data for the run summary page. */
export function attachInterceptionCell(world: World, cell: InterceptionCell): void {
  world.attach(JSON.stringify(cell), { mediaType: INTERCEPTION_CELL_MEDIA_TYPE, fileName: INTERCEPTION_CELL_FILE });
}
