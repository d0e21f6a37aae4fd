// The dashboard in Debian's firefox-esr (puppeteer-core over WebDriver BiDi) against the real programs (api,
// task-processor, RunningHub simulator): the token prompt and the token on every call, live updates over
// /api/events (the fetch-read SSE, not the poll fallback), the slot gauge, cancel and retry from their
// buttons, a failure group and the hour's charts, a paused account's banner, the console link, a storyboard's shots with their kept images and the larger
// view, the read-only token, a phone-sized window, axe-core and the keyboard walk. The Chromium file
// (browser.test.ts) covers the same pages in more depth; this one checks that Firefox shows and does the same.
// Screenshots in test-artifacts/dashboard-firefox/.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pauseAccount, resumeAccount } from '../../../src/db/index.js';
import { describeWithFirefox, firefoxForFile, focusWithoutIndicator, newFirefoxPage, runAxe, saveScreenshot } from '../../support/browser.js';
import { attribute, count, text, waitForTarget, waitForValue, type PageDriver } from '../../support/page-driver.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { waitFor } from '../../support/wait.js';
import { validTask } from '../support.js';
import { apiClient, startDashboardSystem, type DashboardSystem } from './system.js';

const TOKEN = 'dashboard-write-token-0123456789';
const READ_TOKEN = 'dashboard-read-token-0123456789';
const ARTIFACTS = 'dashboard-firefox';
const TASK_ROWS = '[data-testid="task-table"] tbody tr';
// Nothing listens there: the test checks the link (the console has tests of its own).
const CONSOLE_URL = 'http://127.0.0.1:9001/';

describeWithFirefox('the dashboard in Firefox', () => {
  const firefox = firefoxForFile();
  let db: TestDatabase;
  let system: DashboardSystem;
  beforeAll(async () => {
    db = await createTestDatabase('dashboard_firefox');
    system = await startDashboardSystem(db.url, { API_TOKEN: TOKEN, API_READ_TOKEN: READ_TOKEN, SUPERVISOR_CONSOLE_URL: CONSOLE_URL });
  });
  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  });

  const { api, createTask, taskStatus } = apiClient(() => system, TOKEN);
  const statusLine = (page: PageDriver) => text(page, 'p.status-line');

  /** Opens /ui in a fresh context and signs in with `token`, once the page listens to /api/events. */
  const openDashboard = async (token: string, hash = '', viewport?: { width: number; height: number }) => {
    const page = await newFirefoxPage(firefox(), viewport === undefined ? {} : { viewport });
    await page.goto(`${system.api.url}/ui${hash}`);
    await waitForTarget(page, '#token');
    await page.fill('#token', token);
    await page.click({ css: 'button', text: 'Open the dashboard' });
    // 'live' is the SSE stream read with fetch; the poll fallback would say 'updating every second'.
    await waitForValue('the live label', () => text(page, '#live'), 'live');
    // Marks this document: still there at the end means no reload happened.
    await page.evaluate('window.__sameDocument = true');
    return page;
  };
  const sameDocument = async (page: PageDriver) => (await page.evaluate('window.__sameDocument === true')) === true;

  it('asks for the token once, keeps it out of URLs, and sends it with every call', async () => {
    const prompt = await newFirefoxPage(firefox());
    await prompt.goto(`${system.api.url}/ui`);
    await waitForTarget(prompt, '#token');
    expect(await runAxe(prompt)).toEqual([]);
    await saveScreenshot(prompt, ARTIFACTS, 'token-prompt');
    await prompt.fill('#token', 'not-the-token-0123456789');
    await prompt.click({ css: 'button', text: 'Open the dashboard' });
    await waitForTarget(prompt, { css: '[role="alert"]', text: 'That token was refused.' });
    await prompt.closeContext();

    const page = await openDashboard(TOKEN);
    const calls: { url: string; authorization: string | undefined }[] = [];
    page.onRequest((url, headers) => {
      if (new URL(url).pathname.startsWith('/api/')) calls.push({ url, authorization: headers.authorization });
    });
    // Reloading the tab keeps the session's token: no second prompt.
    await page.reload();
    await waitForTarget(page, { css: 'main h1', text: 'Queue' });
    expect(await count(page, '#token')).toBe(0);
    await waitFor('the api calls after the reload', () => calls.some((call) => call.url.endsWith('/api/queue')));
    for (const call of calls) {
      expect(call.authorization).toBe(`Bearer ${TOKEN}`);
      expect(call.url).not.toContain(TOKEN);
    }
    expect(page.url()).not.toContain(TOKEN);
    await page.closeContext();
  });

  it('fills the slot gauge, cancels from a button, shows a failure group, the charts and a paused account, without a reload', async () => {
    const page = await openDashboard(TOKEN, '#/queue');
    await waitForValue('no slot in use', () => text(page, '[data-testid="slots-in-use"]'), '0 of 3');
    system.sim.setOptions({ runningMs: [120_000, 120_000] });
    const held = await Promise.all(['held-1', 'held-2', 'held-3'].map(createTask));
    await waitForValue('three slots in use', () => text(page, '[data-testid="slots-in-use"]'), '3 of 3');
    await waitForValue('three tasks linked from the gauge', () => count(page, '[role="meter"] a'), 3);
    expect(await runAxe(page)).toEqual([]);
    expect(await focusWithoutIndicator(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'queue-slots-full');

    // Cancelled from the Tasks page's buttons: the processor cancels them at RunningHub, the slots come back.
    system.sim.setOptions({ runningMs: [50, 100] });
    await page.goto(`${system.api.url}/ui#/tasks`);
    for (const name of ['held-1', 'held-2', 'held-3']) {
      // puppeteer clicks at the button's place: when a live update re-sorts the rows between finding the
      // button and the click, another row's button gets it (playwright checks what it hits; puppeteer does
      // not). So the click is repeated until the page says it cancelled this shot.
      const said = new RegExp(`^Cancel: Shot ${name} `);
      await waitFor(`the cancel of ${name} said`, async () => {
        if (said.test((await statusLine(page)) ?? '')) return true;
        await waitForTarget(page, `button[aria-label="Cancel Shot ${name}"]`);
        await page.click(`button[aria-label="Cancel Shot ${name}"]`);
        return waitFor(`the page to answer the cancel of ${name}`, async () => said.test((await statusLine(page)) ?? ''), { timeoutMs: 5_000 }).catch(() => false);
      }, { timeoutMs: 30_000 });
    }
    for (const { id } of held) await waitFor('the cancel to land', async () => (await taskStatus(id)) === 'CANCELLED', { timeoutMs: 30_000 });
    await page.goto(`${system.api.url}/ui#/queue`);
    await waitForValue('the slots back', () => text(page, '[data-testid="slots-in-use"]'), '0 of 3', 30_000);

    system.sim.setOptions({ nextOutcomes: ['FAILED'] });
    const failed = await createTask('fails-1');
    await waitFor('the failure', async () => (await taskStatus(failed.id)) === 'FAILED', { timeoutMs: 30_000 });
    await waitForValue('a failure group of one', () => text(page, '[data-testid="failure-groups"] tbody tr td:nth-child(3)'), '1');
    // uPlot draws both charts on canvases in Firefox too, and their captions count the failure.
    await waitForValue('the two charts', () => count(page, '.chart canvas'), 2);
    await waitForTarget(page, { css: 'p.chart-caption', text: /Tasks failed per minute: 1 in the last hour/ });
    await saveScreenshot(page, ARTIFACTS, 'queue-failures');

    // A paused account's banner comes and goes live; the processor panel links to supervisord's console.
    expect(await attribute(page, '[data-testid="supervisor-console"]', 'href')).toBe(CONSOLE_URL);
    const { rows } = await db.pool.query<{ fingerprint: string }>('SELECT fingerprint FROM runninghub_accounts');
    const fingerprint = rows[0]!.fingerprint;
    // The first balance check an hour away: the processor does not resume it behind the test's back.
    expect(await pauseAccount(db.pool, fingerprint, { code: '416', reason: 'Insufficient coins in the wallet', firstCheckInMs: 3_600_000 })).toBe(true);
    try {
      await waitForValue('the pause banner', () => text(page, '[data-testid="account-pause"] [data-testid="pause-reason"]'), 'Insufficient coins in the wallet');
      expect(await text(page, '[data-testid="pause-code"]')).toBe('416');
      await saveScreenshot(page, ARTIFACTS, 'queue-account-paused');
    } finally {
      await resumeAccount(db.pool, fingerprint);
    }
    await waitForTarget(page, '[data-testid="account-pause"]', { gone: true });
    expect(await sameDocument(page)).toBe(true);
    await page.closeContext();
  });

  it('lists a task as it is created, retries a failed one from its button, and shows its detail', async () => {
    const page = await openDashboard(TOKEN, '#/tasks');
    const created = await createTask('appears-live');
    await waitForTarget(page, `tr[data-task="${created.id}"]`);
    await waitForValue('the new task to show SUCCESS', () => text(page, `tr[data-task="${created.id}"] .badge`), 'SUCCESS', 30_000);

    await page.select('select[name="status"]', 'FAILED');
    await page.click({ css: 'button', text: 'Filter' });
    await waitForValue('the filter in the URL', async () => page.url(), /#\/tasks\?status=FAILED$/);
    await waitForValue('the one failed task', () => count(page, TASK_ROWS), 1);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'tasks-failed');

    const failedId = await attribute(page, TASK_ROWS, 'data-task');
    expect(failedId).toMatch(/^[0-9a-f-]{36}$/);
    await page.click(`${TASK_ROWS} button[aria-label^="Retry "]`);
    await waitForValue('the retry said', () => statusLine(page), /^Retry: Shot fails-1 is now PENDING/);
    await waitFor('the retried task to succeed', async () => (await taskStatus(failedId!)) === 'SUCCESS', { timeoutMs: 30_000 });
    await waitForValue('the FAILED list to empty without a reload', () => count(page, TASK_ROWS), 0);
    expect(await sameDocument(page)).toBe(true);

    await page.goto(`${system.api.url}/ui#/tasks/${failedId}`);
    await waitForTarget(page, { css: 'h2', text: 'Inputs' });
    await waitForValue('the RunningHub id', () => text(page, 'main'), /RunningHub task id\d{19}/);
    expect(await text(page, 'main')).toContain(validTask.nodeInfoList[0]!.fieldValue);
    // The kept output, decoded by Firefox: a loaded image has a natural width.
    await waitForValue('the output image to load', async () => Number(await page.evaluate(`document.querySelector('main img[alt^="Output 1 of Shot fails-1"]')?.naturalWidth ?? 0`)) > 0, true);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'task-detail');
    await page.closeContext();
  });

  it('shows no action to the read-only token, and the api refuses the action anyway', async () => {
    system.sim.setOptions({ nextOutcomes: ['FAILED'] });
    const failed = await createTask('fails-read-only');
    await waitFor('the failure', async () => (await taskStatus(failed.id)) === 'FAILED', { timeoutMs: 30_000 });
    const page = await openDashboard(READ_TOKEN, '#/tasks?status=FAILED');
    await waitForTarget(page, { css: '.badge', text: 'read-only' });
    await waitForValue('the failed task listed', () => count(page, TASK_ROWS), 1);
    expect(await count(page, 'button[aria-label^="Retry "], button[aria-label^="Cancel "]')).toBe(0);
    const status = await page.evaluate(`fetch('/api/tasks/${failed.id}/retry', { method: 'POST', headers: { authorization: 'Bearer ${READ_TOKEN}' } }).then((r) => r.status)`);
    expect(status).toBe(403);
    expect(await taskStatus(failed.id)).toBe('FAILED');
    await saveScreenshot(page, ARTIFACTS, 'tasks-read-only');
    await page.closeContext();
  });

  it('shows a storyboard filling in live, a failed shot with its error, the larger view, and retry-failed', async () => {
    const page = await openDashboard(TOKEN, '#/storyboards');
    system.sim.setOptions({ nextOutcomes: ['FAILED'], runningMs: [300, 600] });
    const storyboard = await api<{ id: string }>('POST', '/api/storyboards', {
      name: 'Harbour at dawn',
      entityType: 'episode',
      entityId: 'ep-1',
      workflowId: validTask.workflowId,
      shots: ['wide', 'close', 'gull', 'boat'].map((word) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `harbour, ${word}` }] })),
    });
    const listed = `[data-storyboard="${storyboard.id}"]`;
    await waitForValue('the progress to finish', () => text(page, `${listed} .progress-text`), /^3 done · 1 failed · 0 cancelled · 0 running · 0 waiting, of 4$/, 30_000);
    await saveScreenshot(page, ARTIFACTS, 'storyboards');

    await page.click({ css: `${listed} a`, text: 'Harbour at dawn' });
    const loadedImages = `Array.from(document.querySelectorAll('[data-testid="shots"] img')).filter((img) => img.complete && img.naturalWidth > 0).length`;
    await waitForValue('three kept images shown', async () => Number(await page.evaluate(loadedImages)), 3);
    expect(await text(page, '[data-testid="shots"] li.s-failed .placeholder .source')).toMatch(/^805: /);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'storyboard-shots');

    await page.click('[data-testid="shots"] button[aria-label^="Enlarge "]');
    await waitForValue('the larger view open', () => page.evaluate(`document.querySelector('dialog.viewer')?.open === true`), true);
    await waitForValue('its image loaded', async () => Number(await page.evaluate(`document.querySelector('dialog.viewer img')?.naturalWidth ?? 0`)) > 0, true);
    await saveScreenshot(page, ARTIFACTS, 'storyboard-larger-view');
    await page.click({ css: 'dialog.viewer button', text: 'Close' });
    await waitForValue('the larger view closed', () => page.evaluate(`document.querySelector('dialog.viewer').open`), false);

    await page.click({ css: 'button', text: 'Retry 1 failed' });
    await waitForValue('the retry said', () => statusLine(page), /^Harbour at dawn: retried 1 failed, now \d waiting and \d running\.$/);
    await waitForValue('four kept images shown', async () => Number(await page.evaluate(loadedImages)), 4, 30_000);
    expect(await count(page, { css: 'button', text: /^Retry / })).toBe(0);
    expect(await sameDocument(page)).toBe(true);
    await page.closeContext();
  });

  it('fits a phone: no sideways scrolling on the Queue, Tasks and Storyboards pages', async () => {
    const page = await openDashboard(TOKEN, '', { width: 390, height: 844 });
    for (const hash of ['#/queue', '#/tasks', '#/storyboards']) {
      await page.goto(`${system.api.url}/ui${hash}`);
      await waitForTarget(page, 'main [data-signature]');
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
      expect(overflow, hash).toBeLessThanOrEqual(0);
      if (hash === '#/tasks') {
        await waitForValue('the task rows', async () => (await count(page, TASK_ROWS)) > 0, true);
        // The table scrolls sideways in its box; a long error once squeezed its column into one letter a line.
        const heights = (await page.evaluate(`Array.from(document.querySelectorAll('${TASK_ROWS}')).map((row) => row.getBoundingClientRect().height)`)) as number[];
        expect(heights.length).toBeGreaterThan(0);
        expect(Math.max(...heights)).toBeLessThan(200);
        const errorWidths = (await page.evaluate(`Array.from(document.querySelectorAll('${TASK_ROWS} td.error-cell')).filter((td) => td.textContent !== '').map((td) => td.getBoundingClientRect().width)`)) as number[];
        expect(errorWidths.length).toBeGreaterThan(0);
        expect(Math.min(...errorWidths)).toBeGreaterThan(150);
      }
      await saveScreenshot(page, ARTIFACTS, `phone-${hash.slice(2)}`);
    }
    await page.closeContext();
  });
});
