import type { Pool } from '../../src/db/index.js';

/**
 * `count` PENDING tasks in one statement, created in this order (clock_timestamp, so created_at
 * differs), for tests that drive the queue without the API. Entity ids and field values are
 * `<prefix>-<n>`, random prefix by default, so tasks of different calls never look alike.
 */
export async function insertTasks(
  pool: Pool,
  count: number,
  options: { prefix?: string; priority?: number; maxAttempts?: number; fieldValue?: string; runAfterMs?: number } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? Math.random().toString(36).slice(2, 8);
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, priority, max_attempts, run_after, created_at)
     SELECT 'shot', $1 || '-' || g, 'Shot ' || $1 || '-' || g, '1904136902449209346',
            jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', $4 || ' #' || $1 || '-' || g)),
            $3, $5, now() + make_interval(secs => $6::double precision / 1000), clock_timestamp()
       FROM generate_series(1, $2) g
     RETURNING id`,
    [prefix, count, options.priority ?? 0, options.fieldValue ?? 'a cat', options.maxAttempts ?? 3, options.runAfterMs ?? 0],
  );
  return rows.map((r) => r.id);
}

/**
 * Make a PENDING task ACTIVE (as a claim would, without taking a slot), so that a test can then set an
 * end status directly: migration 003's guard lets a task end only from ACTIVE (src/db/tasks/life.ts).
 */
export async function activateTask(pool: Pool, ids: string | readonly string[]): Promise<void> {
  await pool.query(`UPDATE ai_tasks SET status = 'ACTIVE' WHERE id = ANY($1) AND status = 'PENDING'`, [typeof ids === 'string' ? [ids] : ids]);
}
