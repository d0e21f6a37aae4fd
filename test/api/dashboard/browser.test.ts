// The dashboard in a real Chromium against the real programs (api, task-processor, RunningHub simulator):
// the token prompt, live updates without a reload, the slot gauge, failure groups, a retry from its button,
// a paused account's banner, the link to supervisord's console, the read-only token, accessibility basics (axe-core, visible focus), screenshots in test-artifacts/dashboard/.
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { browserForFile, describeWithChromium, focusWithoutIndicator, newContext, runAxe, saveScreenshot } from '../../support/browser.js';
import { pauseAccount, resumeAccount } from '../../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { waitFor } from '../../support/wait.js';
import { validTask } from '../support.js';
import { apiClient, startDashboardSystem, type DashboardSystem } from './system.js';

const TOKEN = 'dashboard-write-token-0123456789';
const READ_TOKEN = 'dashboard-read-token-0123456789';
const ARTIFACTS = 'dashboard';
// Nothing listens there: the test checks the link, not supervisord (its console has tests of its own).
const CONSOLE_URL = 'http://127.0.0.1:9001/';

describeWithChromium('the dashboard in Chromium', () => {
  const browser = browserForFile();
  let db: TestDatabase;
  let system: DashboardSystem;
  beforeAll(async () => {
    db = await createTestDatabase('dashboard_browser');
    system = await startDashboardSystem(db.url, { API_TOKEN: TOKEN, API_READ_TOKEN: READ_TOKEN, SUPERVISOR_CONSOLE_URL: CONSOLE_URL });
  });
  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  });

  const { api, createTask, taskStatus } = apiClient(() => system, TOKEN);

  /** Opens /ui in a fresh context and signs in with `token`; returns the page and every /api request it made. */
  const openDashboard = async (token: string, hash = '') => {
    const context = await newContext(browser());
    const page = await context.newPage();
    const apiRequests: Request[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiRequests.push(request);
    });
    await page.goto(`${system.api.url}/ui${hash}`);
    await page.getByLabel('Token', { exact: true }).fill(token);
    // The first visit asks without a token (and is answered 401): only what follows the sign-in counts.
    apiRequests.length = 0;
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.locator('#live').filter({ hasNotText: 'connecting' }).waitFor();
    // Marks this document: still there at the end means no reload happened.
    await page.evaluate('window.__sameDocument = true');
    return { page, apiRequests, close: () => context.close() };
  };
  const sameDocument = async (page: Page) => page.evaluate<boolean>('window.__sameDocument === true');

  it('asks for the token once, keeps it out of URLs, and sends it with every call', async () => {
    const context = await newContext(browser());
    const page = await context.newPage();
    await page.goto(`${system.api.url}/ui`);
    await page.getByLabel('Token', { exact: true }).waitFor();
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'token-prompt');
    await page.getByLabel('Token', { exact: true }).fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByText('That token was refused.').waitFor();
    await context.close();

    const { page: signedIn, apiRequests, close } = await openDashboard(TOKEN);
    await signedIn.getByRole('heading', { name: 'Queue' }).waitFor();
    // Reloading the tab keeps the session's token: no second prompt.
    await signedIn.reload();
    await signedIn.getByRole('heading', { name: 'Queue' }).waitFor();
    expect(await signedIn.getByLabel('Token', { exact: true }).count()).toBe(0);
    const calls = apiRequests.filter((r) => r.url().includes('/api/') && !r.url().endsWith('/api/access'));
    expect(calls.length).toBeGreaterThan(0);
    for (const request of calls) {
      expect(request.headers().authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.url()).not.toContain(TOKEN);
    }
    expect(signedIn.url()).not.toContain(TOKEN);
    await close();
  });

  it('shows the slots filling and emptying, and failure groups growing, without a reload', async () => {
    const { page, close } = await openDashboard(TOKEN, '#/queue');
    // The processor registers the account when it starts.
    const inUse = page.getByTestId('slots-in-use');
    await expect.poll(async () => inUse.textContent(), { timeout: 20_000 }).toBe('0 of 3');

    // Long runs at RunningHub: three tasks hold the three slots.
    system.sim.setOptions({ runningMs: [120_000, 120_000] });
    const held = await Promise.all(['held-1', 'held-2', 'held-3', 'held-4'].map(createTask));
    await expect.poll(async () => inUse.textContent(), { timeout: 20_000 }).toBe('3 of 3');
    const gauge = page.getByRole('meter', { name: /RunningHub slots in use/ });
    await expect.poll(async () => gauge.getByRole('link').allTextContents(), { timeout: 20_000 }).toHaveLength(3);
    await expect.poll(async () => page.getByTestId('backlog-pending').textContent(), { timeout: 20_000 }).toBe('1');
    expect(await runAxe(page)).toEqual([]);
    expect(await focusWithoutIndicator(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'queue-slots-full');

    // Cancelled: the processor cancels them at RunningHub and the slots come back.
    system.sim.setOptions({ runningMs: [50, 100] });
    for (const { id } of held) await api('POST', `/api/tasks/${id}/cancel`);
    await expect.poll(async () => inUse.textContent(), { timeout: 30_000 }).toBe('0 of 3');

    // Two failures with one error: one group, its count going 1 -> 2.
    system.sim.setOptions({ nextOutcomes: ['FAILED'] });
    const first = await createTask('fails-1');
    await waitFor('the first failure', async () => (await taskStatus(first.id)) === 'FAILED', { timeoutMs: 30_000 });
    const groups = page.getByTestId('failure-groups');
    const countCell = groups.locator('tbody tr').first().locator('td').nth(2);
    await expect.poll(async () => countCell.textContent(), { timeout: 20_000 }).toBe('1');
    system.sim.setOptions({ nextOutcomes: ['FAILED'] });
    const second = await createTask('fails-2');
    await waitFor('the second failure', async () => (await taskStatus(second.id)) === 'FAILED', { timeoutMs: 30_000 });
    await expect.poll(async () => countCell.textContent(), { timeout: 20_000 }).toBe('2');
    // The hour's charts (uPlot, loaded as its own chunk) are drawn, and their captions count the failures.
    await expect.poll(async () => page.locator('.chart canvas').count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(async () => page.getByText(/Tasks failed per minute: 2 in the last hour/).count(), { timeout: 20_000 }).toBe(1);
    await saveScreenshot(page, ARTIFACTS, 'queue-failures');
    expect(await sameDocument(page)).toBe(true);
    await close();
  });

  it("shows a paused account's banner and takes it away on resume, without a reload; links to supervisord's console", async () => {
    const { page, close } = await openDashboard(TOKEN, '#/queue');
    const consoleLink = page.getByRole('link', { name: "supervisord's web console" });
    await consoleLink.waitFor({ timeout: 20_000 });
    expect(await consoleLink.getAttribute('href')).toBe(CONSOLE_URL);
    expect(await page.getByTestId('account-pause').count()).toBe(0);

    const { rows } = await db.pool.query<{ fingerprint: string }>('SELECT fingerprint FROM runninghub_accounts');
    expect(rows).toHaveLength(1);
    const fingerprint = rows[0]!.fingerprint;
    // The first balance check an hour away: the processor does not resume it behind the test's back.
    expect(await pauseAccount(db.pool, fingerprint, { code: '416', reason: 'Insufficient coins in the wallet', firstCheckInMs: 3_600_000 })).toBe(true);
    try {
      const banner = page.getByTestId('account-pause');
      await banner.waitFor({ timeout: 20_000 });
      const text = await banner.textContent();
      expect(text).toContain(`Account ${fingerprint.slice(0, 12)} is paused`);
      expect(await banner.getByTestId('pause-code').textContent()).toBe('416');
      expect(await banner.getByTestId('pause-reason').textContent()).toBe('Insufficient coins in the wallet');
      expect(text).toMatch(/Next balance check/);
      expect(await runAxe(page)).toEqual([]);
      await saveScreenshot(page, ARTIFACTS, 'queue-account-paused');
    } finally {
      await resumeAccount(db.pool, fingerprint);
    }
    await page.getByTestId('account-pause').waitFor({ state: 'detached', timeout: 20_000 });
    expect(await sameDocument(page)).toBe(true);
    await close();
  });

  it('lists tasks as they are created, and retries a failed one from its button', async () => {
    const { page, close } = await openDashboard(TOKEN, '#/tasks');
    const created = await createTask('appears-live');
    const row = page.locator(`tr[data-task="${created.id}"]`);
    await row.waitFor({ timeout: 20_000 });
    await waitFor('the new task to succeed', async () => (await taskStatus(created.id)) === 'SUCCESS', { timeoutMs: 30_000 });
    await expect.poll(async () => row.locator('.badge').textContent(), { timeout: 20_000 }).toBe('SUCCESS');

    // While the pointer moves on the table its rows stay where they are (a click must not land on a row that
    // slid under it); the new task's row comes when the pointer leaves. A pointer resting there holds nothing.
    const rows = page.locator('[data-testid="task-table"] tbody tr');
    const firstBefore = await rows.first().getAttribute('data-task');
    const box = (await rows.first().boundingBox())!;
    let aiming = true;
    const aim = (async () => {
      for (let step = 0; aiming; step++) {
        await page.mouse.move(box.x + 20 + (step % 2), box.y + box.height / 2);
        // A hand aiming moves every few frames; 150 ms apart keeps it "aiming" (AIMING_MS is 2 s).
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const readTable = async (arrivedId: string) => page.evaluate<{ held: string | null; first: string | null; arrivedShown: boolean; noteShown: boolean }>(`(() => ({
      held: document.querySelector('.scroll').getAttribute('data-held'),
      first: document.querySelector('[data-testid="task-table"] tbody tr')?.getAttribute('data-task') ?? null,
      arrivedShown: document.querySelector('tr[data-task="${arrivedId}"]') !== null,
      noteShown: getComputedStyle(document.querySelector('.held-note')).visibility === 'visible',
    }))()`);
    let arrived: { id: string };
    try {
      // The page sees the pointer on the table before the new task exists: on a loaded machine the first move
      // can land after the new row is drawn, and then nothing is held.
      await waitFor('the pointer on the table', () => page.evaluate<boolean>(`document.querySelector('[data-testid="task-table"]').matches(':hover')`), { timeoutMs: 20_000 });
      arrived = await createTask('arrives-while-aimed-at');
      const whileHeld = await waitFor('the table to hold the new row', async () => {
        const state = await readTable(arrived.id);
        return state.held === 'yes' ? state : undefined;
      }, { timeoutMs: 20_000 });
      expect(whileHeld).toEqual({ held: 'yes', first: firstBefore, arrivedShown: false, noteShown: true });
    } finally {
      // Stopped whatever happened above, so no move reaches a page the test has closed.
      aiming = false;
      await aim.catch(() => undefined);
    }
    await page.mouse.move(0, 0);
    await expect.poll(async () => rows.first().getAttribute('data-task'), { timeout: 20_000 }).toBe(arrived.id);
    expect(await readTable(arrived.id)).toMatchObject({ held: null, noteShown: false });

    // Filtered to FAILED through the form: the failed shots of the previous test.
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/#\/tasks\?status=FAILED/);
    const failedRows = page.locator('[data-testid="task-table"] tbody tr');
    await expect.poll(async () => failedRows.count(), { timeout: 20_000 }).toBe(2);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'tasks-failed');

    const failedId = await failedRows.first().getAttribute('data-task');
    expect(failedId).toMatch(/^[0-9a-f-]{36}$/);
    await failedRows.first().getByRole('button', { name: /^Retry / }).click();
    await page.getByRole('status').filter({ hasText: /Retry: Shot fails-\d is now PENDING/ }).waitFor();
    await waitFor('the retried task to succeed', async () => (await taskStatus(failedId!)) === 'SUCCESS', { timeoutMs: 30_000 });
    // It leaves the FAILED list without a reload.
    await expect.poll(async () => failedRows.count(), { timeout: 20_000 }).toBe(1);

    // Its detail: inputs, RunningHub id, attempts, outputs.
    await page.goto(`${system.api.url}/ui#/tasks/${failedId}`);
    await page.getByRole('heading', { name: 'Inputs' }).waitFor();
    await expect.poll(async () => page.locator('main').textContent(), { timeout: 20_000 }).toMatch(/RunningHub task id\d{19}/);
    expect(await page.locator('main').textContent()).toContain(validTask.nodeInfoList[0]!.fieldValue);
    await page.getByRole('img', { name: /Output 1 of Shot fails-/ }).waitFor();
    // The output's link is our kept copy (RunningHub's URL expires), opened with the token in a new tab.
    const outputLink = page.getByRole('link', { name: /^Output 1(?! of)/ });
    expect(await outputLink.getAttribute('href')).toBe(`/api/tasks/${failedId}/outputs/0`);
    const [tab] = await Promise.all([page.context().waitForEvent('page'), outputLink.click()]);
    await expect.poll(() => tab.url(), { timeout: 20_000 }).toMatch(/^blob:/);
    await expect.poll(async () => Number(await tab.evaluate(`document.querySelector('img')?.naturalWidth ?? 0`)), { timeout: 20_000 }).toBeGreaterThan(0);
    await tab.close();
    expect(await page.locator('link[rel="icon"]').count()).toBe(1);
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'task-detail');
    await close();
  });

  it('shows no action to the read-only token, and the api refuses the action anyway', async () => {
    const { page, close } = await openDashboard(READ_TOKEN, '#/tasks?status=FAILED');
    await page.getByText('read-only', { exact: true }).waitFor();
    const rows = page.locator('[data-testid="task-table"] tbody tr');
    await expect.poll(async () => rows.count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByRole('button', { name: /^(Retry|Cancel) / }).count()).toBe(0);
    const id = await rows.first().getAttribute('data-task');
    // What a user could do by hand from the page: the server says no.
    const status = await page.evaluate(
      `fetch('/api/tasks/${id}/retry', { method: 'POST', headers: { authorization: 'Bearer ${READ_TOKEN}' } }).then((r) => r.status)`,
    );
    expect(status).toBe(403);
    expect(await taskStatus(id!)).toBe('FAILED');
    await saveScreenshot(page, ARTIFACTS, 'tasks-read-only');
    await close();
  });

  it('shows a storyboard filling in live (SSE), a failed shot with its error, a larger view, retry-failed, and a shot leading back to it', async () => {
    const { page, close } = await openDashboard(TOKEN, '#/storyboards');
    await expect.poll(async () => page.locator('#live').textContent(), { timeout: 20_000 }).toBe('live');
    // One of the four shots fails at RunningHub (whichever is created first).
    system.sim.setOptions({ nextOutcomes: ['FAILED'], runningMs: [300, 600] });
    const storyboard = await api<{ id: string }>('POST', '/api/storyboards', {
      name: 'Harbour at dawn',
      entityType: 'episode',
      entityId: 'ep-1',
      workflowId: validTask.workflowId,
      shots: ['wide', 'close', 'gull', 'boat'].map((word) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `harbour, ${word}` }] })),
    });
    const listed = page.locator(`[data-storyboard="${storyboard.id}"]`);
    await listed.waitFor({ timeout: 20_000 });
    await expect.poll(async () => listed.locator('.progress-text').textContent(), { timeout: 30_000 }).toMatch(/^3 done · 1 failed · 0 cancelled · 0 running · 0 waiting, of 4$/);
    // Whose it is and when it ran, once every shot has ended.
    await expect.poll(async () => listed.locator('.storyboard-facts').textContent(), { timeout: 20_000 }).toMatch(/^episode \/ ep-1 · created \S.* · finished \S.*$/);
    await saveScreenshot(page, ARTIFACTS, 'storyboards');

    await listed.getByRole('link', { name: 'Harbour at dawn' }).click();
    const shots = page.getByTestId('shots');
    await expect.poll(async () => shots.locator('img').count(), { timeout: 20_000 }).toBe(3);
    // The kept images themselves, fetched with the token and decoded (not only the <img> elements).
    const loadedImages = `Array.from(document.querySelectorAll('[data-testid="shots"] img')).filter((img) => img.complete && img.naturalWidth > 0).length`;
    await expect.poll(async () => page.evaluate<number>(loadedImages), { timeout: 20_000 }).toBe(3);
    const failedShot = shots.locator('li.s-failed');
    expect(await failedShot.locator('.placeholder .source').textContent()).toMatch(/^805: /);
    // Every card's caption sits as far down its card, under a thumbnail (a button) or a placeholder alike.
    const captionOffsets = await shots
      .locator('li.shot > p.name')
      .evaluateAll((captions) => captions.map((p) => Math.round(p.getBoundingClientRect().top - (p.parentElement ?? p).getBoundingClientRect().top)));
    expect(captionOffsets).toHaveLength(4);
    expect(new Set(captionOffsets).size, JSON.stringify(captionOffsets)).toBe(1);
    // Each card shows its prompt, to tell the frames apart.
    expect(await shots.locator('li.shot .prompt').allTextContents()).toEqual(['wide', 'close', 'gull', 'boat'].map((word) => `harbour, ${word}`));
    expect(await runAxe(page)).toEqual([]);
    await saveScreenshot(page, ARTIFACTS, 'storyboard-shots');

    await shots.getByRole('button', { name: /^Enlarge / }).first().click();
    const viewer = page.getByRole('dialog');
    await viewer.locator('img').waitFor();
    // Larger than the thumbnail whatever the image's own size (the simulator's are a few pixels).
    const thumbWidth = (await shots.locator('img').first().boundingBox())?.width ?? 0;
    await expect.poll(async () => (await viewer.locator('img').boundingBox())?.width ?? 0, { timeout: 10_000 }).toBeGreaterThan(2 * thumbWidth);
    await saveScreenshot(page, ARTIFACTS, 'storyboard-larger-view');
    await viewer.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Retry 1 failed' }).click();
    await page.getByRole('status').filter({ hasText: /^Harbour at dawn: retried 1 failed, now \d waiting and \d running\.$/ }).waitFor();
    await expect.poll(async () => shots.locator('img').count(), { timeout: 30_000 }).toBe(4);
    expect(await page.getByRole('button', { name: /^Retry / }).count()).toBe(0);

    // A shot's page says which shot it is and leads back to its storyboard.
    await shots.getByRole('link', { name: 'Harbour at dawn #2' }).click();
    await page.waitForURL(/#\/tasks\/[0-9a-f-]{36}$/);
    await expect.poll(async () => page.locator('main dl').first().textContent(), { timeout: 20_000 }).toContain('Shot2 of its storyboard');
    await page.getByRole('link', { name: '← Storyboard' }).click();
    await page.waitForURL(new RegExp(`#/storyboards/${storyboard.id}$`));
    await page.getByRole('heading', { name: /^Harbour at dawn/ }).waitFor();
    expect(await sameDocument(page)).toBe(true);
    await close();
  });

  it('fits a phone: no sideways scrolling on the Queue and Tasks pages', async () => {
    const context = await newContext(browser(), { viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${system.api.url}/ui`);
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    for (const hash of ['#/queue', '#/tasks']) {
      await page.goto(`${system.api.url}/ui${hash}`);
      await page.locator('main h1').waitFor();
      // Visible: the Queue page's first section (the pause banners) is empty while no account is paused.
      await page.locator('main [data-signature]:visible').first().waitFor();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, hash).toBeLessThanOrEqual(0);
      await saveScreenshot(page, ARTIFACTS, `phone-${hash.slice(2)}`);
    }
    await context.close();
  });

  it('says the api does not answer while it is down, and goes back to the live stream and clears that once it is up', async () => {
    const { page, close } = await openDashboard(TOKEN, '#/tasks');
    const live = page.locator('#live');
    await expect.poll(async () => live.textContent(), { timeout: 20_000 }).toBe('live');
    const statusLine = page.locator('p.status-line');
    await system.restartApi(async () => {
      await expect.poll(async () => live.textContent(), { timeout: 30_000 }).toBe('updating every second');
      await expect.poll(async () => statusLine.textContent(), { timeout: 30_000 }).toMatch(/^The api does not answer \(.+\); the page tries again at the next update\.$/);
      await saveScreenshot(page, ARTIFACTS, 'api-down');
    });
    // Back on the stream (tried again every few seconds while polling), and the error gone with the next good load.
    await expect.poll(async () => live.textContent(), { timeout: 30_000 }).toBe('live');
    await expect.poll(async () => statusLine.textContent(), { timeout: 30_000 }).toBe('');
    // Live again: a change shows without a reload.
    const task = await createTask('after-the-outage');
    await page.locator(`tr[data-task="${task.id}"]`).waitFor({ timeout: 20_000 });
    expect(await sameDocument(page)).toBe(true);
    await close();
  });
});
