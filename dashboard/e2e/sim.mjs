// A sim run of node-restart at real pace with the dashboard: the nodes
// appear, n1 goes down when the scenario restarts it, and comes back. On a
// loaded machine the page may load after n1 is back; the event log tells
// the story to a late page too, so the test reads it there and only looks
// for the live down state when the page is on time.
import { Skip, freePort, launchBrowser, screenshot, startChatlab, stopChatlab, waitForHTTP } from './lib.mjs';

// The scenario restarts n1 at 8 s of a 20 s workload; allow for startup.
const seeWaitMs = 40_000;

export const name = 'a sim run of node-restart shows n1 going down and coming back';

export async function run(binary) {
  const port = await freePort();
  const dashboard = `http://127.0.0.1:${port}/`;
  const args = ['chaos', '--scenario', 'node-restart', '--target', 'sim', '--seed', '1', '--dashboard', `127.0.0.1:${port}`, '--pace', '1'];
  // The browser first: it is the slow part to start.
  const browser = await launchBrowser();
  const chaos = startChatlab(binary, 'chaos', args);
  try {
    const exit = await waitForHTTP(dashboard, chaos);
    if (exit) {
      const log = chaos.log();
      if (/dashboard/i.test(log) && (exit.code === 1 || exit.code === 2)) {
        throw new Skip(`chatlab chaos cannot serve the dashboard yet: ${log.trim().split('\n').at(-1)}`);
      }
      throw new Error(`chatlab chaos exited (${JSON.stringify(exit)}) before the dashboard served; log:\n${log}`);
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(dashboard);
    for (const node of ['n1', 'n2', 'n3']) {
      await page.locator(`[data-testid="component-${node}"][data-state="up"]`).waitFor({ timeout: seeWaitMs });
    }
    await screenshot(page, 'sim-nodes-up');
    const log = page.locator('[data-testid="event-log"]');
    const downLine = log.locator('li', { hasText: /n1 is down/ });
    const upLines = log.locator('li', { hasText: /n1 is up/ });
    const n1 = page.locator('[data-testid="component-n1"]');
    await downLine.first().waitFor({ timeout: seeWaitMs });
    if ((await n1.getAttribute('data-state')) === 'down') {
      await screenshot(page, 'sim-node-down');
    }
    await page.locator('[data-testid="component-n1"][data-state="up"]').waitFor({ timeout: seeWaitMs });
    // n1 came back after it went down: the log, newest first, holds an
    // "n1 is up" above the "n1 is down" line.
    const texts = await log.locator('li').allTextContents();
    const down = texts.findIndex((text) => /n1 is down/.test(text));
    const upAfter = texts.slice(0, down).some((text) => /n1 is up/.test(text));
    if (!upAfter || (await upLines.count()) < 2) {
      throw new Error(`the event log does not show n1 going down and coming back:\n${texts.join('\n')}`);
    }
    await screenshot(page, 'sim-node-back');
  } finally {
    await browser.close();
    await stopChatlab(chaos);
  }
}
