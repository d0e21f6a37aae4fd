// Migration 006 on a real PostgreSQL: storyboards' shot counts follow every change of a shot's status,
// exactly, whichever statement makes it (insert, claim, end, delete).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateTask } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('storyboards_migration');
});
afterAll(async () => {
  await db.drop();
});

async function counts(id: string) {
  const { rows } = await db.pool.query(
    'SELECT pending, active, success, failed, cancelled, last_turn, finished_at FROM storyboards WHERE id = $1',
    [id],
  );
  return rows[0];
}

describe('migration 006', () => {
  it('keeps a storyboard\'s counts by status through inserts, changes and deletes', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO storyboards (name, entity_type, entity_id) VALUES ('board', 'project', 'p1') RETURNING id`,
    );
    const board = rows[0]!.id;
    const shots = await db.pool.query<{ id: string }>(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, storyboard_id, shot_index)
       SELECT 'shot', 's' || g, 'Shot ' || g, '1', $1, g FROM generate_series(0, 4) g RETURNING id`,
      [board],
    );
    expect(await counts(board)).toMatchObject({ pending: 5, active: 0, last_turn: null, finished_at: null });
    const ids = shots.rows.map((r) => r.id);
    await activateTask(db.pool, ids.slice(0, 3));
    const afterClaim = await counts(board);
    expect(afterClaim).toMatchObject({ pending: 2, active: 3 });
    expect(afterClaim.last_turn).not.toBeNull();
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now() WHERE id = $1`, [ids[0]]);
    await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now() WHERE id = $1`, [ids[1]]);
    await db.pool.query(`UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now() WHERE id = ANY($1)`, [[ids[2], ids[3], ids[4]]]);
    expect(await counts(board)).toMatchObject({ pending: 0, active: 0, success: 1, failed: 1, cancelled: 3 });
    expect((await counts(board)).finished_at).not.toBeNull();
    await db.pool.query('DELETE FROM ai_tasks WHERE id = ANY($1)', [ids.slice(0, 2)]);
    expect(await counts(board)).toMatchObject({ success: 0, failed: 0, cancelled: 3 });
    // Deleting the storyboard takes its shots with it.
    await db.pool.query('DELETE FROM storyboards WHERE id = $1', [board]);
    const left = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks WHERE id = ANY($1)', [ids]);
    expect(left.rows[0].n).toBe(0);
  });
});
