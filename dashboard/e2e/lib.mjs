// Helpers for the end-to-end tests: the chatlab binary, free ports,
// child processes with their logs, and headless Chromium (Debian's
// package, never a downloaded browser).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, openSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const screenshotsDir = join(here, 'screenshots');
export const workDir = mkdtempSync(join(tmpdir(), 'chatlab-e2e-'));

// Bounds on waiting, so a broken run fails instead of hanging CI.
export const startWaitMs = 60_000;
export const stopWaitMs = 15_000;

// chatlabBinary is $CHATLAB_BIN, or a fresh build of cmd/chatlab (which
// embeds whatever dashboard/dist/app holds: build the app first).
export function chatlabBinary() {
  if (process.env.CHATLAB_BIN) {
    return process.env.CHATLAB_BIN;
  }
  const binary = join(workDir, 'chatlab');
  execFileSync('go', ['build', '-o', binary, './cmd/chatlab'], { cwd: repoRoot, stdio: 'inherit' });
  return binary;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// startChatlab runs `chatlab args...` in its own process group, output to
// a log file in workDir.
export function startChatlab(binary, name, args) {
  const logPath = join(workDir, `${name}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(binary, args, { cwd: repoRoot, detached: true, stdio: ['ignore', log, log] });
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  return { child, logPath, exited, log: () => readFileSync(logPath, 'utf8') };
}

// stopChatlab interrupts the process group (a clean stop), then kills it
// if it does not end within stopWaitMs.
export async function stopChatlab(run) {
  if (run.child.exitCode !== null || run.child.signalCode !== null) {
    return;
  }
  process.kill(-run.child.pid, 'SIGINT');
  const timer = setTimeout(() => process.kill(-run.child.pid, 'SIGKILL'), stopWaitMs);
  await run.exited;
  clearTimeout(timer);
}

// waitForHTTP polls url until it answers 200, the process exits, or
// startWaitMs passes. It returns the exit if the process ended first.
export async function waitForHTTP(url, run) {
  const deadline = Date.now() + startWaitMs;
  let exit = null;
  run.exited.then((result) => (exit = result));
  while (Date.now() < deadline) {
    if (exit) {
      return exit;
    }
    try {
      const response = await fetch(url);
      if (response.ok) {
        return null;
      }
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 200));
  }
  throw new Error(`${url} did not answer within ${startWaitMs} ms; log:\n${run.log()}`);
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function screenshot(page, name) {
  mkdirSync(screenshotsDir, { recursive: true });
  const path = join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`  screenshot: ${path}`);
  return path;
}

// Skip marks a test that cannot run here, with the reason.
export class Skip extends Error {}
