import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSystemStats, recordHeartbeat } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('system statistics', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('system_stats');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('combines the task statistics with the live processors', async () => {
    await db.pool.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('shot', '1', 'a', '1')`);
    await recordHeartbeat(db.pool, {
      processorId: 'p1',
      host: 'h',
      pid: 7,
      startedAt: new Date(),
      submitted: 1,
      retried: 0,
      orphaned: 0,
      orphanCancelFailures: 0,
      consecutiveErrors: 0,
      lastError: null,
    });
    const stats = await getSystemStats(db.pool);
    expect(stats.countsByStatus.PENDING).toBe(1);
    expect(stats.processors).toEqual([expect.objectContaining({ processorId: 'p1', pid: 7, submitted: 1 })]);
  });
});
