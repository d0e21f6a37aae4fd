// Our supervisord's web console in Debian's firefox-esr (puppeteer-core over WebDriver BiDi), behind its
// basic auth: the status page's actions (restart, stop, start, clear log, stop all, restart all) give
// supervisord's messages and states, the tail page opens from the name in a new tab and follows the log,
// the table follows state changes without a reload, and the pages pass axe-core's basic rules and a keyboard
// walk. The comparison with Debian's supervisord 4.2.5 runs in Chromium (browser.test.ts); this file checks
// that Firefox shows and does the same on ours. Screenshots in test-artifacts/console-ours-firefox/.
import { expect, it } from 'vitest';
import { describeWithFirefox, firefoxForFile, focusWithoutIndicator, newFirefoxPage, runAxe, saveScreenshot } from '../../support/browser.js';
import { clickToNewDocument, text, texts, waitForValue, type PageDriver } from '../../support/page-driver.js';
import { waitFor } from '../../support/wait.js';
import { launcher, tempDirForFile } from '../fixtures.js';
import { CONSOLE_PASSWORD, CONSOLE_USER, http, startPeer } from './peers.js';

const dir = tempDirForFile('console-firefox');
const launch = launcher();
const ARTIFACTS = 'console-ours-firefox';

/** A selector for a cell of a program's row (the row whose name link reads `name`). */
const cell = (name: string, css: string): string => `tr:has(td a[href="tail.html?processname=${name}"]) ${css}`;
const stateOf = async (page: PageDriver, name: string): Promise<string | null> => text(page, cell(name, 'td.status span'));

/** Clicks a program's action link; returns the message of the page supervisord redirects to. */
async function act(page: PageDriver, name: string, action: string): Promise<string | null> {
  await clickToNewDocument(page, `a[href="index.html?processname=${name}&action=${action}"]`);
  return text(page, '.status_msg');
}

/**
 * The message of the page an action redirected to. Waited for, not read once: a CI run read none right
 * after Restart All (its answer waits for every start), where the page then showed it.
 */
const shownMessage = (page: PageDriver): Promise<string> => waitFor('the status message', async () => (await text(page, '.status_msg')) ?? false);

describeWithFirefox('our console in Firefox', () => {
  const firefox = firefoxForFile();

  it('restarts, stops, starts, tails, clears a log, stops all and restarts all from its buttons', async () => {
    const running = await startPeer('ours', dir, launch);
    const page = await newFirefoxPage(firefox(), { httpCredentials: { username: CONSOLE_USER, password: CONSOLE_PASSWORD } });
    await page.goto(`${running.base}/`);
    expect(await stateOf(page, 'sleeper')).toBe('running');
    expect(await runAxe(page)).toEqual([]);
    expect(await focusWithoutIndicator(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, '1-status');

    const pidBefore = /pid (\d+)/.exec((await text(page, cell('sleeper', 'td.desc'))) ?? '')?.[1];
    expect(await act(page, 'sleeper', 'restart')).toBe('Process sleeper restarted');
    expect(await stateOf(page, 'sleeper')).toBe('running');
    const pidAfter = /pid (\d+)/.exec((await text(page, cell('sleeper', 'td.desc'))) ?? '')?.[1];
    expect(pidBefore).toMatch(/^\d+$/);
    expect(pidAfter).not.toBe(pidBefore);
    expect(await act(page, 'sleeper', 'stop')).toBe('Process sleeper stopped');
    expect(await stateOf(page, 'sleeper')).toBe('stopped');
    expect(await act(page, 'sleeper', 'start')).toBe('Process sleeper started');
    expect(await act(page, 'manual', 'start')).toBe('Process manual started');
    expect(await stateOf(page, 'manual')).toBe('running');
    await saveScreenshot(page, ARTIFACTS, '2-after-actions');

    // The name opens the tail page in a new tab, which follows the log without a reload.
    const tail = await page.popup(() => page.click(cell('sleeper', 'td a[href="tail.html?processname=sleeper"]')));
    expect(tail.url()).toMatch(/\/tail\.html\?processname=sleeper$/);
    const hellos = async (): Promise<number> => ((await text(tail, 'pre')) ?? '').split('hello from sleeper').length - 1;
    const before = await waitForValue('the log in the tail', async () => (await hellos()) > 0, true).then(hellos);
    await tail.evaluate('window.notReloaded = true');
    expect((await http(running.base, 'index.html?processname=sleeper&action=restart')).status).toBe(301);
    await waitForValue('the tail to follow the restart', async () => (await hellos()) > before, true);
    expect(await tail.evaluate('window.notReloaded === true')).toBe(true);
    expect(await runAxe(tail)).toEqual([]);
    expect(await focusWithoutIndicator(tail)).toEqual([]);
    await saveScreenshot(tail, ARTIFACTS, '3-tail');
    await tail.close();

    // The status page followed that restart without a reload, and counts it.
    await waitForValue('the restart count', () => text(page, cell('sleeper', 'td.restarts')), '3');
    expect(await act(page, 'sleeper', 'clearlog')).toBe('Log for sleeper cleared');
    await page.goto(`${running.base}/tail.html?processname=sleeper`);
    expect(await text(page, 'pre')).toBe('');
    await page.goto(`${running.base}/`);

    await clickToNewDocument(page, { css: 'a.button', text: 'Stop All' });
    expect(await shownMessage(page)).toMatch(/^All stopped at /);
    expect(await texts(page, 'td.status span')).toEqual(['fatal', 'stopped', 'stopped']);
    await clickToNewDocument(page, { css: 'a.button', text: 'Restart All' });
    expect(await shownMessage(page)).toMatch(/^All restarted at /);
    expect(await texts(page, 'td.status span')).toEqual(['fatal', 'running', 'running']);
    await saveScreenshot(page, ARTIFACTS, '4-after-restart-all');

    // A phone-sized window keeps every action reachable.
    await page.setViewport(390, 800);
    await page.goto(`${running.base}/`);
    expect(await runAxe(page)).toEqual([]);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'))).toBeLessThanOrEqual(0);
    await saveScreenshot(page, ARTIFACTS, 'status-phone');
    await page.closeContext();
  });
});
