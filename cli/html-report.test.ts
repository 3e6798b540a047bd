/**
 * The HTML report as a person sees it: a fixture suite attaches a chart and skips a scenario
 * with its reason, Cucumber writes the HTML and JUnit reports, and Debian's Chromium opens the
 * HTML. Every picture must decode (a picture attached as text shows as a broken-image box), the
 * skip reason must be on the page and in the JUnit <skipped message>. A screenshot is left in
 * the test's directory for whoever wants to look.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { chromium } from 'playwright-core';
import { addSkipReasons } from './junit-skip-reasons.ts';
import { writeRunSummary } from './run-summary.ts';
import { skipForMissingTool } from './prerequisites.ts';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = join(import.meta.dirname, 'test-fixtures', 'report');

test('the HTML report shows attached charts as pictures and a skipped scenario with its reason', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(skipForMissingTool('chromium is missing (the report test opens the HTML report in it); install it with: apt-get install -y chromium, or npm run setup as root'));
  const dir = mkdtempSync(join(tmpdir(), 'tb-report-'));
  const html = join(dir, 'report.html');
  const junit = join(dir, 'junit.xml');
  const ndjson = join(dir, 'messages.ndjson');
  const { runConfiguration } = await loadConfiguration({
    file: false, // the fixture only: not the project's cucumber.json and its whole suite
    provided: { paths: [join(FIXTURE, '*.feature')], import: [join(FIXTURE, '*.steps.ts')], format: [`html:${html}`, `junit:${junit}`, `message:${ndjson}`], strict: false },
  }, { cwd: process.cwd() });
  await runCucumber(runConfiguration, { cwd: process.cwd(), stdout: process.stderr, stderr: process.stderr });
  addSkipReasons(junit, ndjson);
  assert.match(readFileSync(junit, 'utf8'), /<skipped message="the containers placement cannot realize recipe &quot;fixture&quot;: a fixture reason"\/>/);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    await page.goto(`file://${html}`);
    await page.getByText('a chart is attached', { exact: false }).first().waitFor({ timeout: 15_000 });
    // Expand every scenario and attachment, as a reader clicking through would.
    await page.locator('details').evaluateAll((all) => all.forEach((d) => ((d as unknown as { open: boolean }).open = true)));
    await page.locator('img').first().waitFor({ state: 'visible', timeout: 5_000 }).catch(() => undefined);
    const images = await page.locator('img').evaluateAll((imgs) => (imgs as unknown as { src: string; complete: boolean; naturalWidth: number }[]).map((i) => ({ src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0 })));
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    assert.ok(images.some((i) => i.src.startsWith('data:image/svg+xml')), `the report shows no SVG picture (images: ${JSON.stringify(images)}); screenshot: ${join(dir, 'report.png')}`);
    assert.deepEqual(images.filter((i) => !i.ok), [], `pictures that do not decode (broken-image boxes); screenshot: ${join(dir, 'report.png')}`);
    assert.ok(await page.getByText('a fixture reason', { exact: false }).count() > 0, 'the skip reason is not on the page');

    const summary = writeRunSummary(dir, ndjson, 'local');
    assert.ok(summary, 'no summary page was written');
    await page.goto(`file://${summary}`);
    await page.locator('img').first().waitFor({ state: 'visible', timeout: 5_000 });
    const pictures = await page.locator('img').evaluateAll((imgs) => (imgs as unknown as { alt: string; complete: boolean; naturalWidth: number }[]).map((i) => ({ alt: i.alt, ok: i.complete && i.naturalWidth > 0 })));
    await page.screenshot({ path: join(dir, 'summary.png'), fullPage: true });
    assert.deepEqual(pictures.map((p) => p.alt), ['chart.svg'], `the summary page does not show the attached chart; screenshot: ${join(dir, 'summary.png')}`);
    assert.deepEqual(pictures.filter((p) => !p.ok), [], `pictures on the summary page that do not decode; screenshot: ${join(dir, 'summary.png')}`);
    const cells = await page.locator('table.matrix td.blocked, table.matrix td.intercepted').evaluateAll((tds) => tds.map((td) => ({ text: (td as unknown as { innerText: string }).innerText, title: (td as unknown as { title: string }).title })));
    assert.equal(cells.length, 1, `the forged-certificate grid has ${cells.length} cells, expected 1; screenshot: ${join(dir, 'summary.png')}`);
    assert.match(cells[0]?.text ?? '', /blocked/);
    assert.match(cells[0]?.title ?? '', /self-signed certificate/, 'the client\'s reason is not on the cell (title)');
    assert.ok(await page.getByText('a fixture reason', { exact: false }).count() > 0, 'the skip reason is not in the summary page\'s scenario list');
  } finally {
    await browser.close();
  }
});
