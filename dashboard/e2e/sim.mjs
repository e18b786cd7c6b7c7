// A sim run of node-restart at real pace with the dashboard: the nodes
// appear, n1 goes down when the scenario restarts it, and comes back.
import { Skip, freePort, launchBrowser, screenshot, startChatlab, stopChatlab, waitForHTTP } from './lib.mjs';

// The scenario restarts n1 at 8 s of a 20 s workload; allow for startup.
const seeWaitMs = 40_000;

export const name = 'a sim run of node-restart shows n1 going down and coming back';

export async function run(binary) {
  const port = await freePort();
  const dashboard = `http://127.0.0.1:${port}/`;
  const args = ['chaos', '--scenario', 'node-restart', '--target', 'sim', '--seed', '1', '--dashboard', `127.0.0.1:${port}`, '--pace', '1'];
  const chaos = startChatlab(binary, 'chaos', args);
  const browser = await launchBrowser();
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
    await page.locator('[data-testid="component-n1"][data-state="down"]').waitFor({ timeout: seeWaitMs });
    await screenshot(page, 'sim-node-down');
    await page.locator('[data-testid="component-n1"][data-state="up"]').waitFor({ timeout: seeWaitMs });
    await screenshot(page, 'sim-node-back');
  } finally {
    await browser.close();
    await stopChatlab(chaos);
  }
}
