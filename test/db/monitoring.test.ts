import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMonitoringSnapshot, listTasksFinishedSince, recordHeartbeat } from '../../src/db/index.js';
import { activateTask, insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('monitoring queries', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('db_monitoring');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('returns each finished task once, in pages, and only after it settled', async () => {
    const ids = await insertTasks(db.pool, 5);
    // Four finished a minute ago (10 s queued, 20 s at RunningHub), one just now.
    // Two share an instant (microseconds apart from the next one): a page never splits an instant.
    const offsetsUs = [0, 7, 7, 13];
    await activateTask(db.pool, ids.slice(0, 4));
    for (const [index, id] of ids.slice(0, 4).entries()) {
      await db.pool.query(
        `UPDATE ai_tasks SET status = 'SUCCESS', created_at = now() - interval '90 seconds',
                submitted_at = now() - interval '80 seconds',
                finished_at = date_trunc('second', now()) - interval '60 seconds' + make_interval(secs => $2::double precision / 1e6)
          WHERE id = $1`,
        [id, offsetsUs[index]],
      );
    }
    await db.pool.query(`UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now() WHERE id = $1`, [ids[4]]);
    const start = new Date(Date.now() - 3_600_000);
    const first = await listTasksFinishedSince(db.pool, start, { limit: 2 });
    // The page of two would split the instant +7 µs: it stops before it.
    expect(first.tasks).toHaveLength(1);
    expect(first.tasks[0]!.status).toBe('SUCCESS');
    expect(first.tasks[0]!.queuedSeconds).toBeCloseTo(10, 0);
    const second = await listTasksFinishedSince(db.pool, first.watermark);
    // The other three, microseconds apart, but not the one that finished less than settleSeconds ago.
    expect(second.tasks.map((t) => t.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    const later = await listTasksFinishedSince(db.pool, second.watermark, { settleSeconds: 0 });
    expect(later.tasks).toEqual([{ status: 'CANCELLED', errorCode: null, queuedSeconds: null, atRunningHubSeconds: null }]);
    expect((await listTasksFinishedSince(db.pool, later.watermark, { settleSeconds: 0 })).tasks).toEqual([]);
  });

  it('reports the backlog age, the slots and the processors with their heartbeat age', async () => {
    await db.pool.query(`INSERT INTO runninghub_accounts (fingerprint, max_running, running) VALUES (repeat('c', 64), 3, 3)`);
    const beat = { host: 'h', pid: 7, startedAt: new Date(), submitted: 0, retried: 0, orphaned: 0, orphanCancelFailures: 0, lastError: null };
    await recordHeartbeat(db.pool, { ...beat, processorId: 'fresh', consecutiveErrors: 2 });
    await recordHeartbeat(db.pool, { ...beat, processorId: 'silent', consecutiveErrors: 0 });
    await recordHeartbeat(db.pool, { ...beat, processorId: 'gone', consecutiveErrors: 0 });
    await db.pool.query(`UPDATE processor_heartbeats SET last_beat_at = now() - interval '2 minutes' WHERE processor_id = 'silent'`);
    await db.pool.query(`UPDATE processor_heartbeats SET last_beat_at = now() - interval '2 hours' WHERE processor_id = 'gone'`);
    const [pending] = await insertTasks(db.pool, 1);
    await db.pool.query(`UPDATE ai_tasks SET created_at = now() - interval '30 seconds' WHERE id = $1`, [pending]);
    const snapshot = await getMonitoringSnapshot(db.pool);
    expect(snapshot.slotsInUse).toBe(3);
    expect(snapshot.slotsLimit).toBe(3);
    expect(snapshot.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(30);
    expect(snapshot.processors.map((p) => [p.processorId, p.live, p.consecutiveErrors])).toEqual([
      ['fresh', true, 2],
      ['silent', false, 0],
    ]);
    expect(snapshot.processors[1]!.heartbeatAgeSeconds).toBeGreaterThanOrEqual(120);
  });
});
