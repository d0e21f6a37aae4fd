// The API's statements on ai_tasks: create, read and list, cancel and retry, and the statistics.
// Transitions follow the life table (life.ts): cancel is PENDING -> CANCELLED or a cancel request on an
// ACTIVE task; retry is FAILED/CANCELLED -> PENDING.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { insertTask, type TaskInsert } from './create-batch.js';
import { CANCEL_REQUEST_NEXT_CHECK_SQL, TASK_STATUSES, type TaskStatus } from './life.js';
import { TASK_COLUMNS, changeStatus, toTask, type AiTask, type NewTask, type TaskRow } from './row.js';

// --- created and read ----------------------------------------------------------------------------

/**
 * Hash of the create request as the API understood it (defaults applied, fixed field order), so a
 * replay that spells the same request differently (key order, an explicit default) still matches.
 */
export function requestFingerprint(task: NewTask): string {
  const canonical = JSON.stringify([
    task.entityType,
    task.entityId,
    task.entityName,
    task.workflowId,
    task.webappId,
    task.nodeInfoList.map((n) => [n.nodeId, n.fieldName, n.fieldValue]),
    task.priority,
    task.maxAttempts,
    // Appended only when set, so fingerprints of tasks without a callback stay what they were.
    ...(task.callbackUrl ? [task.callbackUrl] : []),
    // Only when set, so the fingerprints of requests made before instanceType existed stay the same.
    ...(task.instanceType ? [task.instanceType] : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type CreateTaskResult =
  | { outcome: 'created'; task: AiTask }
  /** Same idempotency key, same request: the task made by the first call. */
  | { outcome: 'replayed'; task: AiTask }
  /** Same idempotency key, different request. */
  | { outcome: 'conflict'; task: AiTask };

export async function createTask(
  pool: pg.Pool,
  task: NewTask,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<CreateTaskResult> {
  const key = options.idempotencyKey ?? null;
  // Only a keyed create can be replayed, so only it needs the fingerprint.
  const fingerprint = key === null ? null : requestFingerprint(task);
  const row: Omit<TaskInsert, 'id'> = {
    entityType: task.entityType,
    entityId: task.entityId,
    entityName: task.entityName,
    workflowId: task.workflowId,
    webappId: task.webappId,
    nodeInfoList: JSON.stringify(task.nodeInfoList),
    priority: task.priority,
    maxAttempts: task.maxAttempts,
    idempotencyKey: key,
    requestFingerprint: fingerprint,
    callbackUrl: task.callbackUrl ?? null,
    instanceType: task.instanceType ?? null,
  };
  // Two creates with one key race on the unique index (in two statements, or in one: create-batch.ts):
  // the loser waits for the winner's commit, inserts nothing, and then reads the winner's row (a new
  // statement sees the committed row).
  for (;;) {
    const inserted = await insertTask(pool, { ...row, id: randomUUID() });
    if (inserted) return { outcome: 'created', task: toTask(inserted) };
    if (key === null) throw new Error('the INSERT of a task without an idempotency key returned no row');
    const existing = await pool.query<TaskRow & { request_fingerprint: string | null }>(
      `SELECT ${TASK_COLUMNS}, request_fingerprint FROM ai_tasks WHERE idempotency_key = $1`,
      [key],
    );
    const found = existing.rows[0];
    // Deleted between the two statements (an operator's cleanup): try the insert again.
    if (!found) continue;
    return { outcome: found.request_fingerprint === fingerprint ? 'replayed' : 'conflict', task: toTask(found) };
  }
}

export async function getTask(pool: pg.Pool, id: string): Promise<AiTask | null> {
  const { rows } = await pool.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM ai_tasks WHERE id = $1`, [id]);
  return rows[0] ? toTask(rows[0]) : null;
}

/** Position after the last item of a page: newest first, ties broken by id. */
export interface TaskCursor {
  /** created_at in microseconds since the epoch (a JS Date would drop PostgreSQL's microseconds). */
  createdAtMicros: string;
  id: string;
}

export interface TaskListFilter {
  statuses?: TaskStatus[] | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
  storyboardId?: string | undefined;
  limit: number;
  after?: TaskCursor | undefined;
}

export interface TaskPage {
  items: AiTask[];
  next: TaskCursor | null;
}

/** Keyset pagination on (created_at DESC, id DESC): no OFFSET, so deep pages cost the same as the first. */
export async function listTasks(pool: pg.Pool, filter: TaskListFilter): Promise<TaskPage> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(
      filter.statuses.length === 1 ? `status = ${param(filter.statuses[0])}` : `status = ANY(${param(filter.statuses)}::text[])`,
    );
  }
  if (filter.entityType !== undefined) where.push(`entity_type = ${param(filter.entityType)}`);
  if (filter.entityId !== undefined) where.push(`entity_id = ${param(filter.entityId)}`);
  if (filter.storyboardId !== undefined) where.push(`storyboard_id = ${param(filter.storyboardId)}::uuid`);
  if (filter.after) {
    where.push(
      `(created_at, id) < (timestamptz 'epoch' + ${param(filter.after.createdAtMicros)}::bigint * interval '1 microsecond', ${param(
        filter.after.id,
      )}::uuid)`,
    );
  }
  const sql = `SELECT ${TASK_COLUMNS},
      ((extract(epoch FROM created_at) * 1000000)::bigint)::text AS created_at_micros
    FROM ai_tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY created_at DESC, id DESC
    LIMIT ${param(filter.limit + 1)}`;
  const { rows } = await pool.query<TaskRow & { created_at_micros: string }>(sql, values);
  const hasMore = rows.length > filter.limit;
  const pageRows = hasMore ? rows.slice(0, filter.limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(toTask),
    next: hasMore && last ? { createdAtMicros: last.created_at_micros, id: last.id } : null,
  };
}

// --- cancelled or retried -----------------------------------------------------------------------

export type TransitionResult =
  | { outcome: 'done'; task: AiTask }
  | { outcome: 'not_found' }
  /** The task's status does not allow the transition; `task` is its state now. */
  | { outcome: 'conflict'; task: AiTask };

/**
 * PENDING becomes CANCELLED at once. ACTIVE stays ACTIVE with cancel_requested_at set: the task
 * runs at RunningHub, and only the processor can cancel it there. A CANCELLED task is left as it
 * is (cancelling twice is not an error). SUCCESS and FAILED cannot be cancelled.
 *
 * One UPDATE decides on the row's current version: if a processor claims the task at the same
 * moment, PostgreSQL re-checks the WHERE and CASE on the claimed row, so the outcome is either
 * "cancelled before the claim" or "cancel requested on the active task", never a lost cancel.
 */
export async function cancelTask(pool: pg.Pool, id: string): Promise<TransitionResult> {
  const rows = await changeStatus<TaskRow>(
    pool,
    `UPDATE ai_tasks SET
        status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END,
        finished_at = CASE WHEN status = 'PENDING' THEN now() ELSE finished_at END,
        cancel_requested_at = COALESCE(cancel_requested_at, now()),
        next_check_at = ${CANCEL_REQUEST_NEXT_CHECK_SQL},
        claimed_by = CASE WHEN status = 'PENDING' THEN NULL ELSE claimed_by END,
        claim_expires_at = CASE WHEN status = 'PENDING' THEN NULL ELSE claim_expires_at END
      WHERE id = $1 AND status IN ('PENDING', 'ACTIVE')
      RETURNING ${TASK_COLUMNS}`,
    [id],
  );
  return transitionResult(pool, id, rows[0], 'CANCELLED');
}

/**
 * FAILED or CANCELLED back to PENDING as a fresh task: attempts start again from 0 (otherwise a
 * task that used all its attempts would fail at once), and the previous run's RunningHub id,
 * outputs, error and claim are cleared.
 */
export async function retryTask(pool: pg.Pool, id: string): Promise<TransitionResult> {
  const rows = await changeStatus<TaskRow>(
    pool,
    `UPDATE ai_tasks SET
        status = 'PENDING', attempts = 0, run_after = now(), runninghub_task_id = NULL, outputs = NULL,
        error_code = NULL, error_message = NULL, claimed_by = NULL, claim_expires_at = NULL,
        cancel_requested_at = NULL, submitted_at = NULL, finished_at = NULL
      WHERE id = $1 AND status IN ('FAILED', 'CANCELLED')
      RETURNING ${TASK_COLUMNS}`,
    [id],
  );
  return transitionResult(pool, id, rows[0]);
}

/**
 * The outcome of a transition UPDATE: the updated row, or else why not (no such task, or a status
 * the transition does not apply to; `alreadyThere` is the status the transition leads to, not a conflict).
 */
async function transitionResult(
  pool: pg.Pool,
  id: string,
  updated: TaskRow | undefined,
  alreadyThere?: TaskStatus,
): Promise<TransitionResult> {
  if (updated) return { outcome: 'done', task: toTask(updated) };
  const current = await getTask(pool, id);
  if (!current) return { outcome: 'not_found' };
  return current.status === alreadyThere ? { outcome: 'done', task: current } : { outcome: 'conflict', task: current };
}

// --- statistics ----------------------------------------------------------------------------------

export interface TaskStats {
  countsByStatus: Record<TaskStatus, number>;
  /** Seconds since the oldest PENDING task was created; null when none is pending. */
  oldestPendingAgeSeconds: number | null;
  finishedLastMinute: number;
  finishedLastFiveMinutes: number;
  /** FAILED tasks finished in the last 24 hours, by error code, most frequent first. */
  failuresByErrorCode: { code: string; count: number }[];
}

export async function countTasksByStatus(pool: pg.Pool): Promise<Record<TaskStatus, number>> {
  const { rows } = await pool.query<{ status: TaskStatus; count: number }>(
    'SELECT status, count(*)::int AS count FROM ai_tasks GROUP BY status',
  );
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const row of rows) counts[row.status] = row.count;
  return counts;
}

export async function getTaskStats(pool: pg.Pool): Promise<TaskStats> {
  const [countsByStatus, live, failures] = await Promise.all([
    countTasksByStatus(pool),
    pool.query<{ oldest_pending_age: number | null; last_minute: number; last_five_minutes: number }>(
      `SELECT
         (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM ai_tasks WHERE status = 'PENDING')
           AS oldest_pending_age,
         count(*) FILTER (WHERE finished_at > now() - interval '1 minute')::int AS last_minute,
         count(*)::int AS last_five_minutes
       FROM ai_tasks WHERE finished_at > now() - interval '5 minutes'`,
    ),
    pool.query<{ code: string; count: number }>(
      `SELECT COALESCE(error_code, 'UNKNOWN') AS code, count(*)::int AS count
       FROM ai_tasks WHERE finished_at > now() - interval '24 hours' AND status = 'FAILED'
       GROUP BY 1 ORDER BY 2 DESC, 1`,
    ),
  ]);
  const row = live.rows[0]!;
  return {
    countsByStatus,
    oldestPendingAgeSeconds: row.oldest_pending_age === null ? null : Math.max(0, row.oldest_pending_age),
    finishedLastMinute: row.last_minute,
    finishedLastFiveMinutes: row.last_five_minutes,
    failuresByErrorCode: failures.rows,
  };
}
