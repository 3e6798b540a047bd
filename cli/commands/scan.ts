/**
 * `testbed scan firmware PATH… [--json]`: the secrets embedded in firmware images (passwords,
 * API keys, PEM and DER private keys, certificates, high-entropy strings), each with file, offset
 * and kind, and the credentials several images share (source chapter §17.5, "How to diagnose").
 */
import { parseArgs } from 'node:util';
import { scanFiles, type FleetScan } from '../../firmware/scan-files.ts';
import type { Command } from '../main.ts';

const USAGE = 'scan firmware PATH… [--json]';

function table(result: FleetScan): string {
  const lines: string[] = [];
  const rows = result.scans.flatMap((s) => s.findings.map((f) => [s.file, `0x${f.offset.toString(16).padStart(6, '0')}`, f.kind, f.label, f.preview, f.fingerprint.slice(0, 16)]));
  const head = ['file', 'offset', 'kind', 'what', 'preview', 'fingerprint'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))));
  const fmt = (r: readonly string[]) => r.map((c, i) => c.slice(0, widths[i]).padEnd(widths[i] as number)).join('  ').trimEnd();
  if (rows.length > 0) lines.push(fmt(head), ...rows.map(fmt));
  const total = result.scans.reduce((n, s) => n + s.findings.length, 0);
  lines.push('', `${total} finding(s) in ${result.scans.length} image(s)${result.problems.length ? `; ${result.problems.length} path(s) not scanned` : ''}`);
  if (result.shared.length > 0) {
    lines.push('', 'Credentials shared by several images (one leaked image exposes them all):');
    for (const g of result.shared) lines.push(`  ${g.kind} "${g.label}" (fingerprint ${g.fingerprint.slice(0, 16)}) in ${g.holders.length} of ${result.scans.length} images`);
  } else if (result.scans.length > 1) {
    lines.push('', 'No credential is shared by two images.');
  }
  return lines.join('\n');
}

export const scanCommand: Command = {
  summary: 'find secrets embedded in firmware images and credentials shared across a fleet',
  usage: USAGE,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nusage: testbed ${USAGE}`, { cause: err });
    }
    const [what, ...paths] = parsed.positionals;
    if (parsed.values.help) {
      console.log(`usage: testbed ${USAGE}\n${this.summary}\nExit status: 0 all paths scanned, 1 some path could not be scanned, 2 usage error.`);
      return 0;
    }
    if (what !== 'firmware') {
      console.error(`testbed scan: ${what === undefined ? 'say what to scan' : `unknown target "${what}"`}; usage: testbed ${USAGE}`);
      return 2;
    }
    if (paths.length === 0) {
      console.error(`testbed scan firmware: no image given; usage: testbed ${USAGE}`);
      return 2;
    }
    const result = scanFiles(paths);
    for (const p of result.problems) console.error(`testbed scan firmware: ${p}`);
    if (parsed.values.json) {
      console.log(JSON.stringify({ images: result.scans, shared: result.shared, problems: result.problems }, null, 2));
    } else {
      console.log(table(result));
    }
    return result.problems.length > 0 ? 1 : 0;
  },
};
