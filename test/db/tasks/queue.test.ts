// The queue statements of src/db/tasks/queue.ts on a real PostgreSQL: slots, claims, requeues,
// lease recovery and checks.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cancelTask,
  claimPendingTasks,
  createPool,
  ensureAccount,
  finishTask,
  getAccountUsage,
  msUntilNextDueTask,
  recordSubmission,
  recoverExpiredClaims,
  requeueTask,
  takeTasksToCheck,
  type Pool,
} from '../../../src/db/index.js';
import { insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ACCOUNT, statusOf } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('tasks_queue');
});
afterAll(async () => {
  await db.drop();
});

describe('the queue', () => {
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
