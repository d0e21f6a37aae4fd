import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyStoredWebhookResults,
  claimPendingTasks,
  createPool,
  ensureAccount,
  finishTask,
  getAccountUsage,
  listLiveProcessors,
  markProcessorStopped,
  msUntilNextDueTask,
  recordHeartbeat,
  recordSubmission,
  recordWebhookResult,
  recoverExpiredClaims,
  requeueTask,
  takeTasksToCheck,
  type Pool,
} from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const ACCOUNT = createHash('sha256').update('test-key').digest('hex');

async function insertTasks(pool: Pool, count: number, fields: { priority?: number; runAfterMs?: number } = {}): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, priority, run_after, created_at)
     SELECT 'shot', g::text, 'Shot ' || g, '1904136902449209346', $2,
            now() + make_interval(secs => $3::double precision / 1000), clock_timestamp()
       FROM generate_series(1, $1) g
     RETURNING id`,
    [count, fields.priority ?? 0, fields.runAfterMs ?? 0],
  );
  return rows.map((r) => r.id);
}

async function statusOf(pool: Pool, id: string) {
  const { rows } = await pool.query(
    'SELECT status, attempts, error_code, runninghub_task_id, slot_account, outputs FROM ai_tasks WHERE id = $1',
    [id],
  );
  return rows[0];
}

describe('task queue SQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('task_queue');
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, runninghub_webhook_events, processor_heartbeats');
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
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'dead', limit: 1, leaseMs: 0 });
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(1);
    const recovered = await recoverExpiredClaims(db.pool, 0);
    expect(recovered).toEqual([{ id, entityName: 'Shot 1', claimedBy: 'dead', status: 'PENDING' }]);
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

  it('shares due checks between processors and returns cancel requests and timeouts at once', async () => {
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
    await db.pool.query('UPDATE ai_tasks SET cancel_requested_at = now() WHERE id = $1', [ids[0]]);
    const cancel = await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 });
    expect(cancel).toEqual([expect.objectContaining({ id: ids[0], cancelRequested: true, timedOut: false })]);
    await db.pool.query(`UPDATE ai_tasks SET submitted_at = now() - interval '11 minutes' WHERE id = $1`, [ids[1]]);
    const late = await takeTasksToCheck(db.pool, { limit: 5, recheckMs: 60_000, timeoutMs: 600_000 });
    expect(late.find((t) => t.id === ids[1])).toMatchObject({ timedOut: true });
  });

  it('lists live processors and drops stopped ones', async () => {
    const beat = {
      host: 'h',
      pid: 1,
      startedAt: new Date(),
      submitted: 4,
      succeeded: 3,
      failed: 1,
      retried: 0,
      consecutiveErrors: 0,
      lastError: null,
    };
    await recordHeartbeat(db.pool, { ...beat, processorId: 'a' });
    await recordHeartbeat(db.pool, { ...beat, processorId: 'b' });
    await markProcessorStopped(db.pool, 'b');
    const live = await listLiveProcessors(db.pool);
    expect(live.map((p) => p.processorId)).toEqual(['a']);
    expect(live[0]).toMatchObject({ submitted: 4, succeeded: 3, failed: 1 });
  });
});
