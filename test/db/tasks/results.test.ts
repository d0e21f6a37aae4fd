// Results and webhook events (src/db/tasks/results.ts) on a real PostgreSQL: every source of a
// result goes through applyTaskResult.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyStoredWebhookResults,
  claimPendingTasks,
  ensureAccount,
  finishTask,
  getAccountUsage,
  recordSubmission,
  recordWebhookResult,
} from '../../../src/db/index.js';
import { insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { waitFor } from '../../support/wait.js';
import { ACCOUNT, statusOf } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('tasks_results');
});
afterAll(async () => {
  await db.drop();
});

describe('results and webhook events', () => {
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, runninghub_webhook_events');
    await db.pool.query('DELETE FROM runninghub_accounts');
    await ensureAccount(db.pool, ACCOUNT, 3);
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
    // RunningHub's SUCCESS: the task keeps its outputs first (keepingOutputs), its slot already given back.
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'ACTIVE', outputs: null, slot_account: null });
    const { rows: keeping } = await db.pool.query('SELECT runninghub_outputs FROM ai_tasks WHERE id = $1', [id]);
    expect(keeping[0].runninghub_outputs).toEqual(outputs);
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
    // Nothing left for the safety net: the advisory lock made one side see the other every time (the
    // webhook's second transaction included).
    expect(await applyStoredWebhookResults(db.pool, 100)).toEqual([]);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE status = 'FAILED' AND error_code = '805'`);
    expect(rows[0]!.n).toBe(50);
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
  });

  it('applies a webhook whose one statement began before the submission record committed', async () => {
    // The webhook's statement takes its snapshot, then waits for the lock a submission record holds; once
    // that commits (having found no event), the snapshot does not show the stored id: the second
    // transaction must apply the result.
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    const rh = '1910246754753897001';
    const submission = await db.pool.connect();
    try {
      await submission.query('BEGIN');
      await submission.query(`UPDATE ai_tasks SET runninghub_task_id = $2, submitted_at = now(), claim_expires_at = NULL WHERE id = $1`, [id, rh]);
      await submission.query('SELECT pg_advisory_xact_lock(hashtext($1))', [rh]);
      const webhook = recordWebhookResult(db.pool, rh, { kind: 'failed', code: '805', message: 'raced' });
      await waitFor('the webhook to wait for the lock', async () => {
        const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
        return rows[0]!.n === 1;
      });
      await submission.query('COMMIT');
      expect(await webhook).toMatchObject({ state: 'applied', task: { id, status: 'FAILED' } });
    } finally {
      submission.release();
    }
    expect(task!.id).toBe(id);
    expect(await statusOf(db.pool, id!)).toMatchObject({ status: 'FAILED', error_code: '805' });
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
    const { rows } = await db.pool.query<{ applied: boolean }>(`SELECT applied_at IS NOT NULL AS applied FROM runninghub_webhook_events WHERE runninghub_task_id = $1`, [rh]);
    expect(rows).toEqual([{ applied: true }]);
  });
});
