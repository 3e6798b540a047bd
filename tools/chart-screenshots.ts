/**
 * Look at a run's charts as a person would: open the run summary page (runs/<time>/index.html)
 * in headless Chromium, scroll to each chart image and take a screenshot of the window, so the
 * PNGs can be viewed before a chart's wording or drawing is trusted.
 *
 *   node --import tsx tools/chart-screenshots.ts runs/<time>/index.html [OUT_DIR] [NAME_FILTER]
 *
 * OUT_DIR defaults to `screenshots/` beside the page (under runs/, git-ignored); NAME_FILTER keeps
 * the images whose file name contains it (e.g. "fleet").
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** Bounds: a page that never settles or a report with thousands of pictures does not hang us. */
const PAGE_TIMEOUT_MS = 30_000;
const MAX_SHOTS = 60;

function fail(message: string): never {
  process.stderr.write(`chart-screenshots: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [page = '', outArg, filter = ''] = process.argv.slice(2);
  if (!page || !existsSync(page)) fail(`give the run summary page to open, e.g. runs/<time>/index.html${page ? ` (${page} does not exist)` : ''}`);
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing; install it with: apt-get install -y chromium`);
  const out = resolve(outArg ?? join(dirname(page), 'screenshots'));
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  try {
    const tab = await browser.newPage({ viewport: { width: 1000, height: 720 } });
    await tab.goto(pathToFileURL(resolve(page)).href, { timeout: PAGE_TIMEOUT_MS });
    const images = tab.locator('img[alt$=".svg"]');
    const count = Math.min(MAX_SHOTS, await images.count());
    let shots = 0;
    for (let i = 0; i < count; i++) {
      const image = images.nth(i);
      const name = (await image.getAttribute('alt')) ?? `image-${i}`;
      if (!name.includes(filter)) continue;
      await image.scrollIntoViewIfNeeded({ timeout: PAGE_TIMEOUT_MS });
      const file = join(out, `${String(i).padStart(2, '0')}-${name.replace(/\.svg$/, '')}.png`);
      await tab.screenshot({ path: file, timeout: PAGE_TIMEOUT_MS });
      process.stdout.write(`${file}\n`);
      shots++;
    }
    if (shots === 0) process.stderr.write(`chart-screenshots: no chart image${filter ? ` named *${filter}*` : ''} on ${page}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => fail((err as Error).message.split('\n')[0] ?? String(err)));
