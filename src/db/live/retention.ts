// Retention (migration 007): finished tasks older than a configured age leave ai_tasks in small batches,
// deleted or archived (ai_tasks_archive), and task_events older than that age go too. Live rows (PENDING,
// ACTIVE) are never touched: a task is only taken while it is finished, under its row lock, and one whose
// callback is still pending waits until the delivery ends. Kept output files are not the database's:
// the caller hands the deleted ids to the output store (the processor's onTasksPruned hook).
import type { Queryable } from '../pool.js';

export type RetentionMode = 'delete' | 'archive';

export interface PruneResult {
  /** Ids of the tasks removed from ai_tasks (deleted or archived) by this batch. */
  taskIds: string[];
  /** task_events rows deleted by this batch. */
  events: number;
}

/**
 * One batch: at most `batchSize` finished tasks whose finished_at is older than `maxAgeMs`, oldest first
 * (ai_tasks_finished_idx), and at most `batchSize` old events. Rows another transaction holds are skipped
 * (SKIP LOCKED), so processors pruning at once share the work and never wait for the queue's statements;
 * a task the API retries meanwhile is PENDING again at its latest version and is left alone.
 */
export async function pruneFinished(db: Queryable, input: { maxAgeMs: number; batchSize: number; mode: RetentionMode }): Promise<PruneResult> {
  const { rows } = await db.query<{ id: string }>(
    `WITH old AS (
       SELECT id FROM ai_tasks t
        WHERE finished_at < now() - make_interval(secs => $1::double precision / 1000)
          AND status IN ('SUCCESS', 'FAILED', 'CANCELLED')
          AND NOT EXISTS (SELECT 1 FROM task_callbacks c WHERE c.task_id = t.id AND c.state = 'pending')
        ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
     gone AS (
       DELETE FROM ai_tasks t USING old
        WHERE t.id = old.id AND t.status IN ('SUCCESS', 'FAILED', 'CANCELLED')
       RETURNING t.*),
     callbacks AS (
       DELETE FROM task_callbacks c USING gone WHERE c.task_id = gone.id),
     archived AS (
       INSERT INTO ai_tasks_archive (id, finished_at, task)
       SELECT id, finished_at, to_jsonb(gone) FROM gone WHERE $3 = 'archive'
       ON CONFLICT (id) DO NOTHING)
     SELECT id FROM gone`,
    [input.maxAgeMs, input.batchSize, input.mode],
  );
  const events = await db.query(
    `DELETE FROM task_events WHERE id IN (
       SELECT id FROM task_events WHERE at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [input.maxAgeMs, input.batchSize],
  );
  return { taskIds: rows.map((r) => r.id), events: events.rowCount ?? 0 };
}
