// The processor in-process against a real PostgreSQL, the simulator over real HTTP and the real webhook route.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/runninghub/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import { listLiveProcessors } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import {
  ACCOUNT,
  API_KEY,
  cancelTask,
  getAccountUsage,
  inProcessProcessor,
  insertTasks,
  resetTestState,
  startTestSimulator,
  startWebhookReceiver,
  tasksById,
  testSettings,
  waitForStatuses,
} from './harness.js';

describe('task processor (in-process)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let processor: TaskProcessor | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('processor');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    sim.release();
    // Every path gave its slot back.
    const usage = await getAccountUsage(db.pool, ACCOUNT);
    if (usage) expect(usage.running).toBe(usage.holders);
  });

  const start = async (overrides: Parameters<typeof testSettings>[0] = {}) => {
    processor = inProcessProcessor(db.url, sim.url, testSettings(overrides));
    await processor.start();
    return processor;
  };

  it('takes a task to SUCCESS with its outputs (polling) and records a heartbeat', async () => {
    await start({ processorId: 'happy' });
    const ids = await insertTasks(db.pool, 4);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    for (const row of rows) {
      expect(row.status).toBe('SUCCESS');
      expect(row.runninghub_task_id).toMatch(/^\d{19}$/);
      expect(row.outputs?.[0]?.fileUrl).toContain(sim.url);
      expect(row.attempts).toBe(1);
    }
    expect(sim.counters().tasksCreated).toBe(4);
    expect(sim.counters().maxInFlight).toBeLessThanOrEqual(3);
    const live = await listLiveProcessors(db.pool);
    expect(live.map((p) => p.processorId)).toContain('happy');
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
  });

  it('finishes tasks from the webhook without polling RunningHub', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      // Checks every 30 s: within this test only the webhook can finish the tasks.
      await start({ webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000, pollIntervalMs: 30_000 });
      const ids = await insertTasks(db.pool, 3);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(rows.every((r) => (r.outputs?.length ?? 0) > 0)).toBe(true);
      const counters = sim.counters();
      expect(counters.callsByEndpoint.outputs ?? 0).toBe(0);
      expect(counters.webhooksDelivered).toBe(3);
      const { rows: events } = await db.pool.query('SELECT count(*)::int AS n FROM runninghub_webhook_events WHERE applied_at IS NOT NULL');
      expect(events[0].n).toBe(3);
    } finally {
      await receiver.app.close();
    }
  });

  it('rejects a webhook with a wrong secret, and the outputs poll finishes the task instead', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      const wrong = receiver.callbackUrl.replace(/secret=[^&]+/, 'secret=not-the-secret-0000000000');
      await start({ webhookUrl: wrong, checkIntervalMs: 300 });
      const ids = await insertTasks(db.pool, 2);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(sim.counters().webhooksDelivered).toBe(0);
      expect(sim.counters().callsByEndpoint.outputs ?? 0).toBeGreaterThanOrEqual(2);
      const { rows: events } = await db.pool.query('SELECT count(*)::int AS n FROM runninghub_webhook_events');
      expect(events[0].n).toBe(0);
    } finally {
      await receiver.app.close();
    }
  });

  it('fails at once, with RunningHub code and message, on a permanent create error', async () => {
    sim.setOptions({ faults: { create: { kind: 'code', code: 803, msg: 'APIKEY_INVALID_NODE_INFO' } } });
    await start();
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED']);
    expect(row).toMatchObject({ error_code: '803', error_message: 'APIKEY_INVALID_NODE_INFO', attempts: 1 });
  });

  it('retries a retryable create error with backoff and succeeds', async () => {
    sim.setOptions({ faults: { create: { kind: 'http', status: 503, times: 1 } } });
    await start();
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(sim.counters().faultsInjected).toBe(1);
  });

  it('fails with the last error once max_attempts are used up', async () => {
    sim.setOptions({ faults: { create: { kind: 'http', status: 502 } } });
    await start();
    const [id] = await insertTasks(db.pool, 1, { maxAttempts: 2 });
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED']);
    expect(row).toMatchObject({ error_code: 'HTTP_502', attempts: 2 });
  });

  it('records a task that failed at RunningHub with its code and reason', async () => {
    await start();
    const [id] = await insertTasks(db.pool, 1, { fieldValue: 'broken [sim:fail]' });
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: '805' });
    expect(row!.error_message).toContain('APIKEY_TASK_STATUS_ERROR');
  });

  it('puts tasks back to PENDING on 421 without counting an attempt, and runs them when slots free up', async () => {
    // The account is busy elsewhere (the web UI): every slot at RunningHub is taken.
    sim.occupy(API_KEY, 3);
    await start();
    const ids = await insertTasks(db.pool, 2);
    await waitFor('creates refused with 421', () => sim.counters().createsRefused421 >= 4);
    const waiting = await tasksById(db.pool, ids);
    expect(waiting.every((r) => r.status === 'PENDING' || r.status === 'ACTIVE')).toBe(true);
    expect(waiting.every((r) => r.attempts <= 1)).toBe(true);
    expect(waiting.filter((r) => r.status === 'PENDING').every((r) => r.attempts === 0 && r.error_code === '421')).toBe(true);
    sim.release(API_KEY);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['SUCCESS', 1],
      ['SUCCESS', 1],
    ]);
  });

  it('times out a task that runs too long: cancelled at RunningHub, FAILED with TIMEOUT', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000] });
    await start({ taskTimeoutMs: 500 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'TIMEOUT' });
    expect(sim.counters().cancels).toBe(1);
    expect(sim.counters().inFlight).toBe(0);
  });

  it('cancels a PENDING task and an ACTIVE one (at RunningHub too)', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000] });
    await start({ maxRunning: 1 });
    const [running, queued] = await insertTasks(db.pool, 2);
    await waitFor('the first task to be submitted', async () => (await tasksById(db.pool, [running!]))[0]?.runninghub_task_id ?? undefined);
    expect((await cancelTask(db.pool, queued!)).outcome).toBe('done');
    expect((await cancelTask(db.pool, running!)).outcome).toBe('done');
    const rows = await waitForStatuses(db.pool, [running!, queued!], ["CANCELLED"]);
    expect(rows.map((r) => r.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(rows[1]!.runninghub_task_id).toBeNull();
    expect(sim.counters().cancels).toBe(1);
    expect(sim.counters().tasksCreated).toBe(1);
  });

  it('submits higher priority first, then oldest', async () => {
    const low = await insertTasks(db.pool, 2, { priority: 0, prefix: 'low' });
    const high = await insertTasks(db.pool, 2, { priority: 10, prefix: 'high' });
    const mid = await insertTasks(db.pool, 1, { priority: 5, prefix: 'mid' });
    await start({ maxRunning: 1 });
    const all = [...low, ...high, ...mid];
    await waitForStatuses(db.pool, all, ['SUCCESS']);
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks ORDER BY submitted_at');
    expect(rows.map((r) => r.id)).toEqual([...high, ...mid, ...low]);
  });
});
