// A run's report page, opened from disk as a user opens it: its charts are
// drawn (uPlot, inlined), with no script error and nothing fetched.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, screenshot, startChatlab, workDir } from './lib.mjs';

export const name = 'a report page draws its charts from the file alone';

export async function run(binary) {
  const out = join(workDir, 'report-out');
  const chaos = startChatlab(binary, 'report', ['chaos', '--scenario', 'node-restart', '--seed', '1', '--out', out]);
  const exit = await chaos.exited;
  if (exit.code !== 0) {
    throw new Error(`chatlab chaos exited ${JSON.stringify(exit)}; log:\n${chaos.log()}`);
  }
  const runs = readdirSync(join(out, 'runs'));
  const page = join(out, 'runs', runs[0], 'index.html');
  const browser = await launchBrowser();
  try {
    const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = [];
    tab.on('pageerror', (error) => problems.push(String(error)));
    tab.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    tab.on('request', (request) => !request.url().startsWith('file://') && problems.push(`fetched ${request.url()}`));
    await tab.goto(`file://${page}`);
    await tab.locator('.uchart canvas').nth(2).waitFor({ timeout: 20_000 });
    const charts = await tab.locator('.uchart canvas').count();
    if (charts !== 3) {
      throw new Error(`${charts} charts drawn, want 3`);
    }
    const legend = await tab.locator('.uchart-box').first().locator('.u-legend').innerText();
    if (!/sends \/ s/.test(legend) || !/deliveries \/ s/.test(legend)) {
      throw new Error(`throughput legend: ${legend}`);
    }
    if (problems.length > 0) {
      throw new Error(`the page had problems: ${problems.join('; ')}`);
    }
    await screenshot(tab, 'report');
  } finally {
    await browser.close();
  }
}
