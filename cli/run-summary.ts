/**
 * The run summary page, runs/<time>/index.html, built after a run from Cucumber's messages: the
 * forged-certificate matrices as grids (forged case × client, each cell what was observed, the
 * client's reason on hover, linked to that scenario's capture and key log), every picture the
 * scenarios attached (ladders, policy tables, fleet charts), and the scenario list with status
 * and reason. One self-contained file: inline style, pictures as data: URLs, no script, no
 * external resource; evidence links are relative, into the run directory beside it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, scenarioRuns, type ScenarioRun } from './run-messages.ts';
import { INTERCEPTION_CELL_FILE, type InterceptionCell } from '../step-definitions/interception-cell.ts';
import { RUN_LINK } from './report-files.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Cell extends InterceptionCell {
  readonly scenario: ScenarioRun;
}

export interface Matrix {
  readonly feature: string;
  readonly cases: string[];
  readonly clients: string[];
  readonly cells: Map<string, Cell>;
}

const cellKey = (forgedCase: string, client: string): string => `${forgedCase}\u0000${client}`;

/** One grid per feature whose scenarios attached interception cells, in the order rows first ran. */
export function matricesOf(runs: readonly ScenarioRun[]): Matrix[] {
  const byFeature = new Map<string, Matrix>();
  for (const run of runs) {
    for (const a of run.attachments) {
      if (a.fileName !== INTERCEPTION_CELL_FILE) continue;
      let cell: InterceptionCell;
      try {
        cell = JSON.parse(a.base64 ? Buffer.from(a.body, 'base64').toString('utf8') : a.body) as InterceptionCell;
      } catch {
        continue; // not ours after all: a JSON attachment of another step
      }
      let m = byFeature.get(run.featureName);
      if (!m) byFeature.set(run.featureName, (m = { feature: run.featureName, cases: [], clients: [], cells: new Map() }));
      if (!m.cases.includes(cell.forgedCase)) m.cases.push(cell.forgedCase);
      if (!m.clients.includes(cell.client)) m.clients.push(cell.client);
      m.cells.set(cellKey(cell.forgedCase, cell.client), { ...cell, scenario: run });
    }
  }
  return [...byFeature.values()];
}

function matrixHtml(m: Matrix): string {
  const head = `<tr><th>forged certificate ↓ / client →</th>${m.clients.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const rows = m.cases.map((forged) => {
    const cells = m.clients.map((client) => {
      const c = m.cells.get(cellKey(forged, client));
      if (!c) return '<td class="none">—</td>';
      const wrong = c.scenario.status === 'failed' ? ' ✘' : '';
      const links = [c.capture ? `<a href="${esc(c.capture)}">pcap</a>` : '', c.keyLog ? `<a href="${esc(c.keyLog)}">keys</a>` : ''].filter(Boolean).join(' ');
      const title = `${c.scenario.name}\n${c.observed}: ${c.reason}${wrong ? `\nthe scenario failed: ${c.scenario.failures[0]?.message ?? ''}` : ''}`;
      return `<td class="${c.observed}${wrong ? ' failed' : ''}" title="${esc(title)}">${c.observed}${wrong}<br><small>${links}</small></td>`;
    });
    return `<tr><th>${esc(forged)}</th>${cells.join('')}</tr>`;
  });
  const counts = [...m.cells.values()].reduce((n, c) => ({ ...n, [c.observed]: (n[c.observed] ?? 0) + 1 }), {} as Record<string, number>);
  return `<section><h3>${esc(m.feature)}</h3><p>${m.cells.size} cells: ${counts.blocked ?? 0} blocked, ${counts.intercepted ?? 0} intercepted (hover a cell for the client's reason)</p><table class="matrix">${head}${rows.join('')}</table></section>`;
}

function picturesHtml(runs: readonly ScenarioRun[]): string {
  const parts: string[] = [];
  for (const run of runs) {
    const svgs = run.attachments.filter((a) => a.mediaType === 'image/svg+xml');
    if (svgs.length === 0) continue;
    const imgs = svgs.map((a) => `<figure><img alt="${esc(a.fileName ?? 'picture')}" src="data:image/svg+xml;base64,${a.base64 ? a.body : Buffer.from(a.body, 'utf8').toString('base64')}"><figcaption>${esc(a.fileName ?? '')}</figcaption></figure>`);
    parts.push(`<section><h3>${esc(run.name)}</h3><p class="feature">${esc(run.featureName)}</p>${imgs.join('')}</section>`);
  }
  return parts.length > 0 ? parts.join('') : '<p>No scenario in this run attached a picture.</p>';
}

/** Evidence links a scenario attached (text/uri-list, relative to the report directory), made relative to the run directory. */
function evidenceLinks(run: ScenarioRun): string {
  const prefix = `${RUN_LINK}/`;
  const links = run.attachments.filter((a) => a.mediaType === 'text/uri-list').flatMap((a) => (a.base64 ? Buffer.from(a.body, 'base64').toString('utf8') : a.body).split('\n')).filter(Boolean);
  return links.map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l)).map((l) => `<a href="${esc(l)}">${esc(l.split('/').at(-1) ?? l)}</a>`).join(' ');
}

function scenarioListHtml(runs: readonly ScenarioRun[]): string {
  const rows = runs.map((r, i) => {
    const why = r.skipReason ?? (r.failures[0] ? `${r.failures[0].step}: ${firstLine(r.failures[0].message)}` : '');
    return `<tr class="${r.status}"><td>${i + 1}</td><td>${r.status}</td><td>${esc(r.featureName)}</td><td>${esc(r.name)}</td><td>${esc(why)}</td><td>${evidenceLinks(r)}</td><td>${(r.durationMs / 1000).toFixed(1)} s</td></tr>`;
  });
  return `<table class="list"><tr><th>#</th><th>status</th><th>feature</th><th>scenario</th><th>reason</th><th>evidence</th><th>time</th></tr>${rows.join('')}</table>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
table.matrix td{text-align:center;min-width:6em}td.blocked{background:#d8f0d8}td.intercepted{background:#f7d4d4}td.failed{outline:3px solid #c00}td.none{color:#999}
tr.failed td{background:#fbe3e3}tr.skipped td{color:#666}figure{display:inline-block;margin:.5em;vertical-align:top}figure img{max-width:100%;border:1px solid #eee}
p.feature{color:#666;margin-top:-.6em}small a{margin:0 .2em}`;

export function summaryHtml(runs: readonly ScenarioRun[], meta: { runDir: string; topology: string; reports: string }): string {
  const count = (s: string): number => runs.filter((r) => r.status === s).length;
  const others = runs.length - count('passed') - count('failed') - count('skipped');
  const matrices = matricesOf(runs);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>testbed run ${esc(meta.runDir)}</title><style>${STYLE}</style></head><body>
<h1>Run summary — ${esc(meta.topology)} topology</h1>
<p>${runs.length} scenarios: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped${others ? `, ${others} other (undefined, pending or ambiguous)` : ''}. Evidence in <code>${esc(meta.runDir)}</code>; the full Cucumber report: <a href="${esc(meta.reports)}/cucumber-report.html">${esc(meta.reports)}/cucumber-report.html</a>.</p>
<h2>Forged-certificate matrices</h2>${matrices.length > 0 ? matrices.map(matrixHtml).join('') : '<p>No forged-certificate scenario ran.</p>'}
<h2>Pictures</h2>${picturesHtml(runs)}
<h2>Scenarios</h2>${scenarioListHtml(runs)}
</body></html>
`;
}

/** Write runs/<time>/index.html from the run's messages (atomically); its path, or undefined without messages. */
export function writeRunSummary(runDir: string, ndjsonPath: string, topology: string): string | undefined {
  if (!existsSync(ndjsonPath)) return undefined;
  const path = join(runDir, 'index.html');
  const temp = join(runDir, '.partial-index.html');
  writeFileSync(temp, summaryHtml(scenarioRuns(readFileSync(ndjsonPath, 'utf8')), { runDir, topology, reports: 'reports' }));
  renameSync(temp, path);
  return path;
}
