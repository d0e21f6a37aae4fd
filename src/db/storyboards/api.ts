// The API's statements on storyboards: create (all shots or none), read with counts and details, list,
// cancel and retry every shot. A shot is an ai_tasks row (storyboard_id, shot_index) that follows the
// task's life (src/db/tasks/life.ts) like any other; migration 006's triggers keep the counts.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../pool.js';
import { TASK_COLUMNS, changeStatus, toTask, type AiTask, type NewTask, type TaskRow } from '../tasks/row.js';
import { CANCEL_REQUEST_NEXT_CHECK_SQL } from '../tasks/life.js';

/** What the client sent as shared settings (null: not given); each shot holds what it resolved to. */
export interface StoryboardSettings {
  workflowId: string | null;
  webappId: string | null;
  priority: number | null;
  maxAttempts: number | null;
  instanceType: string | null;
  profile: string | null;
  callbackUrl: string | null;
}

export interface NewStoryboard {
  name: string;
  entityType: string;
  entityId: string;
  settings: StoryboardSettings;
  /** Every shot fully resolved (shared settings with its own overrides), in order. */
  shots: NewTask[];
  /** The profile each shot runs under (the storyboard's), or null: chosen by workflow/app at claim. */
  shotProfile: string | null;
}

export const STORYBOARD_STATUSES = ['running', 'done', 'done_with_failures', 'cancelled'] as const;
export type StoryboardStatus = (typeof STORYBOARD_STATUSES)[number];

export interface StoryboardCounts {
  total: number;
  pending: number;
  active: number;
  success: number;
  failed: number;
  cancelled: number;
}

export interface Storyboard extends StoryboardCounts {
  id: string;
  name: string;
  status: StoryboardStatus;
  entityType: string;
  entityId: string;
  settings: StoryboardSettings;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  cancelledAt: Date | null;
}

export interface StoryboardWithDetails extends Storyboard {
  /** The shots in order. */
  details: AiTask[];
}

interface StoryboardRow {
  id: string;
  name: string;
  entity_type: string;
  entity_id: string;
  workflow_id: string | null;
  webapp_id: string | null;
  priority: number | null;
  max_attempts: number | null;
  instance_type: string | null;
  profile: string | null;
  callback_url: string | null;
  pending: number;
  active: number;
  success: number;
  failed: number;
  cancelled: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  cancelled_at: Date | null;
}

const STORYBOARD_COLUMNS = `id, name, entity_type, entity_id, workflow_id, webapp_id, priority, max_attempts, instance_type,
  profile, callback_url, pending, active, success, failed, cancelled, created_at, updated_at, finished_at, cancelled_at`;

/** The status as SQL (for filters): storyboard_status (migration 009), the same rule as statusOf. */
const STATUS_SQL = 'storyboard_status(pending, active, failed, cancelled, cancelled_at)';

/**
 * Derived from the counts: running while any shot is PENDING or ACTIVE; then cancelled if the
 * storyboard was cancelled and a shot is still CANCELLED (a cancel that came too late, or whose
 * shots were all retried and succeeded, leaves it done), done with failures if any shot FAILED or
 * was cancelled, else done. migration 009's storyboard_status is the same rule in SQL.
 */
export function statusOf(counts: StoryboardCounts, cancelledAt: Date | null): StoryboardStatus {
  if (counts.pending + counts.active > 0) return 'running';
  if (cancelledAt !== null && counts.cancelled > 0) return 'cancelled';
  return counts.failed + counts.cancelled > 0 ? 'done_with_failures' : 'done';
}

function toStoryboard(row: StoryboardRow): Storyboard {
  const counts = {
    total: row.pending + row.active + row.success + row.failed + row.cancelled,
    pending: row.pending,
    active: row.active,
    success: row.success,
    failed: row.failed,
    cancelled: row.cancelled,
  };
  return {
    id: row.id,
    name: row.name,
    status: statusOf(counts, row.cancelled_at),
    ...counts,
    entityType: row.entity_type,
    entityId: row.entity_id,
    settings: {
      workflowId: row.workflow_id,
      webappId: row.webapp_id,
      priority: row.priority,
      maxAttempts: row.max_attempts,
      instanceType: row.instance_type,
      profile: row.profile,
      callbackUrl: row.callback_url,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    cancelledAt: row.cancelled_at,
  };
}

// --- created -------------------------------------------------------------------------------------

/** Hash of the create request as understood (shots resolved), to tell a replay from a conflicting reuse. */
export function storyboardFingerprint(input: NewStoryboard): string {
  const canonical = JSON.stringify([
    input.name,
    input.entityType,
    input.entityId,
    Object.entries(input.settings).sort(([a], [b]) => a.localeCompare(b)),
    input.shotProfile,
    input.shots.map((t) => [
      t.entityType,
      t.entityId,
      t.entityName,
      t.workflowId,
      t.webappId,
      t.nodeInfoList.map((n) => [n.nodeId, n.fieldName, n.fieldValue]),
      t.priority,
      t.maxAttempts,
      // Only when set (as requestFingerprint does), so fingerprints of shots without them stay what they were.
      ...(t.callbackUrl ? [t.callbackUrl] : []),
      ...(t.instanceType ? [t.instanceType] : []),
    ]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type CreateStoryboardResult =
  | { outcome: 'created'; storyboard: StoryboardWithDetails }
  /** Same idempotency key, same request: the storyboard the first call made. */
  | { outcome: 'replayed'; storyboard: StoryboardWithDetails }
  /** Same idempotency key, different request. */
  | { outcome: 'conflict'; storyboard: Storyboard };

/**
 * The storyboard and all its shots in one transaction: a failure leaves nothing behind. With a key,
 * two concurrent creates race on the unique index: the loser waits for the winner's commit, inserts
 * nothing, and reads the winner's storyboard.
 */
export async function createStoryboard(
  pool: pg.Pool,
  input: NewStoryboard,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<CreateStoryboardResult> {
  const key = options.idempotencyKey ?? null;
  const fingerprint = key === null ? null : storyboardFingerprint(input);
  for (;;) {
    const made = await inTransaction(pool, async (client) => {
      const s = input.settings;
      const inserted = await client.query<StoryboardRow>(
        `INSERT INTO storyboards (name, entity_type, entity_id, workflow_id, webapp_id, priority, max_attempts, instance_type,
                                  profile, callback_url, idempotency_key, request_fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id`,
        [input.name, input.entityType, input.entityId, s.workflowId, s.webappId, s.priority, s.maxAttempts, s.instanceType,
          s.profile, s.callbackUrl, key, fingerprint],
      );
      const id = inserted.rows[0]?.id;
      if (id === undefined) return null;
      await client.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list, priority,
                               max_attempts, storyboard_id, shot_index, profile, instance_type)
         SELECT x.entity_type, x.entity_id, x.entity_name, x.workflow_id, x.webapp_id, x.node_info_list, x.priority,
                x.max_attempts, $1, x.shot_index, $3, x.instance_type
           FROM jsonb_to_recordset($2::jsonb) AS x(shot_index int, entity_type text, entity_id text, entity_name text,
                workflow_id text, webapp_id text, node_info_list jsonb, priority int, max_attempts int, instance_type text)`,
        [
          id,
          JSON.stringify(
            input.shots.map((t, index) => ({
              shot_index: index,
              entity_type: t.entityType,
              entity_id: t.entityId,
              entity_name: t.entityName,
              workflow_id: t.workflowId,
              webapp_id: t.webappId,
              node_info_list: t.nodeInfoList,
              priority: t.priority,
              max_attempts: t.maxAttempts,
              instance_type: t.instanceType ?? null,
            })),
          ),
          input.shotProfile,
        ],
      );
      return id;
    });
    if (made !== null) {
      const storyboard = await getStoryboard(pool, made);
      if (storyboard) return { outcome: 'created', storyboard };
      continue; // deleted at once by someone else: make it again
    }
    const existing = await pool.query<StoryboardRow & { request_fingerprint: string | null }>(
      `SELECT ${STORYBOARD_COLUMNS}, request_fingerprint FROM storyboards WHERE idempotency_key = $1`,
      [key],
    );
    const row = existing.rows[0];
    if (!row) continue; // deleted between the two statements: try the insert again
    if (row.request_fingerprint !== fingerprint) return { outcome: 'conflict', storyboard: toStoryboard(row) };
    const storyboard = await getStoryboard(pool, row.id);
    if (storyboard) return { outcome: 'replayed', storyboard };
  }
}

// --- read ----------------------------------------------------------------------------------------

/** The storyboard with its counts and every shot, read in one statement (counts and shots agree). */
export async function getStoryboard(pool: pg.Pool, id: string): Promise<StoryboardWithDetails | null> {
  const { rows } = await pool.query<StoryboardRow & { shots: TaskRow[] | null }>(
    `SELECT ${STORYBOARD_COLUMNS},
            (SELECT json_agg(t ORDER BY t.shot_index) FROM (SELECT ${TASK_COLUMNS} FROM ai_tasks WHERE storyboard_id = s.id) t)
              AS shots
       FROM storyboards s WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  // json_agg gives timestamps as text: back to the Date the row mapping expects.
  const details = (row.shots ?? []).map((shot) =>
    toTask({
      ...shot,
      run_after: new Date(shot.run_after),
      created_at: new Date(shot.created_at),
      updated_at: new Date(shot.updated_at),
      submitted_at: shot.submitted_at === null ? null : new Date(shot.submitted_at),
      finished_at: shot.finished_at === null ? null : new Date(shot.finished_at),
      cancel_requested_at: shot.cancel_requested_at === null ? null : new Date(shot.cancel_requested_at),
    }),
  );
  return { ...toStoryboard(row), details };
}

/** Position after the last item of a page: newest first, ties broken by id. */
export interface StoryboardCursor {
  createdAtMicros: string;
  id: string;
}

export interface StoryboardListFilter {
  statuses?: StoryboardStatus[] | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
  limit: number;
  after?: StoryboardCursor | undefined;
}

export interface StoryboardPage {
  items: Storyboard[];
  next: StoryboardCursor | null;
}

/** Keyset pagination on (created_at DESC, id DESC), as for tasks. */
export async function listStoryboards(pool: pg.Pool, filter: StoryboardListFilter): Promise<StoryboardPage> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.statuses && filter.statuses.length > 0) where.push(`(${STATUS_SQL}) = ANY(${param(filter.statuses)}::text[])`);
  if (filter.entityType !== undefined) where.push(`entity_type = ${param(filter.entityType)}`);
  if (filter.entityId !== undefined) where.push(`entity_id = ${param(filter.entityId)}`);
  if (filter.after) {
    where.push(
      `(created_at, id) < (timestamptz 'epoch' + ${param(filter.after.createdAtMicros)}::bigint * interval '1 microsecond', ${param(
        filter.after.id,
      )}::uuid)`,
    );
  }
  const { rows } = await pool.query<StoryboardRow & { created_at_micros: string }>(
    `SELECT ${STORYBOARD_COLUMNS}, ((extract(epoch FROM created_at) * 1000000)::bigint)::text AS created_at_micros
       FROM storyboards ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC
      LIMIT ${param(filter.limit + 1)}`,
    values,
  );
  const hasMore = rows.length > filter.limit;
  const pageRows = hasMore ? rows.slice(0, filter.limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(toStoryboard),
    next: hasMore && last ? { createdAtMicros: last.created_at_micros, id: last.id } : null,
  };
}

// --- cancelled or retried ------------------------------------------------------------------------

export type StoryboardActionResult =
  | { outcome: 'done'; storyboard: StoryboardWithDetails; changed: number }
  | { outcome: 'not_found' }
  /** Nothing the action applies to (every shot finished, or no FAILED/CANCELLED shot). */
  | { outcome: 'nothing_to_do'; storyboard: StoryboardWithDetails };

/**
 * Every unfinished shot, as cancelTask does for one task: PENDING becomes CANCELLED at once, ACTIVE
 * gets a cancel request (the processor cancels it at RunningHub: next_check_at now makes it due).
 * The shots are changed before the storyboard row is touched, in that order like every other
 * statement (task rows, then the storyboard in the trigger), so no deadlock with processors.
 */
export async function cancelStoryboard(pool: pg.Pool, id: string): Promise<StoryboardActionResult> {
  const changed = await inTransaction(pool, async (client) => {
    // For the finish this cancel may cause before cancelled_at is set below (migration 009's callback).
    await client.query(`SELECT set_config('storyboards.cancelling', $1, true)`, [id]);
    const shots = await changeStatus<{ id: string }>(
      client,
      `UPDATE ai_tasks SET
          status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END,
          finished_at = CASE WHEN status = 'PENDING' THEN now() ELSE finished_at END,
          error_code = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE error_code END,
          error_message = CASE WHEN status = 'PENDING' THEN 'the storyboard was cancelled' ELSE error_message END,
          cancel_requested_at = COALESCE(cancel_requested_at, now()),
          next_check_at = ${CANCEL_REQUEST_NEXT_CHECK_SQL},
          claimed_by = CASE WHEN status = 'PENDING' THEN NULL ELSE claimed_by END,
          claim_expires_at = CASE WHEN status = 'PENDING' THEN NULL ELSE claim_expires_at END
        WHERE storyboard_id = $1 AND status IN ('PENDING', 'ACTIVE') AND cancel_requested_at IS NULL
        RETURNING id`,
      [id],
    );
    const board = await client.query<{ id: string; had_cancel: boolean }>(
      `UPDATE storyboards SET cancelled_at = COALESCE(cancelled_at, CASE WHEN $2 THEN now() END)
        WHERE id = $1 RETURNING id, cancelled_at IS NOT NULL AS had_cancel`,
      [id, shots.length > 0],
    );
    return board.rows[0] ? { count: shots.length, cancelled: board.rows[0].had_cancel } : null;
  });
  if (changed === null) return { outcome: 'not_found' };
  const storyboard = await getStoryboard(pool, id);
  if (!storyboard) return { outcome: 'not_found' };
  // Cancelling a cancelled storyboard again is not an error; one whose shots all finished is.
  if (changed.count === 0 && !changed.cancelled) return { outcome: 'nothing_to_do', storyboard };
  return { outcome: 'done', storyboard, changed: changed.count };
}

/** Only the FAILED and CANCELLED shots go back to PENDING, as retryTask does for one task. */
export async function retryStoryboard(pool: pg.Pool, id: string): Promise<StoryboardActionResult> {
  const changed = await inTransaction(pool, async (client) => {
    const shots = await changeStatus<{ id: string }>(
      client,
      `UPDATE ai_tasks SET
          status = 'PENDING', attempts = 0, run_after = now(), runninghub_task_id = NULL, outputs = NULL,
          error_code = NULL, error_message = NULL, claimed_by = NULL, claim_expires_at = NULL,
          cancel_requested_at = NULL, submitted_at = NULL, finished_at = NULL
        WHERE storyboard_id = $1 AND status IN ('FAILED', 'CANCELLED')
        RETURNING id`,
      [id],
    );
    const board = await client.query<{ id: string }>(
      `UPDATE storyboards SET cancelled_at = CASE WHEN $2 THEN NULL ELSE cancelled_at END WHERE id = $1 RETURNING id`,
      [id, shots.length > 0],
    );
    return board.rows[0] ? shots.length : null;
  });
  if (changed === null) return { outcome: 'not_found' };
  const storyboard = await getStoryboard(pool, id);
  if (!storyboard) return { outcome: 'not_found' };
  if (changed === 0) return { outcome: 'nothing_to_do', storyboard };
  return { outcome: 'done', storyboard, changed };
}
