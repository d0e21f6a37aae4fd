import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseAccount, recordHeartbeat, resumeAccount } from '../../src/db/index.js';
import { activateTask, insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { startTestApp } from './support.js';

const scrape = async (app: FastifyInstance): Promise<string> => (await request(app.server).get('/metrics').expect(200)).text;
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('/metrics: what the processors report', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_metrics');
    app = await startTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('exports heartbeats, slots, the oldest PENDING age, and finished tasks with their timings', async () => {
    const started = new Date(Date.now() - 60_000);
    const beat = { host: 'h', pid: 1, startedAt: started, submitted: 3, retried: 0, orphaned: 0, orphanCancelFailures: 0, lastError: null };
    await recordHeartbeat(db.pool, { ...beat, processorId: 'p-healthy', consecutiveErrors: 0 });
    await recordHeartbeat(db.pool, { ...beat, processorId: 'p-failing', consecutiveErrors: 7, lastError: 'DATABASE: refused' });
    await db.pool.query(`UPDATE processor_heartbeats SET last_beat_at = now() - interval '10 minutes' WHERE processor_id = 'p-failing'`);
    await db.pool.query(`INSERT INTO runninghub_accounts (fingerprint, max_running, running) VALUES (repeat('a', 64), 3, 2)`);
    const [oldPending] = await insertTasks(db.pool, 1);
    await db.pool.query(`UPDATE ai_tasks SET created_at = now() - interval '2 minutes' WHERE id = $1`, [oldPending]);

    // Three tasks finish after the api started: 4 s queued / 20 s at RunningHub, twice SUCCESS, once FAILED.
    const finishedIds = await insertTasks(db.pool, 3);
    await activateTask(db.pool, finishedIds);
    await db.pool.query(
      `UPDATE ai_tasks SET status = CASE WHEN id = $2 THEN 'FAILED' ELSE 'SUCCESS' END,
              error_code = CASE WHEN id = $2 THEN 'RUNNINGHUB_805' END,
              created_at = now() - interval '24 seconds', submitted_at = now() - interval '20 seconds', finished_at = now()
        WHERE id = ANY($1)`,
      [finishedIds, finishedIds[0]],
    );

    const text = await waitFor('the finished tasks in /metrics', async () => {
      const current = await scrape(app);
      return value(current, 'storyboard_ai_tasks_finished_total{outcome="SUCCESS"}') === 2 ? current : undefined;
    });
    expect(value(text, 'storyboard_ai_tasks_finished_total{outcome="FAILED"}')).toBe(1);
    expect(value(text, 'storyboard_ai_tasks_finished_total{outcome="CANCELLED"}')).toBe(0);
    expect(value(text, 'storyboard_ai_task_queued_seconds_bucket{le="2.5"}')).toBe(0);
    expect(value(text, 'storyboard_ai_task_queued_seconds_bucket{le="5"}')).toBe(3);
    expect(value(text, 'storyboard_ai_task_runninghub_seconds_bucket{le="10"}')).toBe(0);
    expect(value(text, 'storyboard_ai_task_runninghub_seconds_bucket{le="30"}')).toBe(3);
    expect(value(text, 'storyboard_task_processor_consecutive_errors{processor="p-failing"}')).toBe(7);
    expect(value(text, 'storyboard_task_processor_consecutive_errors{processor="p-healthy"}')).toBe(0);
    expect(value(text, 'storyboard_task_processor_heartbeat_age_seconds{processor="p-failing"}')).toBeGreaterThanOrEqual(600);
    expect(value(text, 'storyboard_task_processors_live')).toBe(1);
    expect(value(text, 'storyboard_runninghub_slots_in_use')).toBe(2);
    expect(value(text, 'storyboard_runninghub_slots_limit')).toBe(3);
    expect(value(text, 'storyboard_ai_tasks_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(120);

    // Counted once: the next scrape does not count the same tasks again.
    const again = await scrape(app);
    expect(value(again, 'storyboard_ai_tasks_finished_total{outcome="SUCCESS"}')).toBe(2);
    expect(value(again, 'storyboard_ai_task_queued_seconds_count')).toBe(3);
  });

  it('shows a paused account (wallet empty) with its refusal code, and drops it once resumed', async () => {
    const account = 'ab'.repeat(32);
    await db.pool.query(`INSERT INTO runninghub_accounts (fingerprint, max_running) VALUES ($1, 3)`, [account]);
    expect(await pauseAccount(db.pool, account, { code: '416', reason: 'TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET', firstCheckInMs: 30_000 })).toBe(true);
    // A second refusal does not pause again (the processor logs the pause once).
    expect(await pauseAccount(db.pool, account, { code: '416', reason: 'again', firstCheckInMs: 30_000 })).toBe(false);
    const series = `storyboard_runninghub_account_paused{account="${account.slice(0, 12)}",code="416"}`;
    expect(value(await scrape(app), series)).toBe(1);
    const stats = await request(app.server).get('/api/stats').expect(200);
    expect(stats.body.accountPauses).toEqual([
      { account: account.slice(0, 12), pausedAt: expect.any(String), code: '416', reason: 'TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET', checks: 0, nextCheckAt: expect.any(String) },
    ]);
    expect(await resumeAccount(db.pool, account)).toBe(true);
    expect(value(await scrape(app), series)).toBeUndefined();
    expect((await request(app.server).get('/api/stats').expect(200)).body.accountPauses).toEqual([]);
  });
});
