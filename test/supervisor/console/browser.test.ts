// supervisord's console in a real browser (Debian's Chromium through playwright-core): the same clicks on
// Debian's supervisord 4.2.5 and on ours (restart, stop, start, clear log, the tail page) give the same
// messages and state changes; ours then keeps its table and its tail live without a reload, and passes
// axe-core's basic rules and a keyboard walk. Screenshots of every page go to test-artifacts/.
import type { BrowserContext, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { browserForFile, CHROMIUM, describeWithChromium, focusWithoutIndicator, newContext, runAxe, saveScreenshot } from '../../support/browser.js';
import { waitFor } from '../../support/wait.js';
import { describeWithPeers, launcher, REAL_SUPERVISORD, tempDirForFile } from '../fixtures.js';
import { CONSOLE_PASSWORD, CONSOLE_USER, http, startPeer, type RunningPeer } from './peers.js';

const dir = tempDirForFile('console-browser');
const launch = launcher();
const browser = browserForFile();

async function consoleContext(): Promise<BrowserContext> {
  return newContext(browser(), { httpCredentials: { username: CONSOLE_USER, password: CONSOLE_PASSWORD } });
}

function row(page: Page, name: string) {
  return page.locator('tr', { has: page.locator('td a', { hasText: new RegExp(`^${name}$`) }) });
}

async function stateOf(page: Page, name: string): Promise<string> {
  return (await row(page, name).locator('td.status span').innerText()).trim();
}

async function pidOf(page: Page, name: string): Promise<string | null> {
  return /pid (\d+)/.exec(await row(page, name).innerText())?.[1] ?? null;
}

/** Clicks a process's action link and waits for supervisord's redirect to `/?message=…`; returns the message shown. */
async function act(page: Page, name: string, action: string): Promise<string> {
  await Promise.all([page.waitForURL(/\?message=/), page.locator(`a[href="index.html?processname=${name}&action=${action}"]`).click()]);
  return (await page.locator('.status_msg').innerText()).trim();
}

async function tailText(context: BrowserContext, page: Page, name: string): Promise<{ tail: Page; text: string }> {
  // The name links to the tail page in a new tab, in both consoles.
  const [tail] = await Promise.all([context.waitForEvent('page'), row(page, name).locator('td a', { hasText: new RegExp(`^${name}$`) }).click()]);
  await tail.waitForLoadState();
  return { tail, text: await tail.locator('pre').innerText() };
}

/** The same clicks on one console; returns what a user sees after each. */
async function clickThrough(running: RunningPeer): Promise<string[]> {
  const label = `console-${running.peer}`;
  const context = await consoleContext();
  const page = await context.newPage();
  await page.goto(`${running.base}/`);
  await saveScreenshot(page, label, '1-status');
  const seen: string[] = [];
  const pidBefore = await pidOf(page, 'sleeper');
  seen.push(`restart: ${await act(page, 'sleeper', 'restart')} → ${await stateOf(page, 'sleeper')}`);
  const pidAfter = await pidOf(page, 'sleeper');
  seen.push(`new pid: ${pidBefore !== null && pidAfter !== null && pidBefore !== pidAfter}`);
  await saveScreenshot(page, label, '2-after-restart');
  seen.push(`stop: ${await act(page, 'sleeper', 'stop')} → ${await stateOf(page, 'sleeper')}`);
  seen.push(`start: ${await act(page, 'sleeper', 'start')} → ${await stateOf(page, 'sleeper')}`);
  seen.push(`start manual: ${await act(page, 'manual', 'start')} → ${await stateOf(page, 'manual')}`);
  const { tail, text } = await tailText(context, page, 'sleeper');
  seen.push(`tail: ${text.split('\n').filter((line) => line !== '').join(' / ')}`);
  await saveScreenshot(tail, label, '3-tail');
  await tail.close();
  seen.push(`clear: ${await act(page, 'sleeper', 'clearlog')}`);
  const cleared = await tailText(context, page, 'sleeper');
  seen.push(`tail after clear: '${cleared.text.trim()}'`);
  await cleared.tail.close();
  await Promise.all([page.waitForURL(/\?message=/), page.getByText('Stop All', { exact: true }).click()]);
  seen.push(`stop all: ${(await page.locator('.status_msg').innerText()).replace(/at .*$/, 'at <time>')}`);
  seen.push(`states: ${(await page.locator('td.status span').allInnerTexts()).join(', ')}`);
  await saveScreenshot(page, label, '4-after-stop-all');
  await Promise.all([page.waitForURL(/\?message=/), page.getByText('Restart All', { exact: true }).click()]);
  seen.push(`restart all: ${(await page.locator('.status_msg').innerText()).replace(/at .*$/, 'at <time>')}`);
  seen.push(`states: ${(await page.locator('td.status span').allInnerTexts()).join(', ')}`);
  await context.close();
  return seen;
}

describeWithPeers([REAL_SUPERVISORD, CHROMIUM])('the console in Chromium', () => {
  it('gives the same outcome as supervisord 4.2.5 for restart, stop, start, tail, clear log, stop all and restart all', async () => {
    const real = await clickThrough(await startPeer('real', dir, launch));
    const ours = await clickThrough(await startPeer('ours', dir, launch));
    expect(ours).toEqual(real);
    expect(ours).toEqual([
      'restart: Process sleeper restarted → running',
      'new pid: true',
      'stop: Process sleeper stopped → stopped',
      'start: Process sleeper started → running',
      'start manual: Process manual started → running',
      expect.stringMatching(/^tail: (hello from sleeper \/ )+hello from sleeper$/),
      'clear: Log for sleeper cleared',
      "tail after clear: ''",
      'stop all: All stopped at <time>',
      'states: fatal, stopped, stopped',
      'restart all: All restarted at <time>',
      'states: fatal, running, running',
    ]);
  });

});

describeWithChromium('our console in Chromium', () => {
  it('updates the table and the tail without a reload', async () => {
    const running = await startPeer('ours', dir, launch);
    const context = await consoleContext();
    const page = await context.newPage();
    await page.goto(`${running.base}/`);
    expect(await stateOf(page, 'sleeper')).toBe('running');
    expect(await row(page, 'sleeper').locator('td.restarts').innerText()).toBe('0');
    // A mark on the window: it survives only as long as the page is not reloaded.
    await page.evaluate('window.notReloaded = true');

    // Another operator stops it (here: a request from outside the page).
    expect((await http(running.base, 'index.html?processname=sleeper&action=stop')).status).toBe(301);
    await waitFor('the row to show the stop', async () => (await stateOf(page, 'sleeper')) === 'stopped');
    expect(await row(page, 'sleeper').locator('td.action a').allInnerTexts()).toEqual(['Start', 'Clear Log', 'Tail -f Stdout', 'Tail -f Stderr']);
    expect(await row(page, 'sleeper').locator('td.memory').innerText()).toBe('');

    expect((await http(running.base, 'index.html?processname=sleeper&action=start')).status).toBe(301);
    await waitFor('the row to show the start', async () => (await stateOf(page, 'sleeper')) === 'running');
    await waitFor('the restart count', async () => (await row(page, 'sleeper').locator('td.restarts').innerText()) === '1');
    expect(await row(page, 'sleeper').locator('td.memory').innerText()).toMatch(/^\d+(\.\d)? (KiB|MiB)$/);
    expect(await page.evaluate('window.notReloaded === true')).toBe(true);
    await saveScreenshot(page, 'console-ours', '5-live');

    const { tail, text } = await tailText(context, page, 'sleeper');
    const hellos = (body: string): number => body.split('hello from sleeper').length - 1;
    const before = hellos(text);
    await tail.evaluate('window.notReloaded = true');
    expect((await http(running.base, 'index.html?processname=sleeper&action=restart')).status).toBe(301);
    await waitFor('the tail to follow the log', async () => hellos(await tail.locator('pre').innerText()) > before);
    expect(await tail.evaluate('window.notReloaded === true')).toBe(true);
    await context.close();
  });

  it('has labelled controls, enough contrast and a visible keyboard focus on every page', async () => {
    const running = await startPeer('ours', dir, launch);
    const context = await consoleContext();
    const page = await context.newPage();
    for (const [name, path] of [
      ['status', '/?message=Process%20sleeper%20restarted'],
      ['tail', '/tail.html?processname=sleeper'],
      ['tail-without-name', '/tail.html'],
    ] as const) {
      await page.goto(`${running.base}${path}`);
      expect(await runAxe(page), name).toEqual([]);
      expect(await focusWithoutIndicator(page), name).toEqual([]);
      await saveScreenshot(page, 'console-ours', `a11y-${name}`);
    }
    // A phone-sized window keeps every action reachable.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${running.base}/`);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, 'console-ours', 'status-phone');
    await context.close();
  });
});
