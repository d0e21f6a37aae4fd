// The Storyboards pages in a real Chromium against the real programs (api, task-processor, RunningHub
// simulator), as a producer uses them: a page of storyboards at a time and a status filter, a failed frame's
// reason, a name too long for a phone, the tab's title, keyboard focus through live updates, the frames one
// after another in the larger view, a cancel that asks first, an account's pause while shots wait, a wrong
// id, and what the status line says (and when it stops saying it).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pauseAccount, resumeAccount } from '../../../src/db/index.js';
import { browserForFile, describeWithChromium, newContext, runAxe, saveScreenshot } from '../../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { waitFor } from '../../support/wait.js';
import { validTask } from '../support.js';
import { apiClient, startDashboardSystem, type DashboardSystem } from './system.js';

const TOKEN = 'storyboards-write-token-0123456789';
const ARTIFACTS = 'dashboard';

describeWithChromium('the Storyboards pages in Chromium', () => {
  const browser = browserForFile();
  let db: TestDatabase;
  let system: DashboardSystem;
  beforeAll(async () => {
    db = await createTestDatabase('dashboard_storyboards');
    system = await startDashboardSystem(db.url, { API_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  });

  const { api } = apiClient(() => system, TOKEN);
  const createStoryboard = (name: string, prompts: string[]) =>
    api<{ id: string }>('POST', '/api/storyboards', {
      name,
      entityType: 'episode',
      entityId: 'ep-7',
      workflowId: validTask.workflowId,
      shots: prompts.map((text) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: text }] })),
    });
  const storyboardOf = (id: string) => api<{ status: string; pending: number; active: number; cancelled: number }>('GET', `/api/storyboards/${id}`);

  const openDashboard = async (hash: string, viewport?: { width: number; height: number }) => {
    const context = await newContext(browser(), viewport ? { viewport } : {});
    const page = await context.newPage();
    await page.goto(`${system.api.url}/ui${hash}`);
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.locator('#live').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 });
    return { page, close: () => context.close() };
  };
  const statusLine = (page: Page) => page.locator('p.status-line');
  const overflow = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');

  it("shows a failed frame's reason first, fits a name with no spaces on a phone, names the tab, and keeps keyboard focus through live updates", async () => {
    system.sim.setOptions({ nextOutcomes: ['FAILED'], runningMs: [100, 200] });
    const name = `Sc.12_INT_KITCHEN_NIGHT_alt_take_final_FINAL_v7_${'x'.repeat(90)}`;
    const first = await createStoryboard(name, ['kitchen, wide', 'kitchen, close']);
    await waitFor('the first storyboard to end', async () => (await storyboardOf(first.id)).status === 'done_with_failures');

    const { page, close } = await openDashboard(`#/storyboards/${first.id}`, { width: 390, height: 844 });
    const shots = page.getByTestId('shots');
    const failed = shots.locator('li.s-failed .placeholder');
    await failed.waitFor({ timeout: 20_000 });
    // RunningHub's reason ("RuntimeError: simulated failure") leads; the code and the node follow it.
    expect(await failed.locator('.reason').textContent()).toBe('RuntimeError: simulated failure');
    expect(await failed.locator('.source').textContent()).toMatch(/^805: APIKEY_TASK_STATUS_ERROR \| KSampler, node 3$/);
    expect(await failed.getAttribute('title')).toMatch(/^805: .*RuntimeError: simulated failure$/);
    expect(await page.title()).toBe(`${name} · storyboard-api`);
    expect(await page.locator('[data-nav][aria-current="page"]').getAttribute('data-nav')).toBe('storyboards');
    expect(await overflow(page), 'the storyboard page scrolls sideways').toBeLessThanOrEqual(0);
    await saveScreenshot(page, ARTIFACTS, 'storyboard-long-name-phone');
    await page.getByRole('link', { name: '← Storyboards' }).click();
    await page.locator(`[data-storyboard="${first.id}"]`).waitFor({ timeout: 20_000 });
    expect(await overflow(page), 'the list scrolls sideways').toBeLessThanOrEqual(0);
    expect(await page.title()).toBe('Storyboards · storyboard-api');
    await close();

    // Focus on a shot's link stays there while the grid is redrawn by the other shots' progress.
    system.sim.setOptions({ runningMs: [1500, 2500] });
    const second = await createStoryboard('Rooftop chase', ['roof, wide', 'roof, close', 'roof, jump', 'roof, fall', 'roof, landing']);
    const desk = await openDashboard(`#/storyboards/${second.id}`);
    const link = desk.page.getByRole('link', { name: 'Rooftop chase #1' });
    await link.focus();
    const progress = desk.page.locator('.progress-text');
    const before = await progress.textContent();
    await expect.poll(async () => progress.textContent(), { timeout: 30_000 }).not.toBe(before);
    await expect.poll(async () => (await storyboardOf(second.id)).status, { timeout: 60_000 }).toBe('done');
    await expect.poll(async () => desk.page.locator('.shots img').count(), { timeout: 20_000 }).toBe(5);
    expect(await desk.page.evaluate<string | undefined>('document.activeElement?.dataset.key')).toMatch(/^name-[0-9a-f-]{36}$/);
    expect(await desk.page.evaluate<string | null>('document.activeElement?.textContent ?? null')).toBe('Rooftop chase #1');

    // The larger view steps through the frames with the arrow keys and its buttons.
    await desk.page.getByRole('button', { name: 'Enlarge Rooftop chase #2' }).click();
    const viewer = desk.page.getByRole('dialog');
    await viewer.getByText('frame 2 of 5').waitFor();
    await desk.page.keyboard.press('ArrowRight');
    await viewer.getByText('frame 3 of 5').waitFor();
    expect(await viewer.getByRole('link', { name: 'Rooftop chase #3' }).count()).toBe(1);
    await viewer.getByRole('button', { name: '← Previous' }).click();
    await viewer.getByText('frame 2 of 5').waitFor();
    await desk.page.keyboard.press('ArrowLeft');
    await viewer.getByText('frame 1 of 5').waitFor();
    expect(await viewer.getByRole('button', { name: '← Previous' }).isDisabled()).toBe(true);
    expect(await viewer.getByRole('link', { name: 'Open the image' }).getAttribute('href')).toMatch(/^\/api\/tasks\/[0-9a-f-]{36}\/outputs\/0$/);
    expect(await runAxe(desk.page)).toEqual([]);
    await saveScreenshot(desk.page, ARTIFACTS, 'storyboard-viewer-steps');
    await desk.page.keyboard.press('Escape');
    await desk.close();
  });

  it('asks before a cancel, says what the cancel did, and clears the message on the next page', async () => {
    system.sim.setOptions({ runningMs: [20_000, 20_000] });
    const board = await createStoryboard('Long night', ['night 1', 'night 2', 'night 3', 'night 4', 'night 5', 'night 6']);
    const { page, close } = await openDashboard(`#/storyboards/${board.id}`);
    const cancel = page.getByRole('button', { name: 'Cancel storyboard' });
    await cancel.waitFor({ timeout: 20_000 });
    const questions: string[] = [];
    page.once('dialog', (dialog) => {
      questions.push(dialog.message());
      void dialog.dismiss();
    });
    await cancel.click();
    await expect.poll(() => questions.length).toBe(1);
    expect(questions[0]).toBe('Cancel 6 unfinished shots of Long night?');
    // Dismissed: nothing was cancelled.
    expect((await storyboardOf(board.id)).cancelled).toBe(0);
    expect(await cancel.isEnabled()).toBe(true);

    page.once('dialog', (dialog) => void dialog.accept());
    await cancel.click();
    await statusLine(page).filter({ hasText: /^Cancelled Long night: \d+ shots? cancelled(, \d+ still stopping at RunningHub)?\.$/ }).waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await storyboardOf(board.id)).status, { timeout: 30_000 }).toBe('cancelled');
    await page.getByRole('link', { name: '← Storyboards' }).click();
    await page.getByRole('heading', { name: 'Storyboards', exact: true }).waitFor();
    expect(await statusLine(page).textContent()).toBe('');

    // A wrong id says so in words, with the way back.
    await page.goto(`${system.api.url}/ui#/storyboards/00000000-0000-4000-8000-000000000000`);
    await page.getByRole('heading', { name: 'No such storyboard' }).waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'All storyboards' }).click();
    await page.getByRole('heading', { name: 'Storyboards', exact: true }).waitFor();
    expect(await statusLine(page).textContent()).toBe('');
    await close();
  });

  it("shows the account's pause on a storyboard whose shots wait on it, and takes it away on resume", async () => {
    system.sim.setOptions({ runningMs: [50, 100] });
    const { rows } = await db.pool.query<{ fingerprint: string }>('SELECT fingerprint FROM runninghub_accounts');
    const fingerprint = rows[0]!.fingerprint;
    expect(await pauseAccount(db.pool, fingerprint, { code: '416', reason: 'Insufficient coins in the wallet', firstCheckInMs: 3_600_000 })).toBe(true);
    let board: { id: string };
    try {
      board = await createStoryboard('Wallet empty', ['coins 1', 'coins 2']);
      const { page, close } = await openDashboard(`#/storyboards/${board.id}`);
      const notice = page.getByTestId('storyboard-pause');
      await notice.waitFor({ timeout: 20_000 });
      expect(await notice.textContent()).toMatch(/^RunningHub account \S+ is paused: no shot is submitted until a balance check finds coins again \(416: Insufficient coins in the wallet; next check \S.*\)\. Queue$/);
      expect(await runAxe(page)).toEqual([]);
      await saveScreenshot(page, ARTIFACTS, 'storyboard-account-paused');
      await resumeAccount(db.pool, fingerprint);
      await notice.waitFor({ state: 'detached', timeout: 30_000 });
      await expect.poll(async () => (await storyboardOf(board.id)).status, { timeout: 30_000 }).toBe('done');
      await close();
    } finally {
      await resumeAccount(db.pool, fingerprint);
    }
  });

  it('pages through more storyboards than fit on a page, and filters them by status', async () => {
    system.sim.setOptions({ runningMs: [10, 20] });
    const before = (await api<{ items: unknown[] }>('GET', '/api/storyboards?limit=100')).items.length;
    // Enough for a second page of 50 whatever the earlier tests left.
    const made = 52 - before;
    for (let i = 0; i < made; i++) await createStoryboard(`Page test ${String(i).padStart(2, '0')}`, [`page ${i}`]);
    await waitFor('every storyboard to end', async () => (await api<{ items: unknown[] }>('GET', '/api/storyboards?status=running&limit=100')).items.length === 0, { timeoutMs: 120_000 });

    const { page, close } = await openDashboard('#/storyboards');
    const cards = page.getByTestId('storyboards').locator('li');
    await expect.poll(async () => cards.count(), { timeout: 20_000 }).toBe(50);
    await page.getByRole('link', { name: 'Older →' }).click();
    await expect.poll(async () => cards.count(), { timeout: 20_000 }).toBe(2);
    // The oldest two are the first tests' storyboards.
    expect(await cards.locator('h2 a').allTextContents()).toEqual(['Rooftop chase', expect.stringMatching(/^Sc\.12_INT_KITCHEN/)]);
    expect(await page.getByRole('link', { name: 'Older →' }).count()).toBe(0);
    await page.getByRole('link', { name: '← Newest' }).click();
    await expect.poll(async () => cards.count(), { timeout: 20_000 }).toBe(50);

    await page.getByLabel('Status').selectOption('cancelled');
    await page.waitForURL(/#\/storyboards\?status=cancelled$/);
    await expect.poll(async () => cards.locator('h2 a').allTextContents(), { timeout: 20_000 }).toEqual(['Long night']);
    await page.getByLabel('Status').selectOption('done_with_failures');
    await expect.poll(async () => cards.locator('h2 a').allTextContents(), { timeout: 20_000 }).toEqual([expect.stringMatching(/^Sc\.12_INT_KITCHEN/)]);
    await page.getByLabel('Status').selectOption('running');
    await page.getByText('No storyboard matches.').waitFor({ timeout: 20_000 });

    // From a shot in the Tasks table to its storyboard.
    const long = (await api<{ items: { id: string; name: string }[] }>('GET', '/api/storyboards?status=cancelled')).items[0]!;
    await page.goto(`${system.api.url}/ui#/tasks?storyboardId=${long.id}`);
    await page.getByRole('link', { name: 'Storyboard of Long night #1' }).click();
    await page.getByRole('heading', { name: /^Long night/ }).waitFor({ timeout: 20_000 });
    await close();
  });
});
