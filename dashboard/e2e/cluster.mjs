// Watching a real local cluster: `chatlab up --dashboard` starts three
// nodes, the balancer, Redis and the dashboard; the chat pane's two
// clients land on different nodes, and a message sent in one arrives in
// the other.
import { freePort, launchBrowser, screenshot, startChatlab, stopChatlab, waitForHTTP } from './lib.mjs';

const seeWaitMs = 30_000;

export const name = 'a chat message crosses nodes in a real local cluster';

export async function run(binary) {
  const port = await freePort();
  const dashboard = `http://127.0.0.1:${port}/`;
  const up = startChatlab(binary, 'up', ['up', '--nodes', '3', '--dashboard', `127.0.0.1:${port}`]);
  const browser = await launchBrowser();
  try {
    const exit = await waitForHTTP(dashboard, up);
    if (exit) {
      throw new Error(`chatlab up exited (${JSON.stringify(exit)}) before the dashboard served; log:\n${up.log()}`);
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(dashboard);
    for (const node of ['n1', 'n2', 'n3']) {
      await page.locator(`[data-testid="component-${node}"][data-state="up"]`).waitFor({ timeout: seeWaitMs });
    }
    // Both clients joined, on two different nodes.
    const boxes = page.locator('[data-testid^="chat-"]:has(.chat-status.joined)');
    await page.waitForFunction(
      () => {
        const nodes = [...document.querySelectorAll('[data-testid^="chat-node-"]')].map((node) => node.textContent);
        const joined = document.querySelectorAll('.chat-status.joined').length;
        return joined === 2 && nodes.length === 2 && !nodes.includes('…') && nodes[0] !== nodes[1];
      },
      null,
      { timeout: seeWaitMs },
    );
    const first = boxes.nth(0);
    const second = boxes.nth(1);
    const firstNode = await first.locator('[data-testid^="chat-node-"]').textContent();
    const secondNode = await second.locator('[data-testid^="chat-node-"]').textContent();
    const text = `hello across nodes ${Date.now().toString(36)}`;
    await first.locator('input').fill(text);
    await first.locator('button[type="submit"]').click();
    await second.locator('.messages li', { hasText: text }).waitFor({ timeout: seeWaitMs });
    await first.locator('.messages li', { hasText: text }).waitFor({ timeout: seeWaitMs });
    console.log(`  sent on ${firstNode}, arrived on ${secondNode}`);
    await screenshot(page, 'cluster-chat');
  } finally {
    await browser.close();
    await stopChatlab(up);
  }
}
