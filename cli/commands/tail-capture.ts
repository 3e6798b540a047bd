/**
 * `testbed tail capture LINK`: the link's packets of the running graph as a pcapng stream on
 * stdout, as they arrive, with the run's TLS key log embedded as Decryption Secrets Blocks
 * (capture/live-pcapng.ts), for `testbed tail capture gateway-cloud | wireshark -k -i -`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { liveUpState } from '../up-state.ts';
import { parseOptions } from './options.ts';
import { streamLivePcapng } from '../../capture/live-pcapng.ts';

export const TAIL_CAPTURE_USAGE = 'tail capture LINK [--run DIR] [--count N] [--timeout SECONDS]   (pipe it into wireshark -k -i - or tshark -i -)';

export interface CaptureSource {
  readonly link: string;
  readonly capture: string;
  readonly keyLogFiles: () => readonly string[];
}

/**
 * The capture of `link` in run directory `dir` and every key log the run writes: locally one
 * sslkeys.keylog; in containers one file per role under keylogs/ (read directly: the merged
 * sslkeylog.txt beside them is refreshed only once a second).
 */
export function captureSource(dir: string, link: string): CaptureSource {
  const capturesDir = join(dir, 'captures');
  const links = existsSync(capturesDir) ? readdirSync(capturesDir).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -'.pcap'.length)) : [];
  if (!links.includes(link)) throw new Error(`the run in ${dir} has no capture of link "${link}"; its links: ${links.join(', ') || 'none (is it a run directory?)'}`);
  const keylogs = join(dir, 'keylogs');
  return {
    link,
    capture: join(capturesDir, `${link}.pcap`),
    keyLogFiles: () => [join(dir, 'sslkeys.keylog'), join(dir, 'sslkeylog.txt'), ...(existsSync(keylogs) ? readdirSync(keylogs).sort().map((f) => join(keylogs, f)) : [])],
  };
}

/** Resolves once the chunk is taken; rejects if the reader went away (EPIPE). */
function writerTo(stream: NodeJS.WritableStream): (chunk: Buffer) => Promise<void> {
  return (chunk) => new Promise((resolveWrite, reject) => {
    const ok = stream.write(chunk, (err) => (err ? reject(err) : undefined));
    if (ok) resolveWrite();
    else stream.once('drain', () => resolveWrite());
  });
}

export async function tailCapture(args: string[], out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const [link, ...rest] = args;
  if (!link || link.startsWith('-')) throw new Error(`tail capture takes a link first (e.g. device-gateway or gateway-cloud), got ${link ? `"${link}"` : 'nothing'}\nusage: testbed ${TAIL_CAPTURE_USAGE}`);
  const { values } = parseOptions('tail', TAIL_CAPTURE_USAGE, rest, { run: { type: 'string' }, count: { type: 'string' }, timeout: { type: 'string' } });
  // Binary pcapng on a terminal is noise and can upset it.
  if (out.isTTY) throw new Error('tail capture writes pcapng to stdout: pipe it into wireshark -k -i - or tshark -i -');
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 10_000_000)) throw new Error(`--count must be a whole number of packets from 1, got "${values.count}"`);
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0 && timeout <= 86_400)) throw new Error(`--timeout must be seconds from 1 to 86400, got "${values.timeout}"`);
  const dir = values.run ? resolve(values.run) : liveUpState().dir;
  if (values.run && !existsSync(dir)) throw new Error(`--run ${values.run}: no such directory; give a run directory (runs/up/<time> or runs/<time>/scenarios/<n>)`);
  const source = captureSource(dir, link);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The reader closing the pipe (Wireshark quit) ends the stream quietly.
  let readerGone = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') readerGone = true;
    controller.abort();
  };
  out.on('error', onError);
  process.stderr.write(`streaming ${source.capture} as pcapng with its TLS secrets${count ? ` for ${count} packets` : ''} (Ctrl-C to stop)\n`);
  try {
    const r = await streamLivePcapng({ capture: source.capture, keyLogFiles: source.keyLogFiles, write: writerTo(out), ...(count ? { count } : {}), ...(timeout ? { deadlineMs: Date.now() + timeout * 1000 } : {}), signal: controller.signal });
    process.stderr.write(`tail capture: ${r.packets} packets and ${r.secrets} key-log lines written${readerGone ? ' (the reader closed the pipe)' : ''}\n`);
  } catch (err) {
    if (!readerGone) throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    out.off('error', onError);
  }
  return 0;
}
