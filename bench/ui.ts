// npm run bench:ui — the dashboard in headless Chromium on loopback, with 10,000 tasks in the database.
// Not part of `npm test`: the speed goals live here.
//
//   npm run bench:ui -- [--tasks 10000] [--loads 10] [--changes 20]
//
// Measures, each on a cold browser context (no cache):
//   - first meaningful paint of the Queue page (the slot gauge drawn from /api/queue) and of the Tasks
//     page (the first 50 rows): time from navigation start, taken in the page by a MutationObserver;
//   - bytes transferred for the first load (what Chromium received on the wire: gzipped where sent so);
//   - status change -> visible: a task cancelled through the API (outside the dashboard's own buttons)
//     until its row shows CANCELLED, both instants on the page's clock.
// With /api/storyboards (when the api has it): 200 storyboards, the list and a 200-shot storyboard page.
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createPool, findFreePort, runMigrations, startEmbeddedPostgres, type Pool } from '../src/db/index.js';

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    loads: { type: 'string', default: '10' },
    changes: { type: 'string', default: '20' },
  },
});
const TASKS = Number(args.tasks);
const LOADS = Number(args.loads);
const CHANGES = Number(args.changes);
const GOALS = { dashboardPaintMs: 300, storyboardPaintMs: 500, firstLoadKiB: 150, changeP50Ms: 100 };
const CHROMIUM = '/usr/bin/chromium';

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (value: number): string => `${value.toFixed(0)} ms`;
const verdict = (met: boolean): string => (met ? 'goal met' : 'GOAL NOT MET');

/** 10,000 tasks as the processor would leave them: most SUCCESS with an output, some FAILED in 5 error groups, a backlog. */
async function seed(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO runninghub_accounts (fingerprint, max_running) VALUES (repeat('b', 64), 3) ON CONFLICT DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, created_at)
     SELECT 'shot', 'bench-' || g, 'Bench shot ' || g, '1904136902449209346',
            jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'a harbour at dawn #' || g)),
            now() - make_interval(secs => ($1 - g) * 0.3)
       FROM generate_series(1, $1) g`,
    [TASKS],
  );
  // Ends go through ACTIVE, as the life table (src/db/tasks/life.ts) and migration 003's guard require.
  await pool.query(`UPDATE ai_tasks SET status = 'ACTIVE' WHERE (substring(entity_id from 7))::int % 20 <> 0`);
  await pool.query(
    `UPDATE ai_tasks SET status = 'SUCCESS', finished_at = created_at + interval '20 seconds', submitted_at = created_at + interval '1 second',
            runninghub_task_id = (1883000000000000000 + (substring(entity_id from 7))::bigint)::text,
            outputs = jsonb_build_array(jsonb_build_object('fileUrl', 'http://127.0.0.1:9/files/' || id || '.png', 'fileType', 'png'))
      WHERE status = 'ACTIVE' AND (substring(entity_id from 7))::int % 10 <> 3`,
  );
  await pool.query(
    `UPDATE ai_tasks SET status = 'FAILED', finished_at = now() - make_interval(secs => (substring(entity_id from 7))::int % 3000),
            error_code = 'E' || ((substring(entity_id from 7))::int % 5), error_message = 'simulated failure kind ' || ((substring(entity_id from 7))::int % 5)
      WHERE status = 'ACTIVE'`,
  );
  await pool.query('ANALYZE ai_tasks');
}

/**
 * 200 storyboards through the API (199 of 10 shots, one of 200), their shots then finished as the processor
 * would leave them (through ACTIVE; the storyboards' counts follow by trigger). Returns the big one's id.
 */
async function seedStoryboards(base: string, pool: Pool): Promise<string> {
  let big = '';
  for (let n = 0; n < 200; n++) {
    const shots = n === 0 ? 200 : 10;
    const response = await fetch(`${base}/api/storyboards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `Bench storyboard ${n}`,
        entityType: 'episode',
        entityId: `ep-${n}`,
        workflowId: '1904136902449209346',
        shots: Array.from({ length: shots }, (_, i) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `shot ${i}` }] })),
      }),
    });
    if (!response.ok) throw new Error(`POST /api/storyboards: ${response.status} ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    if (n === 0) big = id;
  }
  await pool.query(`UPDATE ai_tasks SET status = 'ACTIVE' WHERE storyboard_id IS NOT NULL AND shot_index % 7 <> 6`);
  await pool.query(
    `UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), submitted_at = now(),
            outputs = jsonb_build_array(jsonb_build_object('fileUrl', 'http://127.0.0.1:9/files/' || id || '.png', 'fileType', 'png'))
      WHERE storyboard_id IS NOT NULL AND status = 'ACTIVE' AND shot_index % 7 <> 5`,
  );
  await pool.query(
    `UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = '805', error_message = 'simulated failure'
      WHERE storyboard_id IS NOT NULL AND status = 'ACTIVE'`,
  );
  await pool.query('ANALYZE');
  return big;
}

interface Load {
  paintMs: number;
  bytes: number;
  /** Where the time went: document received, DOMContentLoaded (script ran), each request's start-end. */
  breakdown: string;
}

const BREAKDOWN_IN_PAGE = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const requests = performance.getEntriesByType('resource')
    .map((r) => r.name.replace(location.origin, '') + ' ' + Math.round(r.startTime) + '-' + Math.round(r.responseEnd));
  return 'document ' + Math.round(nav.responseEnd) + ', DOMContentLoaded ' + Math.round(nav.domContentLoadedEventStart) + '; ' + requests.join(', ');
})()`;

/** One cold load of `url`; `ready` is the CSS selector whose appearance is the meaningful paint. */
async function coldLoad(browser: Browser, url: string, ready: string): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  // Requests in flight, but not the SSE stream (it stays open by design); bytes of everything finished.
  const inFlight = new Set<string>();
  cdp.on('Network.requestWillBeSent', (event: { requestId: string; request: { url: string } }) => {
    if (!event.request.url.includes('/api/events')) inFlight.add(event.requestId);
  });
  cdp.on('Network.loadingFinished', (event: { requestId: string; encodedDataLength: number }) => {
    bytes += event.encodedDataLength;
    inFlight.delete(event.requestId);
  });
  cdp.on('Network.loadingFailed', (event: { requestId: string }) => inFlight.delete(event.requestId));
  await page.addInitScript(`(() => {
    const seen = () => document.querySelector(${JSON.stringify(ready)});
    new MutationObserver((_, observer) => {
      if (seen()) { window.__paint = performance.now(); observer.disconnect(); }
    }).observe(document, { childList: true, subtree: true, characterData: true });
  })()`);
  await page.goto(url);
  await page.waitForFunction('window.__paint !== undefined', undefined, { timeout: 30_000 });
  const paintMs = await page.evaluate<number>('window.__paint');
  const breakdown = await page.evaluate<string>(BREAKDOWN_IN_PAGE);
  // The first load is complete when nothing but the event stream has been in flight for 300 ms (the Queue
  // page asks for its chart chunk after its data).
  for (let quietSince = performance.now(); performance.now() - quietSince < 300; ) {
    if (inFlight.size > 0) quietSince = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await context.close();
  return { paintMs, bytes, breakdown };
}

async function statusChanges(browser: Browser, base: string, pool: Pool): Promise<number[]> {
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  await page.goto(`${base}/ui#/tasks?status=PENDING`);
  await page.waitForSelector('[data-testid="task-table"]');
  const delays: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM ai_tasks WHERE status = 'PENDING' ORDER BY created_at DESC, id DESC LIMIT 1`,
    );
    const id = rows[0]!.id;
    await page.waitForSelector(`tr[data-task="${id}"]`);
    // A change comes at any moment, not just after the page's last refresh.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
    // In the page: watch the row, then cancel with a plain fetch (not the dashboard's button, whose own refresh
    // would be measured instead of the live path); both instants on the page's clock.
    // Source text, not a function: tsx would add helpers (__name) that do not exist in the page.
    const delay = await page.evaluate<number>(`(async (taskId) => {
      const row = () => document.querySelector('tr[data-task="' + taskId + '"]');
      const shown = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          const r = row();
          if (r === null || (r.textContent || '').includes('CANCELLED')) {
            observer.disconnect();
            resolve(performance.now());
          }
        });
        observer.observe(document.getElementById('main'), { childList: true, subtree: true, characterData: true });
      });
      const response = await fetch('/api/tasks/' + taskId + '/cancel', { method: 'POST' });
      const committed = performance.now();
      if (!response.ok) throw new Error('cancel: ' + response.status);
      return (await shown) - committed;
    })(${JSON.stringify(id)})`);
    delays.push(delay);
  }
  await context.close();
  return delays;
}

async function main(): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit', env: { ...process.env, BUILD_QUIET: '1' } });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'storyboard-bench-ui-'));
  await chmod(tmp, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), ephemeral: true });
  const pool = createPool({ connectionString: server.url, applicationName: 'bench-ui', max: 4 });
  await runMigrations(pool);
  console.log(`bench:ui: seeding ${TASKS} tasks...`);
  await seed(pool);
  const port = await findFreePort();
  const api = spawn(process.execPath, [path.join(root, 'dist/api.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: server.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const apiExited = new Promise<void>((resolve) => api.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  try {
    for (let until = Date.now() + 30_000; ; ) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > until) throw new Error('the api did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let bigStoryboard: string | null = null;
    const storyboards = (await fetch(`${base}/api/storyboards?limit=1`)).status !== 404;
    if (storyboards) {
      bigStoryboard = await seedStoryboards(base, pool);
      console.log(`bench:ui: 200 storyboards (one of 200 shots, 199 of 10) beside the ${TASKS} tasks`);
    }
    // What the server takes per call the pages make (after a warm-up call each): where a slow paint comes from.
    const calls = ['/ui', '/ui/assets/app.js', '/api/access', '/api/queue', '/api/failures', '/api/tasks?limit=50'];
    const timings: string[] = [];
    for (const call of calls) {
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        const started = performance.now();
        await (await fetch(`${base}${call}`)).arrayBuffer();
        if (i > 0) times.push(performance.now() - started);
      }
      timings.push(`${call} ${percentile(times, 50).toFixed(1)} ms`);
    }
    console.log(`server time per call (p50 of 5): ${timings.join(', ')}`);
    // One warm-up load: the api's first queries and Chromium's first start are not what a user waits for twice.
    await coldLoad(browser, `${base}/ui#/queue`, '[data-testid="slots-in-use"]');

    const report = async (label: string, url: string, ready: string, goalMs: number): Promise<boolean> => {
      const loads: Load[] = [];
      for (let i = 0; i < LOADS; i++) loads.push(await coldLoad(browser, url, ready));
      const paints = loads.map((l) => l.paintMs);
      const kib = percentile(loads.map((l) => l.bytes), 50) / 1024;
      const paintMet = percentile(paints, 50) <= goalMs;
      const bytesMet = kib <= GOALS.firstLoadKiB;
      console.log(
        `${label}: first meaningful paint p50 ${ms(percentile(paints, 50))}, p90 ${ms(percentile(paints, 90))} (goal <= ${goalMs} ms: ${verdict(paintMet)}); ` +
          `first load ${kib.toFixed(1)} KiB transferred (goal <= ${GOALS.firstLoadKiB} KB: ${verdict(bytesMet)})`,
      );
      const median = [...loads].sort((a, b) => a.paintMs - b.paintMs)[Math.floor(loads.length / 2)]!;
      console.log(`  median load, ms from navigation start: ${median.breakdown}`);
      return paintMet && bytesMet;
    };
    let allMet = await report('dashboard (Queue page)', `${base}/ui#/queue`, '[data-testid="slots-in-use"]', GOALS.dashboardPaintMs);
    allMet = (await report('Tasks page (50 of 10,000 rows)', `${base}/ui#/tasks`, '[data-testid="task-table"]', GOALS.dashboardPaintMs)) && allMet;

    if (bigStoryboard === null) {
      console.log('storyboards: not measured: this api has no /api/storyboards (200 storyboards and the 200-shot page need that branch)');
    } else {
      allMet = (await report('Storyboards list (100 of 200)', `${base}/ui#/storyboards`, '[data-testid="storyboards"]', GOALS.dashboardPaintMs)) && allMet;
      allMet =
        (await report('a 200-shot storyboard page', `${base}/ui#/storyboards/${bigStoryboard}`, '[data-testid="shots"] li:nth-child(200)', GOALS.storyboardPaintMs)) &&
        allMet;
    }

    const delays = await statusChanges(browser, base, pool);
    const p50 = percentile(delays, 50);
    const changeMet = p50 <= GOALS.changeP50Ms;
    console.log(
      `status change -> visible (${CHANGES} cancels): p50 ${ms(p50)}, p90 ${ms(percentile(delays, 90))}, max ${ms(Math.max(...delays))} ` +
        `(goal p50 <= ${GOALS.changeP50Ms} ms: ${verdict(changeMet)})`,
    );
    allMet = allMet && changeMet;
    console.log(`bench:ui: ${allMet ? 'every goal measured here met' : 'some goals NOT met'}`);
  } finally {
    await browser.close();
    api.kill('SIGTERM');
    await apiExited;
    await pool.end();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
