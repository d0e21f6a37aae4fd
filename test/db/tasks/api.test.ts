// The API's statements of src/db/tasks/api.ts on a real PostgreSQL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cancelTask,
  createPool,
  createTask,
  getTask,
  isDatabaseUnavailable,
  getTaskStats,
  listTasks,
  requestFingerprint,
  retryTask,
  type AiTask,
  type TaskCursor,
} from '../../../src/db/index.js';
import { activateTask } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { newTask } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('tasks_api');
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
    await activateTask(db.pool, task.id);
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

    it('creates that arrive together share statements, each still getting its own row', async () => {
      // Counted on the real pool: how many statements reach PostgreSQL for 60 creates at once.
      let statements = 0;
      const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => Promise<unknown>;
      const counting = Object.assign(Object.create(db.pool) as typeof db.pool, {
        query: (...args: unknown[]) => {
          statements += 1;
          return query(...args);
        },
      });
      const inputs = Array.from({ length: 60 }, (_, i) => newTask({ entityId: `together-${i}`, priority: i }));
      const results = await Promise.all(inputs.map((input) => createTask(counting, input)));
      expect(results.every((r) => r.outcome === 'created')).toBe(true);
      expect(results.map((r) => [r.task.entityId, r.task.priority])).toEqual(inputs.map((i) => [i.entityId, i.priority]));
      expect(new Set(results.map((r) => r.task.id)).size).toBe(60);
      // The first few go alone (statements in flight), the rest together: far fewer than one each.
      expect(statements).toBeLessThanOrEqual(10);
      const { rows } = await db.pool.query<{ n: number; events: number }>(
        `SELECT count(*)::int AS n, (SELECT count(*)::int FROM task_events WHERE task_id = ANY($1::uuid[])) AS events
         FROM ai_tasks WHERE id = ANY($1::uuid[])`,
        [results.map((r) => r.task.id)],
      );
      // Stored, and each row's own trigger ran (one 'created' event per task).
      expect(rows[0]).toEqual({ n: 60, events: 60 });
    });

    it('a create the database refuses fails alone: the creates sent in the same statement are stored', async () => {
      // Longer than the column allows (the API's schema refuses it first): only PostgreSQL's CHECK stops it.
      const inputs = Array.from({ length: 12 }, (_, i) => newTask({ entityId: `mixed-${i}`, entityType: i === 9 ? 'x'.repeat(101) : 'shot' }));
      const outcomes = await Promise.allSettled(inputs.map((input) => createTask(db.pool, input)));
      expect(outcomes[9]).toMatchObject({ status: 'rejected', reason: { code: '23514' } });
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(11);
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE entity_id LIKE 'mixed-%'`);
      expect(rows[0]!.n).toBe(11);
    });

    it('keyed and unkeyed creates in one statement: each key once, the others all stored', async () => {
      const results = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => createTask(db.pool, newTask({ entityId: `free-${i}` }))),
        ...Array.from({ length: 10 }, (_, i) => createTask(db.pool, newTask({ entityId: 'keyed' }), { idempotencyKey: `k-${i % 3}` })),
        createTask(db.pool, newTask({ entityId: 'other body' }), { idempotencyKey: 'k-0' }),
      ]);
      expect(results.slice(0, 10).every((r) => r.outcome === 'created')).toBe(true);
      const keyed = results.slice(10, 20);
      expect(keyed.filter((r) => r.outcome === 'created')).toHaveLength(3);
      expect(keyed.filter((r) => r.outcome === 'replayed')).toHaveLength(7);
      expect(results[20]!.outcome).toBe('conflict');
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks');
      expect(rows[0]!.n).toBe(13);
    });

    it('a create that cannot get a statement slot in connectionTimeoutMillis fails as database unavailable', async () => {
      const pool = createPool({ connectionString: db.url, applicationName: 'test-create-wait', max: 3, connectionTimeoutMillis: 300 });
      const lock = await db.pool.connect();
      try {
        // Connected beforehand: 300 ms must time the wait for a slot, not a slow connect on a loaded machine.
        await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1'), pool.query('SELECT 1')]);
        // Every INSERT now waits for the lock: the first creates hold their statement slots (max - 1 = 2).
        await lock.query('BEGIN');
        await lock.query('LOCK TABLE ai_tasks IN ACCESS EXCLUSIVE MODE');
        const held = [createTask(pool, newTask({ entityId: 'held-0' })), createTask(pool, newTask({ entityId: 'held-1' }))];
        const queued = await Promise.allSettled([createTask(pool, newTask({ entityId: 'queued-0' })), createTask(pool, newTask({ entityId: 'queued-1' }))]);
        for (const outcome of queued) {
          expect(outcome.status).toBe('rejected');
          expect(isDatabaseUnavailable((outcome as PromiseRejectedResult).reason)).toBe(true);
        }
        await lock.query('ROLLBACK');
        expect((await Promise.all(held)).map((r) => r.task.entityId)).toEqual(['held-0', 'held-1']);
        const { rows } = await db.pool.query<{ id: string }>(`SELECT entity_id AS id FROM ai_tasks WHERE entity_id LIKE 'queued-%'`);
        expect(rows).toEqual([]);
      } finally {
        lock.release();
        await pool.end();
      }
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
    const setStatus = async (id: string, status: string) => {
      if (status !== 'PENDING') await activateTask(db.pool, id);
      return db.pool.query(
        `UPDATE ai_tasks SET status = $2, finished_at = CASE WHEN $2 IN ('SUCCESS','FAILED','CANCELLED') THEN now() END,
           submitted_at = CASE WHEN $2 = 'ACTIVE' THEN now() END WHERE id = $1`,
        [id, status],
      );
    };

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
      await activateTask(db.pool, task.id);
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
