/**
 * `testbed tail audit`: follow the cloud's audit log as entries arrive (both placements write
 * it to the run directory, one JSON line per E3 packet). Bounded by --count N, --timeout S or Ctrl-C.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from '../main.ts';
import { liveUpState } from '../up-state.ts';
import { parseOptions } from './options.ts';
import { TAIL_CAPTURE_USAGE, tailCapture } from './tail-capture.ts';

/** One audit entry as an analyst reads it. */
export function auditLine(json: string): string {
  const e = JSON.parse(json) as { at?: number; verdict?: string; reason?: string; deviceId?: string; sequence?: string; deliveredBy?: string; topic?: string; reading?: { heartRateBpm?: number; spo2Percent?: number } };
  const when = typeof e.at === 'number' ? new Date(e.at).toISOString().slice(11, 23) : '?';
  const what = e.verdict === 'accepted' ? `accepted ${e.deviceId ?? '?'} seq ${e.sequence ?? '?'}${e.reading ? ` hr ${e.reading.heartRateBpm} spo2 ${e.reading.spo2Percent}` : ''}` : `REJECTED (${e.reason ?? '?'})${e.deviceId ? ` ${e.deviceId}` : ''}`;
  return `${when}  ${what}  delivered by ${e.deliveredBy ?? '?'} on ${e.topic ?? '?'}`;
}

/** Follow `file` from its start, calling `onLine` per complete line, until `count` lines, the deadline or `stop()`. */
export async function followLines(file: string, onLine: (line: string) => void, o: { count?: number; deadlineMs?: number; signal?: AbortSignal; pollMs?: number }): Promise<number> {
  let offset = 0;
  let partial = '';
  let seen = 0;
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    if (existsSync(file) && statSync(file).size > offset) {
      const fd = openSync(file, 'r');
      try {
        for (let n; (n = readSync(fd, buffer, 0, buffer.length, offset)) > 0; ) {
          offset += n;
          const lines = (partial + buffer.subarray(0, n).toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines.filter((l) => l.trim())) {
            onLine(line);
            seen += 1;
            if (o.count !== undefined && seen >= o.count) return seen;
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    if (o.signal?.aborted || (o.deadlineMs !== undefined && Date.now() >= o.deadlineMs)) return seen;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
  }
}

export const tailCommand: Command = {
  summary: 'follow the cloud\'s audit log of the running graph (or of --run DIR), or stream a link\'s capture as pcapng with its TLS secrets',
  usage: `tail audit [--run DIR] [--count N] [--timeout SECONDS] [--json]\n       testbed ${TAIL_CAPTURE_USAGE}`,
  async run(args) {
    const [what, ...rest] = args;
    if (what === '--help' || what === '-h') {
      console.log(`usage: testbed ${this.usage}\n${this.summary}`);
      return 0;
    }
    if (what === 'capture') return tailCapture(rest);
    if (what !== 'audit') throw new Error(`tail follows "audit" (the cloud's audit log) or "capture LINK" (a link's packets as pcapng), got ${what ? `"${what}"` : 'nothing'}\nusage: testbed ${this.usage}`);
    const { values } = parseOptions('tail', this.usage, rest, { run: { type: 'string' }, count: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean', default: false } });
    const count = values.count === undefined ? undefined : Number(values.count);
    if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 1_000_000)) throw new Error(`--count must be a whole number from 1, got "${values.count}"`);
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0 && timeout <= 86_400)) throw new Error(`--timeout must be seconds from 1 to 86400, got "${values.timeout}"`);
    const dir = values.run ? resolve(values.run) : liveUpState().dir;
    if (values.run && !existsSync(dir)) throw new Error(`--run ${values.run}: no such directory; give a run directory (runs/up/<time> or runs/<time>/scenarios/<n>)`);
    const file = join(dir, 'audit.jsonl');
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once('SIGINT', onInterrupt);
    process.stderr.write(`following ${file}${count ? ` for ${count} entries` : ''} (Ctrl-C to stop)\n`);
    try {
      await followLines(file, (line) => console.log(values.json ? line : auditLine(line)), { ...(count ? { count } : {}), ...(timeout ? { deadlineMs: Date.now() + timeout * 1000 } : {}), signal: controller.signal });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    return 0;
  },
};
