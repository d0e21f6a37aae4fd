import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyTaskResult,
  finishKeepingOutputs,
  takeOutputsToKeep,
  claimPendingTasks,
  ensureAccount,
  listLiveProcessors,
  markProcessorStopped,
  recordHeartbeat,
  recordProcessorError,
  recordSubmission,
  recordWebhookResult,
  requeueTask,
} from '../../src/db/index.js';
import { insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const beat = {
  host: 'h',
  pid: 1,
  startedAt: new Date(),
  submitted: 4,
  retried: 0,
  orphaned: 2,
  orphanCancelFailures: 1,
  consecutiveErrors: 0,
  lastError: null,
};

describe('processor bookkeeping', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('processors');
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE processor_heartbeats, processor_errors');
  });

  it('lists live processors and drops stopped ones', async () => {
    await recordHeartbeat(db.pool, { ...beat, processorId: 'a' });
    await recordHeartbeat(db.pool, { ...beat, processorId: 'b' });
    await markProcessorStopped(db.pool, 'b');
    const live = await listLiveProcessors(db.pool);
    expect(live.map((p) => p.processorId)).toEqual(['a']);
    expect(live[0]).toMatchObject({ submitted: 4, orphaned: 2, orphanCancelFailures: 1, succeeded: 0, failed: 0 });
  });

  it('keeps a stopped processor stopped when a late beat of the same run arrives, but not a new run', async () => {
    const run = { ...beat, processorId: 'late', startedAt: new Date('2026-01-01T00:00:00.123Z') };
    await recordHeartbeat(db.pool, run);
    await markProcessorStopped(db.pool, 'late');
    // A beat that was already on its way when the processor stopped commits after markProcessorStopped.
    await recordHeartbeat(db.pool, { ...run, submitted: 5 });
    expect(await listLiveProcessors(db.pool)).toEqual([]);
    // Restarted under the same id: live again.
    await recordHeartbeat(db.pool, { ...run, startedAt: new Date('2026-01-01T00:05:00.456Z') });
    expect((await listLiveProcessors(db.pool)).map((p) => p.processorId)).toEqual(['late']);
  });

  it('drops processors whose last beat is older than the staleness limit', async () => {
    await recordHeartbeat(db.pool, { ...beat, processorId: 'old' });
    await db.pool.query(`UPDATE processor_heartbeats SET last_beat_at = now() - interval '1 minute'`);
    expect(await listLiveProcessors(db.pool)).toEqual([]);
    expect((await listLiveProcessors(db.pool, 120_000)).map((p) => p.processorId)).toEqual(['old']);
  });

  it('credits every end of a task to the run that claimed it, whatever path ended it; a new run starts from zero', async () => {
    const account = 'c'.repeat(64);
    await ensureAccount(db.pool, account, 10);
    const run = { ...beat, processorId: 'credited', startedAt: new Date('2026-01-02T00:00:00.000Z') };
    await recordHeartbeat(db.pool, run);
    await insertTasks(db.pool, 5, { maxAttempts: 1 });
    const claimed = await claimPendingTasks(db.pool, { account, processorId: 'credited', limit: 5, leaseMs: 60_000 });
    expect(claimed).toHaveLength(5);
    const submit = async (i: number) => {
      const rh = `19102467547538970${i}0`;
      await recordSubmission(db.pool, { taskId: claimed[i]!.id, claimToken: claimed[i]!.claimToken, runninghubTaskId: rh, firstCheckInMs: 60_000 });
      return rh;
    };
    // The API's webhook handler, the poll, a timeout, a failed create with no attempts left, a cancel.
    await recordWebhookResult(db.pool, await submit(0), { kind: 'success', outputs: [] });
    await applyTaskResult(db.pool, { runninghubTaskId: await submit(1) }, { kind: 'success', outputs: [] });
    await applyTaskResult(db.pool, { runninghubTaskId: await submit(2) }, { kind: 'timed-out', message: 'too long' });
    await requeueTask(db.pool, { taskId: claimed[3]!.id, claimToken: claimed[3]!.claimToken }, { code: 'HTTP_503', message: 'down', backoffMs: 0, countAttempt: true });
    await applyTaskResult(db.pool, { runninghubTaskId: await submit(4) }, { kind: 'cancelled' });
    // The two successes end once their (here: no) outputs are kept, by the run that keeps them.
    const keeping = await takeOutputsToKeep(db.pool, { processorId: 'credited', limit: 5, leaseMs: 60_000 });
    expect(keeping).toHaveLength(2);
    for (const task of keeping) expect(await finishKeepingOutputs(db.pool, task, [])).toBe(true);
    // The processor's next beat does not overwrite what the database counted.
    await recordHeartbeat(db.pool, { ...run, submitted: 4 });
    expect((await listLiveProcessors(db.pool)).find((p) => p.processorId === 'credited')).toMatchObject({ submitted: 4, succeeded: 2, failed: 2 });
    await recordHeartbeat(db.pool, { ...run, startedAt: new Date('2026-01-02T00:05:00.000Z') });
    expect((await listLiveProcessors(db.pool)).find((p) => p.processorId === 'credited')).toMatchObject({ succeeded: 0, failed: 0 });
  });

  it('takes again at once the outputs a keeper of its own leased but no longer keeps (the attempt died), not those it keeps or another holds', async () => {
    const account = 'd'.repeat(64);
    await ensureAccount(db.pool, account, 10);
    const ids = await insertTasks(db.pool, 3);
    const claimed = await claimPendingTasks(db.pool, { account, processorId: 'keeper', limit: 3, leaseMs: 60_000 });
    for (const [i, task] of claimed.entries()) {
      const rh = `29102467547538970${i}0`;
      await recordSubmission(db.pool, { taskId: task.id, claimToken: task.claimToken, runninghubTaskId: rh, firstCheckInMs: 60_000 });
      await applyTaskResult(db.pool, { runninghubTaskId: rh }, { kind: 'success', outputs: [{ fileUrl: `https://example.test/${i}.png`, fileType: 'png' }] });
    }
    const first = await takeOutputsToKeep(db.pool, { processorId: 'keeper', limit: 2, leaseMs: 600_000 });
    const other = await takeOutputsToKeep(db.pool, { processorId: 'other', limit: 1, leaseMs: 600_000 });
    expect(first).toHaveLength(2);
    expect(other).toHaveLength(1);
    // 'keeper' still keeps first[0]; its attempt on first[1] died: only that one comes back, at once.
    const again = await takeOutputsToKeep(db.pool, { processorId: 'keeper', limit: 3, leaseMs: 600_000, keeping: [first[0]!.id] });
    expect(again.map((t) => t.id)).toEqual([first[1]!.id]);
    expect(ids).toContain(again[0]!.id);
    // The retake renews the lease token: the dead attempt can no longer finish it.
    expect(await finishKeepingOutputs(db.pool, first[1]!, [])).toBe(false);
    expect(await finishKeepingOutputs(db.pool, again[0]!, [])).toBe(true);
  });

  it('counts the same error once per code and message', async () => {
    await recordProcessorError(db.pool, 'DATABASE', 'connection refused');
    await recordProcessorError(db.pool, 'DATABASE', 'connection refused');
    await recordProcessorError(db.pool, 'DATABASE', 'timeout');
    const { rows } = await db.pool.query<{ message: string; count: string }>(
      'SELECT message, count FROM processor_errors ORDER BY message',
    );
    expect(rows).toEqual([
      { message: 'connection refused', count: '2' },
      { message: 'timeout', count: '1' },
    ]);
  });
});
