// Retention (migration 007): finished storyboards (with their shots) and finished single tasks older than
// a configured age leave the tables in small batches, deleted or archived (*_archive), with their
// RunningHub webhook results and callback deliveries; task_events older than that age go too. Live rows (PENDING, ACTIVE) are never touched: a row is only taken while it
// is finished, under its row lock, and one whose callback is still pending waits until the delivery ends.
// Kept output files are not the database's: the caller hands the deleted task ids to the output store
// (the processor's onTasksPruned hook).
import type pg from 'pg';
import { inTransaction } from '../pool.js';

export type RetentionMode = 'delete' | 'archive';

export interface PruneResult {
  /** Ids of the tasks removed from ai_tasks (deleted or archived) by this batch, shots included. */
  taskIds: string[];
  /** Ids of the storyboards removed by this batch. */
  storyboardIds: string[];
  /** task_events rows deleted by this batch. */
  events: number;
}

export interface PruneInput {
  maxAgeMs: number;
  /** At most this many single tasks and events per batch, and storyboards of about this many shots. */
  batchSize: number;
  mode: RetentionMode;
}

/** A storyboard counts as this many rows in a batch (its shots go with it). */
const SHOTS_PER_STORYBOARD_GUESS = 50;

/**
 * One batch, in one transaction. Rows another transaction holds are skipped (SKIP LOCKED), so processors
 * pruning at once share the work and never wait for the queue's statements; a task the API retries
 * meanwhile is PENDING again at its latest version and is left alone (the DELETE re-checks the status).
 */
export async function pruneFinished(pool: pg.Pool, input: PruneInput): Promise<PruneResult> {
  return inTransaction(pool, async (db) => {
    const params = [input.maxAgeMs, input.batchSize, input.mode];
    // Storyboards: locked first (a shot's status change updates its storyboard row, so it waits for us),
    // only when no shot is live and no delivery pending; their shots go first, then the storyboard.
    const shots = await db.query<{ id: string; storyboard_id: string }>(
      `WITH boards AS (
         SELECT s.* FROM storyboards s
          WHERE s.finished_at < now() - make_interval(secs => $1::double precision / 1000)
            AND NOT EXISTS (SELECT 1 FROM ai_tasks t WHERE t.storyboard_id = s.id AND t.status IN ('PENDING', 'ACTIVE'))
            AND NOT EXISTS (SELECT 1 FROM task_callbacks c WHERE c.storyboard_id = s.id AND c.state = 'pending')
          ORDER BY s.finished_at LIMIT greatest(1, $2::int / ${SHOTS_PER_STORYBOARD_GUESS}) FOR UPDATE SKIP LOCKED),
       gone AS (
         DELETE FROM ai_tasks t USING boards WHERE t.storyboard_id = boards.id RETURNING t.*),
       webhooks AS (
         DELETE FROM runninghub_webhook_events w USING gone WHERE w.runninghub_task_id = gone.runninghub_task_id),
       archived AS (
         INSERT INTO ai_tasks_archive (id, finished_at, task)
         SELECT id, coalesce(finished_at, now()), to_jsonb(gone) FROM gone WHERE $3 = 'archive'
         ON CONFLICT (id) DO NOTHING),
       -- The storyboard as it was before its shots went (their delete's trigger counts them down to 0).
       archived_boards AS (
         INSERT INTO storyboards_archive (id, finished_at, storyboard)
         SELECT id, finished_at, to_jsonb(boards) FROM boards WHERE $3 = 'archive'
         ON CONFLICT (id) DO NOTHING)
       SELECT boards.id AS storyboard_id, gone.id FROM boards LEFT JOIN gone ON gone.storyboard_id = boards.id`,
      params,
    );
    const boardIds = [...new Set(shots.rows.map((r) => r.storyboard_id))];
    if (boardIds.length > 0) {
      await db.query(
        `WITH gone AS (DELETE FROM storyboards WHERE id = ANY($1::uuid[]) RETURNING id),
         callbacks AS (DELETE FROM task_callbacks c USING gone WHERE c.storyboard_id = gone.id)
         SELECT count(*) FROM gone`,
        [boardIds],
      );
    }
    const tasks = await db.query<{ id: string }>(
      `WITH old AS (
         SELECT id FROM ai_tasks t
          WHERE finished_at < now() - make_interval(secs => $1::double precision / 1000)
            AND status IN ('SUCCESS', 'FAILED', 'CANCELLED') AND storyboard_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM task_callbacks c WHERE c.task_id = t.id AND c.state = 'pending')
          ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
       gone AS (
         DELETE FROM ai_tasks t USING old
          WHERE t.id = old.id AND t.status IN ('SUCCESS', 'FAILED', 'CANCELLED')
         RETURNING t.*),
       callbacks AS (
         DELETE FROM task_callbacks c USING gone WHERE c.task_id = gone.id),
       webhooks AS (
         DELETE FROM runninghub_webhook_events w USING gone WHERE w.runninghub_task_id = gone.runninghub_task_id),
       archived AS (
         INSERT INTO ai_tasks_archive (id, finished_at, task)
         SELECT id, finished_at, to_jsonb(gone) FROM gone WHERE $3 = 'archive'
         ON CONFLICT (id) DO NOTHING)
       SELECT id FROM gone`,
      params,
    );
    const shotIds = shots.rows.flatMap((r) => (r.id ? [r.id] : []));
    if (shotIds.length > 0) await db.query('DELETE FROM task_callbacks WHERE task_id = ANY($1::uuid[])', [shotIds]);
    const events = await db.query(
      `DELETE FROM task_events WHERE id IN (
         SELECT id FROM task_events WHERE at < now() - make_interval(secs => $1::double precision / 1000)
          ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [input.maxAgeMs, input.batchSize],
    );
    return { taskIds: [...shotIds, ...tasks.rows.map((r) => r.id)], storyboardIds: boardIds, events: events.rowCount ?? 0 };
  });
}
