// Migration 007 on a real PostgreSQL: the events its trigger appends and announces, RunningHub's
// phase, the callback outbox written in the transaction of the end, and retention's batches.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  TASK_EVENT_KINDS,
  cancelTask,
  claimDueCallbacks,
  claimPendingTasks,
  createTask,
  ensureAccount,
  finishTask,
  listStoryboardCallbacks,
  listTaskCallbacks,
  parseTaskEventPayload,
  pruneFinished,
  readTaskEventsAfter,
  recordCallbackOutcome,
  recordRunningHubPhase,
  recordSubmission,
  recordTaskEvent,
  requeueTask,
  retryTask,
  type TaskEvent,
} from '../../../src/db/index.js';
import { activateTask, insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ROOT } from '../../support/programs.js';
import { waitFor } from '../../support/wait.js';
import { ACCOUNT, newTask } from '../tasks/fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('live');
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.pool.query('TRUNCATE ai_tasks, storyboards, task_events, task_callbacks, ai_tasks_archive, storyboards_archive, runninghub_webhook_events');
  await db.pool.query('DELETE FROM runninghub_accounts');
  await ensureAccount(db.pool, ACCOUNT, 3);
});

/** Run `work` in a transaction that is rolled back. */
async function rolledBack(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const kindsOf = async (taskId: string) =>
  (await readTaskEventsAfter(db.pool, '0', { taskId }, 100)).map((e) => [e.kind, e.status, e.runninghubPhase]);

describe('task events', () => {
  it('the CHECK of migration 007 lists exactly the kinds of life.ts', async () => {
    const sql = await readFile(`${ROOT}src/db/migrations/007_live.sql`, 'utf8');
    const check = /kind\s+text NOT NULL CHECK \(kind IN \(([^)]*)\)\)/.exec(sql);
    expect(check).not.toBeNull();
    const listed = [...check![1]!.matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(TASK_EVENT_KINDS).sort());
  });

  it('records a task from creation to success, with RunningHub phases, in order', async () => {
    const created = await createTask(db.pool, newTask());
    const id = created.task.id;
    const [claimed] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    const rh = '1910246754753896451';
    await recordSubmission(db.pool, { taskId: id, claimToken: claimed!.claimToken, runninghubTaskId: rh, firstCheckInMs: 5000 });
    expect(await recordRunningHubPhase(db.pool, rh, 'QUEUED')).toBe(true);
    expect(await recordRunningHubPhase(db.pool, rh, 'QUEUED')).toBe(false); // unchanged: no event
    expect(await recordRunningHubPhase(db.pool, rh, 'RUNNING')).toBe(true);
    const phase = await db.pool.query('SELECT runninghub_phase FROM ai_tasks WHERE id = $1', [id]);
    expect(phase.rows[0].runninghub_phase).toBe('RUNNING');
    await finishTask(db.pool, { runninghubTaskId: rh }, { status: 'SUCCESS', outputs: [{ fileUrl: 'http://x/a.png' }] });
    expect(await kindsOf(id)).toEqual([
      ['created', 'PENDING', null],
      ['claimed', 'ACTIVE', null],
      ['submitted', 'ACTIVE', null],
      ['queued', 'ACTIVE', 'QUEUED'],
      ['running', 'ACTIVE', 'RUNNING'],
      ['succeeded', 'SUCCESS', null],
    ]);
    // The phase means nothing once the task has ended.
    const after = await db.pool.query('SELECT runninghub_phase FROM ai_tasks WHERE id = $1', [id]);
    expect(after.rows[0].runninghub_phase).toBeNull();
    const [succeeded] = (await readTaskEventsAfter(db.pool, '0', { taskId: id }, 100)).slice(-1);
    expect(succeeded!.detail).toMatchObject({ outputs: 1, runninghubTaskId: rh, attempts: 1 });
  });

  it('records retries, cancels and failures with their error', async () => {
    const [a, b] = await insertTasks(db.pool, 2);
    const [claimed] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    expect(claimed!.id).toBe(a);
    await requeueTask(db.pool, { taskId: a!, claimToken: claimed!.claimToken }, { code: '433', message: 'busy', backoffMs: 0, countAttempt: true });
    await cancelTask(db.pool, b!);
    await activateTask(db.pool, a!);
    await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = 'X', error_message = 'boom' WHERE id = $1`, [a]);
    await retryTask(db.pool, a!);
    expect((await kindsOf(a!)).map(([kind]) => kind)).toEqual(['created', 'claimed', 'retrying', 'claimed', 'failed', 'retrying']);
    expect((await kindsOf(b!)).map(([kind]) => kind)).toEqual(['created', 'cancelled']);
    const failed = (await readTaskEventsAfter(db.pool, '0', { taskId: a! }, 100)).find((e) => e.kind === 'failed');
    expect(failed!.detail).toMatchObject({ error: { code: 'X', message: 'boom' } });
  });

  it('announces each event at commit with the event as payload, and nothing for a rolled back change', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const received: TaskEvent[] = [];
    listener.on('notification', (message) => {
      const parsed = parseTaskEventPayload(message.payload ?? '');
      if ('event' in parsed) received.push(parsed.event);
    });
    await listener.query('LISTEN task_events');
    try {
      await rolledBack(db.pool, (client) =>
        client.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('shot', 'rolled', 'R', '1')`),
      );
      const [id] = await insertTasks(db.pool, 1, { prefix: 'live' });
      const events = await waitFor('the created event', () => received.length >= 1 && received);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ taskId: id, kind: 'created', status: 'PENDING', entityType: 'shot', entityId: 'live-1' });
      const stored = await readTaskEventsAfter(db.pool, '0', {}, 10);
      expect(stored).toEqual(events);
      const kept = await recordTaskEvent(db.pool, id!, 'output_kept', { file: 'a.png' });
      await waitFor('the output_kept event', () => received.length >= 2);
      expect(received[1]).toEqual(kept);
    } finally {
      await listener.end();
    }
  });

  it('reads what a client missed after its last event id, filtered', async () => {
    const ids = await insertTasks(db.pool, 3, { prefix: 'miss' });
    const all = await readTaskEventsAfter(db.pool, '0', {}, 100);
    expect(all.map((e) => e.taskId)).toEqual(ids);
    expect(await readTaskEventsAfter(db.pool, all[0]!.id, {}, 100)).toEqual(all.slice(1));
    expect(await readTaskEventsAfter(db.pool, '0', { entityType: 'shot', entityId: 'miss-2' }, 100)).toEqual([all[1]]);
    expect(await readTaskEventsAfter(db.pool, '0', {}, 2)).toEqual(all.slice(0, 2));
  });

  it('refuses a payload that is not an event, naming the problem', () => {
    expect(parseTaskEventPayload('nope')).toMatchObject({ problem: expect.stringContaining('not JSON') });
    expect(parseTaskEventPayload('{"id":"1"}')).toMatchObject({ problem: expect.stringContaining('taskId') });
  });
});

describe('the callback outbox', () => {
  it('writes one delivery in the transaction that ends a task with a callback URL, none without', async () => {
    const withUrl = await createTask(db.pool, newTask({ callbackUrl: 'http://127.0.0.1:9/hook' }));
    const without = await createTask(db.pool, newTask({ entityId: 's2' }));
    expect(withUrl.task.callbackUrl).toBe('http://127.0.0.1:9/hook');
    await activateTask(db.pool, [withUrl.task.id, without.task.id]);
    // A rolled back end leaves no delivery.
    await rolledBack(db.pool, async (client) => {
      await client.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [withUrl.task.id]);
      const { rows } = await client.query('SELECT count(*)::int AS n FROM task_callbacks');
      expect(rows[0].n).toBe(1); // written in the transaction of the end
    });
    expect(await listTaskCallbacks(db.pool, withUrl.task.id)).toEqual([]);
    await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = 'E', error_message = 'm' WHERE id = ANY($1)`, [
      [withUrl.task.id, without.task.id],
    ]);
    expect(await listTaskCallbacks(db.pool, without.task.id)).toEqual([]);
    const [delivery] = await listTaskCallbacks(db.pool, withUrl.task.id);
    expect(delivery).toMatchObject({ state: 'pending', attempts: 0, url: 'http://127.0.0.1:9/hook' });

    const [due] = await claimDueCallbacks(db.pool, { limit: 10, leaseMs: 60_000 });
    expect(due).toMatchObject({ taskId: withUrl.task.id, attempt: 1, payload: { type: 'task.finished', status: 'FAILED', error: { code: 'E', message: 'm' } } });
    // Leased: nobody else gets it meanwhile.
    expect(await claimDueCallbacks(db.pool, { limit: 10, leaseMs: 60_000 })).toEqual([]);
    expect(await recordCallbackOutcome(db.pool, due!, { kind: 'refused', httpStatus: 500, error: 'HTTP 500', retryInMs: 0 })).toBe(true);
    const [again] = await claimDueCallbacks(db.pool, { limit: 10, leaseMs: 60_000 });
    expect(again!.attempt).toBe(2);
    // A stale attempt cannot record over the newer one.
    expect(await recordCallbackOutcome(db.pool, due!, { kind: 'delivered', httpStatus: 200 })).toBe(false);
    expect(await recordCallbackOutcome(db.pool, again!, { kind: 'delivered', httpStatus: 204 })).toBe(true);
    expect(await listTaskCallbacks(db.pool, withUrl.task.id)).toEqual([
      expect.objectContaining({ state: 'delivered', attempts: 2, lastStatus: 204, lastError: null, nextAttemptAt: null }),
    ]);
  });

  it('refuses a callback URL that is not http(s)', async () => {
    await expect(createTask(db.pool, newTask({ callbackUrl: 'ftp://x/y' }))).rejects.toThrow(/callback_url/);
  });
});

/** A storyboard of `shots` PENDING shots (as migration 006 stores them), and the shots' ids. */
async function insertStoryboard(shots: number, callbackUrl: string | null = null): Promise<{ id: string; shotIds: string[] }> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO storyboards (name, entity_type, entity_id, callback_url) VALUES ('Board', 'project', 'p1', $1) RETURNING id`,
    [callbackUrl],
  );
  const id = rows[0]!.id;
  const inserted = await db.pool.query<{ id: string }>(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, storyboard_id, shot_index)
     SELECT 'shot', 'b-' || g, 'Shot ' || g, '1904136902449209346', $1, g FROM generate_series(0, $2 - 1) g RETURNING id`,
    [id, shots],
  );
  return { id, shotIds: inserted.rows.map((r) => r.id) };
}

describe('storyboards', () => {
  it('tags every event of a shot with its storyboard, and writes one storyboard callback when its last shot ends', async () => {
    const board = await insertStoryboard(2, 'http://127.0.0.1:9/board');
    const events = await readTaskEventsAfter(db.pool, '0', { storyboardId: board.id }, 100);
    expect(events.map((e) => [e.taskId, e.kind])).toEqual(board.shotIds.map((id) => [id, 'created']));
    await activateTask(db.pool, board.shotIds);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() WHERE id = $1`, [board.shotIds[0]]);
    expect(await listStoryboardCallbacks(db.pool, board.id)).toEqual([]);
    await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', error_code = 'E', finished_at = now() WHERE id = $1`, [board.shotIds[1]]);
    expect(await listStoryboardCallbacks(db.pool, board.id)).toEqual([expect.objectContaining({ state: 'pending', url: 'http://127.0.0.1:9/board' })]);
    const [due] = await claimDueCallbacks(db.pool, { limit: 5, leaseMs: 1000 });
    expect(due).toMatchObject({
      taskId: null,
      storyboardId: board.id,
      payload: { type: 'storyboard.finished', status: 'done_with_failures', total: 2, success: 1, failed: 1, cancelled: 0 },
    });
  });
});

describe('retention', () => {
  const finishOld = async (ids: string[], ageSql: string) => {
    await activateTask(db.pool, ids);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() - $2::interval WHERE id = ANY($1)`, [ids, ageSql]);
  };

  it('deletes finished tasks older than the age in batches, never live or recent ones', async () => {
    const old = await insertTasks(db.pool, 5, { prefix: 'old' });
    const recent = await insertTasks(db.pool, 2, { prefix: 'recent' });
    const live = await insertTasks(db.pool, 2, { prefix: 'live' });
    await finishOld(old, '2 hours');
    await finishOld(recent, '1 minute');
    await db.pool.query(`UPDATE ai_tasks SET runninghub_task_id = '77' || substr(entity_id, 5) WHERE id = ANY($1)`, [old]);
    await db.pool.query(
      `INSERT INTO runninghub_webhook_events (runninghub_task_id, result, applied_at) SELECT runninghub_task_id, '{}', now() FROM ai_tasks WHERE id = ANY($1)`,
      [old],
    );
    await activateTask(db.pool, live[0]!);
    await db.pool.query(`UPDATE task_events SET at = now() - interval '2 hours' WHERE task_id = ANY($1)`, [old]);
    const first = await pruneFinished(db.pool, { maxAgeMs: 3_600_000, batchSize: 3, mode: 'delete' });
    expect(first.taskIds).toHaveLength(3);
    expect(first.events).toBe(3);
    const pruned = [...first.taskIds];
    let events = first.events;
    for (let batch = 2; ; batch++) {
      const next = await pruneFinished(db.pool, { maxAgeMs: 3_600_000, batchSize: 3, mode: 'delete' });
      if (next.taskIds.length === 0 && next.events === 0) break;
      expect(batch).toBeLessThan(10);
      pruned.push(...next.taskIds);
      events += next.events;
    }
    expect(pruned.sort()).toEqual([...old].sort());
    expect(events).toBe(15); // created, claimed, succeeded of each
    const left = await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks');
    expect(left.rows.map((r) => r.id).sort()).toEqual([...recent, ...live].sort());
    const oldEvents = await db.pool.query('SELECT count(*)::int AS n FROM task_events WHERE task_id = ANY($1)', [old]);
    expect(oldEvents.rows[0].n).toBe(0);
    const webhooks = await db.pool.query('SELECT count(*)::int AS n FROM runninghub_webhook_events');
    expect(webhooks.rows[0].n).toBe(0);
  });

  it('archives instead when asked, and waits for a pending callback', async () => {
    const [archived, waiting] = await insertTasks(db.pool, 2, { prefix: 'arch' });
    await db.pool.query(`UPDATE ai_tasks SET callback_url = 'http://127.0.0.1:9/h' WHERE id = $1`, [waiting]);
    await finishOld([archived!, waiting!], '2 days');
    const result = await pruneFinished(db.pool, { maxAgeMs: 86_400_000, batchSize: 10, mode: 'archive' });
    expect(result.taskIds).toEqual([archived]);
    const { rows } = await db.pool.query('SELECT id, task FROM ai_tasks_archive');
    expect(rows).toEqual([{ id: archived, task: expect.objectContaining({ id: archived, status: 'SUCCESS', entity_id: 'arch-1' }) }]);
    const [delivery] = await claimDueCallbacks(db.pool, { limit: 1, leaseMs: 1000 });
    await recordCallbackOutcome(db.pool, delivery!, { kind: 'refused', httpStatus: null, error: 'gave up', retryInMs: null });
    expect((await pruneFinished(db.pool, { maxAgeMs: 86_400_000, batchSize: 10, mode: 'archive' })).taskIds).toEqual([waiting]);
    expect(await listTaskCallbacks(db.pool, waiting!)).toEqual([]);
  });

  it('deletes a finished storyboard with its shots, never one with a live shot', async () => {
    const done = await insertStoryboard(3);
    const running = await insertStoryboard(2);
    await activateTask(db.pool, [...done.shotIds, running.shotIds[0]!]);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() WHERE id = ANY($1)`, [[...done.shotIds, running.shotIds[0]]]);
    await db.pool.query(`UPDATE storyboards SET finished_at = now() - interval '2 days'`);
    const result = await pruneFinished(db.pool, { maxAgeMs: 86_400_000, batchSize: 500, mode: 'archive' });
    expect(result.storyboardIds).toEqual([done.id]);
    expect(result.taskIds.sort()).toEqual([...done.shotIds].sort());
    const boards = await db.pool.query<{ id: string }>('SELECT id FROM storyboards');
    expect(boards.rows.map((r) => r.id)).toEqual([running.id]);
    // Archived as it was, its counts included (its shots' delete counted them down to 0 first).
    const archived = await db.pool.query<{ storyboard: Record<string, unknown> }>('SELECT storyboard FROM storyboards_archive WHERE id = $1', [done.id]);
    expect(archived.rows).toHaveLength(1);
    expect(archived.rows[0]!.storyboard).toMatchObject({ id: done.id, pending: 0, active: 0, success: 3, failed: 0, cancelled: 0 });
    const shotsLeft = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
    expect(shotsLeft.rows[0].n).toBe(2);
  });
});
