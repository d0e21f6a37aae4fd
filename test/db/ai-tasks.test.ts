// Every statement of src/db/ai-tasks.ts on a real PostgreSQL: first those the API runs, then those
// of the processor (which also keep the account's slot count and the webhook results).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyStoredWebhookResults,
  cancelTask,
  claimPendingTasks,
  createPool,
  createTask,
  ensureAccount,
  finishTask,
  getAccountUsage,
  getTask,
  getTaskStats,
  listTasks,
  msUntilNextDueTask,
  recordSubmission,
  recordWebhookResult,
  recoverExpiredClaims,
  requestFingerprint,
  requeueTask,
  retryTask,
  takeTasksToCheck,
  type AiTask,
  type NewTask,
  type Pool,
  type TaskCursor,
} from '../../src/db/index.js';
import { insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const newTask = (overrides: Partial<NewTask> = {}): NewTask => ({
  entityType: 'shot',
  entityId: 's1',
  entityName: 'Shot 1',
  workflowId: '1904136902449209346',
  webappId: null,
  nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a cat' }],
  priority: 0,
  maxAttempts: 3,
  ...overrides,
});

const ACCOUNT = createHash('sha256').update('test-key').digest('hex');

async function statusOf(pool: Pool, id: string) {
  const { rows } = await pool.query(
    'SELECT status, attempts, error_code, runninghub_task_id, slot_account, outputs FROM ai_tasks WHERE id = $1',
    [id],
  );
  return rows[0];
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('ai_tasks');
});
afterAll(async () => {
  await db.drop();
});

describe('ai_tasks: the API statements', () => {
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
  });

  it('creates a PENDING task and reads it back with every field typed', async () => {
    const result = await createTask(db.pool, newTask({ priority: 5 }));
    expect(result.outcome).toBe('created');
    const read = await getTask(db.pool, result.task.id);
    expect(read).toEqual(result.task);
    expect(read).toMatchObject({
      status: 'PENDING',
      priority: 5,
      attempts: 0,
      maxAttempts: 3,
      runninghubTaskId: null,
      outputs: null,
      error: null,
      cancelRequested: false,
      submittedAt: null,
      finishedAt: null,
    });
    expect(read?.createdAt).toBeInstanceOf(Date);
    expect(await getTask(db.pool, '00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('returns RunningHub task ids as exact strings, outputs and errors as objects', async () => {
    const { task } = await createTask(db.pool, newTask());
    // 1910246754753896450 > 2^53: as a JS number it would read back as ...6448.
    await db.pool.query(
      `UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), runninghub_task_id = '1910246754753896450',
         outputs = '[{"fileUrl":"http://x/1.png","fileType":"png","nodeId":"9"}]', error_code = 'RH_805', error_message = 'failed'
       WHERE id = $1`,
      [task.id],
    );
    const read = await getTask(db.pool, task.id);
    expect(read?.runninghubTaskId).toBe('1910246754753896450');
    expect(read?.outputs).toEqual([{ fileUrl: 'http://x/1.png', fileType: 'png', nodeId: '9' }]);
    expect(read?.error).toEqual({ code: 'RH_805', message: 'failed' });
  });

  describe('idempotency', () => {
    it('replays the same request and flags a different one', async () => {
      const first = await createTask(db.pool, newTask(), { idempotencyKey: 'k1' });
      const replay = await createTask(db.pool, newTask(), { idempotencyKey: 'k1' });
      const other = await createTask(db.pool, newTask({ entityName: 'Another' }), { idempotencyKey: 'k1' });
      expect(first.outcome).toBe('created');
      expect(replay).toEqual({ outcome: 'replayed', task: first.task });
      expect(other.outcome).toBe('conflict');
      expect(other.task.id).toBe(first.task.id);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
      expect(rows[0].n).toBe(1);
    });

    it('makes exactly one row when many creates with one key run at once', async () => {
      const results = await Promise.all(
        Array.from({ length: 25 }, () => createTask(db.pool, newTask(), { idempotencyKey: 'same-key' })),
      );
      expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'replayed')).toHaveLength(24);
      expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ai_tasks WHERE idempotency_key = 'same-key'`);
      expect(rows[0].n).toBe(1);
    });

    it('fingerprints the meaning of a request, not its spelling', () => {
      expect(requestFingerprint(newTask())).toBe(requestFingerprint({ ...newTask() }));
      expect(requestFingerprint(newTask())).not.toBe(requestFingerprint(newTask({ priority: 1 })));
      expect(requestFingerprint(newTask())).not.toBe(
        requestFingerprint(newTask({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a dog' }] })),
      );
    });
  });

  describe('listing', () => {
    async function allPages(limit: number, filter: Omit<Parameters<typeof listTasks>[1], 'limit' | 'after'> = {}) {
      const seen: AiTask[] = [];
      let after: TaskCursor | undefined;
      for (let page = 0; page < 1000; page += 1) {
        const result = await listTasks(db.pool, { ...filter, limit, after });
        seen.push(...result.items);
        if (!result.next) return seen;
        after = result.next;
      }
      throw new Error('pagination did not end');
    }

    it('pages newest first with no duplicates and no gaps, also when created_at ties to the microsecond', async () => {
      // One INSERT statement: all 30 rows share now(), so only the id breaks the ties.
      await db.pool.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id)
         SELECT 'shot', 'tie', 'Tie ' || g, '1' FROM generate_series(1, 30) g`,
      );
      // Rows a microsecond apart: a cursor with millisecond precision would skip or repeat these.
      await db.pool.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, created_at)
         SELECT 'shot', 'micro', 'Micro ' || g, '1', timestamptz '2026-01-01 00:00:00.000100+00' + g * interval '1 microsecond'
         FROM generate_series(1, 17) g`,
      );
      const seen = await allPages(7);
      expect(seen).toHaveLength(47);
      expect(new Set(seen.map((t) => t.id)).size).toBe(47);
      const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks ORDER BY created_at DESC, id DESC');
      expect(seen.map((t) => t.id)).toEqual(rows.map((r) => r.id));
    });

    it('filters by status and by entity', async () => {
      const a = await createTask(db.pool, newTask({ entityId: 'a' }));
      await createTask(db.pool, newTask({ entityId: 'b' }));
      await createTask(db.pool, newTask({ entityType: 'character', entityId: 'a' }));
      await cancelTask(db.pool, a.task.id);
      expect((await allPages(10, { statuses: ['CANCELLED'] })).map((t) => t.id)).toEqual([a.task.id]);
      expect(await allPages(10, { statuses: ['PENDING', 'CANCELLED'] })).toHaveLength(3);
      expect((await allPages(10, { entityType: 'shot', entityId: 'a' })).map((t) => t.id)).toEqual([a.task.id]);
      expect(await allPages(10, { entityType: 'shot' })).toHaveLength(2);
      expect(await allPages(10, { statuses: ['SUCCESS'] })).toHaveLength(0);
    });
  });

  describe('transitions', () => {
    const setStatus = (id: string, status: string) =>
      db.pool.query(
        `UPDATE ai_tasks SET status = $2, finished_at = CASE WHEN $2 IN ('SUCCESS','FAILED','CANCELLED') THEN now() END,
           submitted_at = CASE WHEN $2 = 'ACTIVE' THEN now() END WHERE id = $1`,
        [id, status],
      );

    it('cancels a PENDING task at once', async () => {
      const { task } = await createTask(db.pool, newTask());
      const result = await cancelTask(db.pool, task.id);
      expect(result.outcome).toBe('done');
      if (result.outcome !== 'done') return;
      expect(result.task).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
      expect(result.task.finishedAt).toBeInstanceOf(Date);
      // Twice is not an error and changes nothing.
      const again = await cancelTask(db.pool, task.id);
      expect(again).toMatchObject({ outcome: 'done', task: { status: 'CANCELLED', finishedAt: result.task.finishedAt } });
    });

    it('marks an ACTIVE task for the processor to cancel, and refuses finished ones', async () => {
      const { task } = await createTask(db.pool, newTask());
      await setStatus(task.id, 'ACTIVE');
      expect(await cancelTask(db.pool, task.id)).toMatchObject({
        outcome: 'done',
        task: { status: 'ACTIVE', cancelRequested: true, finishedAt: null },
      });
      await setStatus(task.id, 'SUCCESS');
      expect(await cancelTask(db.pool, task.id)).toMatchObject({ outcome: 'conflict', task: { status: 'SUCCESS' } });
      expect(await cancelTask(db.pool, '00000000-0000-4000-8000-000000000000')).toEqual({ outcome: 'not_found' });
    });

    it('retries FAILED and CANCELLED tasks as fresh PENDING ones, and nothing else', async () => {
      const { task } = await createTask(db.pool, newTask());
      await db.pool.query(
        `UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), attempts = 3, error_code = 'X', error_message = 'boom',
           runninghub_task_id = '1910246754753896450', submitted_at = now() WHERE id = $1`,
        [task.id],
      );
      const retried = await retryTask(db.pool, task.id);
      expect(retried).toMatchObject({
        outcome: 'done',
        task: { status: 'PENDING', attempts: 0, error: null, runninghubTaskId: null, finishedAt: null, submittedAt: null },
      });
      expect(await retryTask(db.pool, task.id)).toMatchObject({ outcome: 'conflict', task: { status: 'PENDING' } });
      await cancelTask(db.pool, task.id);
      expect(await retryTask(db.pool, task.id)).toMatchObject({ outcome: 'done', task: { status: 'PENDING', cancelRequested: false } });
      await setStatus(task.id, 'SUCCESS');
      expect((await retryTask(db.pool, task.id)).outcome).toBe('conflict');
      expect(await retryTask(db.pool, '00000000-0000-4000-8000-000000000000')).toEqual({ outcome: 'not_found' });
    });

    it('never loses a cancel that races a processor claiming the task', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) ids.push((await createTask(db.pool, newTask({ entityId: `race-${i}` }))).task.id);
      await Promise.all(
        ids.flatMap((id) => [
          cancelTask(db.pool, id),
          db.pool.query(`UPDATE ai_tasks SET status = 'ACTIVE', submitted_at = now() WHERE id = $1 AND status = 'PENDING'`, [id]),
        ]),
      );
      const { rows } = await db.pool.query<{ status: string; cancel_requested_at: Date | null }>(
        'SELECT status, cancel_requested_at FROM ai_tasks WHERE id = ANY($1::uuid[])',
        [ids],
      );
      // Either cancelled before the claim, or active with the cancel request recorded.
      for (const row of rows) {
        expect(['CANCELLED', 'ACTIVE']).toContain(row.status);
        expect(row.cancel_requested_at).not.toBeNull();
      }
    });
  });

  it('computes statistics', async () => {
    await db.pool.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, status, created_at, finished_at, error_code) VALUES
        ('shot', '1', 'a', '1', 'PENDING', now() - interval '90 seconds', NULL, NULL),
        ('shot', '2', 'b', '1', 'PENDING', now(), NULL, NULL),
        ('shot', '3', 'c', '1', 'SUCCESS', now(), now() - interval '10 seconds', NULL),
        ('shot', '4', 'd', '1', 'FAILED', now(), now() - interval '3 minutes', 'RH_805'),
        ('shot', '5', 'e', '1', 'FAILED', now(), now() - interval '2 hours', 'RH_805'),
        ('shot', '6', 'f', '1', 'FAILED', now(), now() - interval '2 hours', 'TIMEOUT'),
        ('shot', '7', 'g', '1', 'FAILED', now(), now() - interval '3 days', 'OLD')`,
    );
    const stats = await getTaskStats(db.pool);
    expect(stats.countsByStatus).toEqual({ PENDING: 2, ACTIVE: 0, SUCCESS: 1, FAILED: 4, CANCELLED: 0 });
    expect(stats.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(90);
    expect(stats.oldestPendingAgeSeconds).toBeLessThan(3600);
    expect(stats.finishedLastMinute).toBe(1);
    expect(stats.finishedLastFiveMinutes).toBe(2);
    expect(stats.failuresByErrorCode).toEqual([
      { code: 'RH_805', count: 2 },
      { code: 'TIMEOUT', count: 1 },
    ]);
    await db.pool.query('TRUNCATE ai_tasks');
    expect((await getTaskStats(db.pool)).oldestPendingAgeSeconds).toBeNull();
  });
});

describe('ai_tasks: the processor statements', () => {
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, runninghub_webhook_events');
    await db.pool.query('DELETE FROM runninghub_accounts');
    await ensureAccount(db.pool, ACCOUNT, 3);
  });

  it('claims by priority, then oldest, skips tasks not yet due, and never more than the free slots', async () => {
    const low = await insertTasks(db.pool, 2, { priority: 0 });
    const high = await insertTasks(db.pool, 1, { priority: 5 });
    await insertTasks(db.pool, 1, { priority: 9, runAfterMs: 60_000 });
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 10, leaseMs: 30_000 });
    expect(claimed[0]!.id).toBe(high[0]);
    expect(new Set(claimed.map((t) => t.id))).toEqual(new Set([high[0], low[0], low[1]]));
    expect(claimed.every((t) => t.attempts === 1)).toBe(true);
    const more = await insertTasks(db.pool, 3);
    expect(more).toHaveLength(3);
    expect(await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 10, leaseMs: 30_000 })).toEqual([]);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toEqual({ running: 3, maxRunning: 3, holders: 3 });
    // The three new tasks are due now (only slots are missing); the next one to become due is the one 60 s out.
    const due = await msUntilNextDueTask(db.pool);
    expect(due).toBeGreaterThan(50_000);
    expect(due).toBeLessThanOrEqual(60_000);
  });

  it('hands out node_info_list parsed, and a row whose list does not parse with its reason instead of failing the claim', async () => {
    const [good, bad] = await insertTasks(db.pool, 2);
    await db.pool.query(`UPDATE ai_tasks SET node_info_list = '[{"nodeId": 6, "fieldName": "text"}]' WHERE id = $1`, [bad]);
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 10, leaseMs: 30_000 });
    const byId = new Map(claimed.map((t) => [t.id, t]));
    expect(byId.get(good!)).toMatchObject({
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: expect.stringContaining('a cat') }],
      nodeInfoProblem: null,
    });
    expect(byId.get(bad!)?.nodeInfoList).toEqual([]);
    expect(byId.get(bad!)?.nodeInfoProblem).toMatch(/nodeId[\s\S]*fieldValue|fieldValue[\s\S]*nodeId/);
  });

  it('takes the oldest of equal priority first', async () => {
    const ids = await insertTasks(db.pool, 5);
    const first = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 1, leaseMs: 30_000 });
    expect(first.map((t) => t.id)).toEqual([ids[0]]);
  });

  it('holds the limit of 3 exactly with 4 pools x 8 concurrent claimers', async () => {
    await insertTasks(db.pool, 240);
    const pools = Array.from({ length: 4 }, (_, i) => createPool({ connectionString: db.url, applicationName: `claimer-${i}`, max: 8 }));
    let inFlight = 0;
    let highest = 0;
    let highestRow = 0;
    let done = 0;
    const seen = new Set<string>();
    const duplicates: string[] = [];
    const claimer = async (pool: Pool, who: string) => {
      for (;;) {
        const [task] = await claimPendingTasks(pool, { account: ACCOUNT, processorId: who, limit: 1, leaseMs: 30_000 });
        if (!task) {
          const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE status <> 'SUCCESS'`);
          if (rows[0]!.n === 0) return;
          // The slots are taken by other claimers: yield to let them finish.
          await new Promise((r) => setImmediate(r));
          continue;
        }
        if (seen.has(task.id)) duplicates.push(task.id);
        seen.add(task.id);
        inFlight++;
        highest = Math.max(highest, inFlight);
        const usage = await getAccountUsage(pool, ACCOUNT);
        highestRow = Math.max(highestRow, usage!.running);
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
        inFlight--;
        const finished = await finishTask(pool, { taskId: task.id, claimToken: task.claimToken }, { status: 'SUCCESS', outputs: [] });
        expect(finished?.id).toBe(task.id);
        done++;
      }
    };
    try {
      await Promise.all(pools.flatMap((pool, p) => Array.from({ length: 8 }, (_, c) => claimer(pool, `p${p}-${c}`))));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    expect(done).toBe(240);
    expect(duplicates).toEqual([]);
    expect(highest).toBeLessThanOrEqual(3);
    expect(highest).toBeGreaterThanOrEqual(2); // the claimers did overlap: the test exercised concurrency
    expect(highestRow).toBeLessThanOrEqual(3);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toEqual({ running: 0, maxRunning: 3, holders: 0 });
  });

  it('gives a slot back exactly once however many paths try to end the task', async () => {
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 1, leaseMs: 30_000 });
    expect(task!.id).toBe(id);
    const ref = { taskId: task!.id, claimToken: task!.claimToken };
    const results = await Promise.all([
      finishTask(db.pool, ref, { status: 'SUCCESS', outputs: [{ fileUrl: 'http://x/a.png' }] }),
      finishTask(db.pool, ref, { status: 'FAILED', code: '805', message: 'boom' }),
      requeueTask(db.pool, ref, { code: '421', message: 'full', backoffMs: 0, countAttempt: false }),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toEqual({ running: 0, maxRunning: 3, holders: 0 });
  });

  it('puts a task back without counting the attempt on a capacity refusal, and fails it after max_attempts', async () => {
    const [id] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET max_attempts = 2 WHERE id = $1', [id]);
    const claim = async () => (await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 }))[0]!;
    let task = await claim();
    const back = await requeueTask(db.pool, { taskId: id!, claimToken: task.claimToken }, { code: '421', message: 'TASK_QUEUE_MAXED', backoffMs: 0, countAttempt: false });
    expect(back).toMatchObject({ status: 'PENDING', attempts: 0 });
    task = await claim();
    const retry = await requeueTask(db.pool, { taskId: id!, claimToken: task.claimToken }, { code: 'HTTP_503', message: 'down', backoffMs: 0, countAttempt: true });
    expect(retry).toMatchObject({ status: 'PENDING', attempts: 1 });
    task = await claim();
    expect(task.attempts).toBe(2);
    const last = await requeueTask(db.pool, { taskId: id!, claimToken: task.claimToken }, { code: 'HTTP_503', message: 'down', backoffMs: 0, countAttempt: true });
    expect(last).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'FAILED', error_code: 'HTTP_503', slot_account: null });
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
  });

  it('recovers an expired claim, gives its slot back, and refuses the stale submission', async () => {
    const [id] = await insertTasks(db.pool, 1, { prefix: 'r' });
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'dead', limit: 1, leaseMs: 0 });
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(1);
    const recovered = await recoverExpiredClaims(db.pool, 0);
    expect(recovered).toEqual([{ id, entityName: 'Shot r-1', claimedBy: 'dead', status: 'PENDING' }]);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toEqual({ running: 0, maxRunning: 3, holders: 0 });
    const stale = await recordSubmission(db.pool, {
      taskId: id!,
      claimToken: task!.claimToken,
      runninghubTaskId: '1910246754753896450',
      firstCheckInMs: 1000,
    });
    expect(stale).toEqual({ state: 'claim-lost' });
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'PENDING', attempts: 1, runninghub_task_id: null });
  });

  it('keeps a claim whose lease has not run out', async () => {
    await insertTasks(db.pool, 1);
    await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'alive', limit: 1, leaseMs: 60_000 });
    expect(await recoverExpiredClaims(db.pool, 0)).toEqual([]);
  });

  it('applies a webhook that arrives before the submission is recorded, and ignores redeliveries', async () => {
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    const rh = '1910246754753896451';
    const outputs = [{ fileUrl: 'http://127.0.0.1/files/a.png', fileType: 'png', nodeId: '9' }];
    expect(await recordWebhookResult(db.pool, rh, { kind: 'success', outputs })).toEqual({ state: 'stored' });
    expect(await recordWebhookResult(db.pool, rh, { kind: 'success', outputs })).toEqual({ state: 'duplicate' });
    const recorded = await recordSubmission(db.pool, { taskId: id!, claimToken: task!.claimToken, runninghubTaskId: rh, firstCheckInMs: 5000 });
    expect(recorded).toEqual({ state: 'finished', status: 'SUCCESS' });
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'SUCCESS', outputs, slot_account: null });
    const { rows } = await db.pool.query('SELECT deliveries, applied_at FROM runninghub_webhook_events WHERE runninghub_task_id = $1', [rh]);
    expect(rows[0].deliveries).toBe(2);
    expect(rows[0].applied_at).not.toBeNull();
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
  });

  it('sets aside webhook results that can never apply: their task ended, or no task took the id within an hour', async () => {
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    const rh = '1910246754753896452';
    await recordSubmission(db.pool, { taskId: id!, claimToken: task!.claimToken, runninghubTaskId: rh, firstCheckInMs: 5000 });
    await finishTask(db.pool, { runninghubTaskId: rh }, { status: 'CANCELLED', code: 'CANCELLED', message: 'cancelled on request' });
    // The webhook comes after the task ended: nothing to apply it to.
    expect(await recordWebhookResult(db.pool, rh, { kind: 'failed', code: '805', message: 'late' })).toEqual({ state: 'stored' });
    // Early (no task has the id yet) and fresh: kept for recordSubmission; an hour old: set aside.
    expect(await recordWebhookResult(db.pool, '1910246754753896453', { kind: 'failed', code: '805', message: 'early' })).toEqual({ state: 'stored' });
    expect(await recordWebhookResult(db.pool, '1910246754753896454', { kind: 'failed', code: '805', message: 'stray' })).toEqual({ state: 'stored' });
    await db.pool.query(`UPDATE runninghub_webhook_events SET received_at = now() - interval '61 minutes' WHERE runninghub_task_id = '1910246754753896454'`);

    expect(await applyStoredWebhookResults(db.pool, 100)).toEqual([]);
    const { rows } = await db.pool.query<{ runninghub_task_id: string }>(
      'SELECT runninghub_task_id FROM runninghub_webhook_events WHERE applied_at IS NULL',
    );
    expect(rows.map((r) => r.runninghub_task_id)).toEqual(['1910246754753896453']);
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'CANCELLED', error_code: 'CANCELLED' });
  });

  it('never loses a webhook racing the submission record (50 races)', async () => {
    const ids = await insertTasks(db.pool, 50);
    const applied: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
      const rh = String(1910246754753896000n + BigInt(i));
      await Promise.all([
        recordSubmission(db.pool, { taskId: task!.id, claimToken: task!.claimToken, runninghubTaskId: rh, firstCheckInMs: 60_000 }),
        recordWebhookResult(db.pool, rh, { kind: 'failed', code: '805', message: 'APIKEY_TASK_STATUS_ERROR' }),
      ]);
      applied.push(task!.id);
    }
    // Nothing left for the safety net: the advisory lock made one side see the other every time.
    expect(await applyStoredWebhookResults(db.pool, 100)).toEqual([]);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE status = 'FAILED' AND error_code = '805'`);
    expect(rows[0]!.n).toBe(50);
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
  });

  it('shares due checks between processors; a cancel request is due at once, then backs off like any check', async () => {
    const ids = await insertTasks(db.pool, 3);
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 3, leaseMs: 30_000 });
    for (const [i, task] of claimed.entries()) {
      await recordSubmission(db.pool, { taskId: task.id, claimToken: task.claimToken, runninghubTaskId: `19000000000000000${i}0`, firstCheckInMs: 0 });
    }
    const [a, b] = await Promise.all([
      takeTasksToCheck(db.pool, { limit: 2, recheckMs: 60_000, timeoutMs: 600_000 }),
      takeTasksToCheck(db.pool, { limit: 2, recheckMs: 60_000, timeoutMs: 600_000 }),
    ]);
    const all = [...a, ...b].map((t) => t.id).sort();
    expect(all).toEqual([...ids].sort());
    expect(await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 })).toEqual([]);
    expect((await cancelTask(db.pool, ids[0]!)).outcome).toBe('done');
    const cancel = await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 });
    expect(cancel).toEqual([expect.objectContaining({ id: ids[0], cancelRequested: true, timedOut: false })]);
    // The cancel failed at RunningHub (say): it is not sent again on the next pass, only after recheckMs.
    expect(await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 })).toEqual([]);
    // Asking again does not cut the backoff short either.
    await cancelTask(db.pool, ids[0]!);
    expect(await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 })).toEqual([]);
    // A timed-out task is flagged at its next due check, and likewise not re-taken on every pass.
    await db.pool.query(`UPDATE ai_tasks SET submitted_at = now() - interval '11 minutes', next_check_at = now() WHERE id = $1`, [ids[1]]);
    const late = await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 });
    expect(late).toEqual([expect.objectContaining({ id: ids[1], timedOut: true })]);
    expect(await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 })).toEqual([]);
  });

  it('makes a cancel requested during the create due at once when the id is stored', async () => {
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    expect((await cancelTask(db.pool, id!)).outcome).toBe('done');
    await recordSubmission(db.pool, { taskId: task!.id, claimToken: task!.claimToken, runninghubTaskId: '1900000000000000777', firstCheckInMs: 60_000 });
    expect(await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 })).toEqual([
      expect.objectContaining({ id, cancelRequested: true }),
    ]);
  });
});
