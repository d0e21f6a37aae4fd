// Every SQL statement on ai_tasks, in the order of a task's life: created and read by the API,
// claimed, submitted, finished, put back or recovered by the processor, checked while it runs,
// cancelled or retried by the API, and counted for the statistics. Inputs arrive already parsed
// (typed); rows leave as typed values, so no caller ever sees snake_case or raw jsonb.
//
// The processor's statements also keep the account's slot count (runninghub_accounts) and the
// webhook results (runninghub_webhook_events), because those change in the same statement or
// transaction as the task. The invariant they keep: runninghub_accounts.running equals the number
// of ai_tasks whose slot_account is that account. A slot is taken only by claimPendingTasks (with the
// account row locked FOR UPDATE, so concurrent claimers queue on it and see each other's
// increments), and given back only by a statement that clears slot_account on the task and
// decrements the account in the same statement.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type pg from 'pg';
import { inTransaction, type Queryable } from './pool.js';

// --- the task and its row ------------------------------------------------------------------------

export const TASK_STATUSES = ['PENDING', 'ACTIVE', 'SUCCESS', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/**
 * One override of a workflow or app input, the one parser for it: the API's create body, rows read
 * back (getTask, listTasks) and the processor's claims all go through this schema. RunningHub wants
 * every fieldValue as a string, so numbers and booleans are converted here (and stored converted).
 */
export const nodeInfoSchema = z.strictObject({
  nodeId: z.string().min(1).max(100),
  fieldName: z.string().min(1).max(200),
  fieldValue: z.union([z.string().max(100_000), z.number(), z.boolean()]).transform((value) => String(value)),
});
export const nodeInfoListSchema = z.array(nodeInfoSchema);
export type NodeInfo = z.output<typeof nodeInfoSchema>;

/** One output file as the processor stored it (RunningHub's own field names, extra fields kept). */
export const taskOutputSchema = z.looseObject({
  fileUrl: z.string(),
  fileType: z.string().nullish(),
});
export type TaskOutput = z.output<typeof taskOutputSchema>;
const storedOutputsSchema = z.array(taskOutputSchema).nullable();

export interface NewTask {
  entityType: string;
  entityId: string;
  entityName: string;
  /** Exactly one of workflowId and webappId is set (the schema's check enforces it too). */
  workflowId: string | null;
  webappId: string | null;
  nodeInfoList: NodeInfo[];
  priority: number;
  maxAttempts: number;
}

export interface AiTask extends NewTask {
  id: string;
  status: TaskStatus;
  attempts: number;
  runAfter: Date;
  runninghubTaskId: string | null;
  outputs: TaskOutput[] | null;
  error: { code: string; message: string } | null;
  cancelRequested: boolean;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date | null;
  finishedAt: Date | null;
}

interface TaskRow {
  id: string;
  status: TaskStatus;
  entity_type: string;
  entity_id: string;
  entity_name: string;
  workflow_id: string | null;
  webapp_id: string | null;
  node_info_list: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  runninghub_task_id: string | null;
  outputs: unknown;
  error_code: string | null;
  error_message: string | null;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  finished_at: Date | null;
}

const TASK_COLUMNS = `id, status, entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
  priority, attempts, max_attempts, run_after, runninghub_task_id, outputs, error_code, error_message,
  cancel_requested_at, created_at, updated_at, submitted_at, finished_at`;

function toTask(row: TaskRow): AiTask {
  return {
    id: row.id,
    status: row.status,
    entityType: row.entity_type,
    entityId: row.entity_id,
    entityName: row.entity_name,
    workflowId: row.workflow_id,
    webappId: row.webapp_id,
    nodeInfoList: nodeInfoListSchema.parse(row.node_info_list),
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    runninghubTaskId: row.runninghub_task_id,
    outputs: storedOutputsSchema.parse(row.outputs),
    error:
      row.error_code === null && row.error_message === null
        ? null
        : { code: row.error_code ?? 'UNKNOWN', message: row.error_message ?? '' },
    cancelRequested: row.cancel_requested_at !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    submittedAt: row.submitted_at,
    finishedAt: row.finished_at,
  };
}

// --- created and read (the API) ------------------------------------------------------------------

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
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export type CreateTaskResult =
  | { outcome: 'created'; task: AiTask }
  /** Same idempotency key, same request: the task made by the first call. */
  | { outcome: 'replayed'; task: AiTask }
  /** Same idempotency key, different request. */
  | { outcome: 'conflict'; task: AiTask };

const INSERT_TASK = `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
    priority, max_attempts, idempotency_key, request_fingerprint)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)`;

export async function createTask(
  pool: pg.Pool,
  task: NewTask,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<CreateTaskResult> {
  const key = options.idempotencyKey ?? null;
  // Only a keyed create can be replayed, so only it needs the fingerprint.
  const fingerprint = key === null ? null : requestFingerprint(task);
  const values = [
    task.entityType,
    task.entityId,
    task.entityName,
    task.workflowId,
    task.webappId,
    JSON.stringify(task.nodeInfoList),
    task.priority,
    task.maxAttempts,
    key,
    fingerprint,
  ];
  if (key === null) {
    const { rows } = await pool.query<TaskRow>(`${INSERT_TASK} RETURNING ${TASK_COLUMNS}`, values);
    return { outcome: 'created', task: toTask(rows[0]!) };
  }
  // Two creates with one key race on the unique index: the loser waits for the winner's commit,
  // inserts nothing, and then reads the winner's row (a new statement sees the committed row).
  for (;;) {
    const inserted = await pool.query<TaskRow>(
      `${INSERT_TASK} ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${TASK_COLUMNS}`,
      values,
    );
    if (inserted.rows[0]) return { outcome: 'created', task: toTask(inserted.rows[0]) };
    const existing = await pool.query<TaskRow & { request_fingerprint: string | null }>(
      `SELECT ${TASK_COLUMNS}, request_fingerprint FROM ai_tasks WHERE idempotency_key = $1`,
      [key],
    );
    const row = existing.rows[0];
    // Deleted between the two statements (an operator's cleanup): try the insert again.
    if (!row) continue;
    return { outcome: row.request_fingerprint === fingerprint ? 'replayed' : 'conflict', task: toTask(row) };
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

// --- the account's slots -------------------------------------------------------------------------

/** Channel names the processor LISTENs on. */
export const TASK_CHANNELS = {
  /** A task became PENDING (trigger of migration 001). */
  pending: 'ai_tasks_pending',
  /** A cancel was requested on an ACTIVE task (trigger of migration 002). */
  cancel: 'ai_tasks_cancel',
  /** A slot was given back (by a processor, or by the webhook handler): claim it now. */
  slotFreed: 'runninghub_slot_freed',
} as const;

/** Register the account (or update its limit). The key itself is never stored: only its hash. */
export async function ensureAccount(db: Queryable, fingerprint: string, maxRunning: number): Promise<void> {
  await db.query(
    `INSERT INTO runninghub_accounts (fingerprint, max_running) VALUES ($1, $2)
     ON CONFLICT (fingerprint) DO UPDATE SET max_running = EXCLUDED.max_running, updated_at = now()
     WHERE runninghub_accounts.max_running <> EXCLUDED.max_running`,
    [fingerprint, maxRunning],
  );
}

export interface AccountUsage {
  running: number;
  maxRunning: number;
  /** Tasks holding a slot of this account, counted from ai_tasks (equals `running` when consistent). */
  holders: number;
}

export async function getAccountUsage(db: Queryable, fingerprint: string): Promise<AccountUsage | null> {
  const { rows } = await db.query<{ running: number; max_running: number; holders: string }>(
    `SELECT a.running, a.max_running,
            (SELECT count(*) FROM ai_tasks t WHERE t.slot_account = a.fingerprint) AS holders
       FROM runninghub_accounts a WHERE a.fingerprint = $1`,
    [fingerprint],
  );
  const row = rows[0];
  return row ? { running: row.running, maxRunning: row.max_running, holders: Number(row.holders) } : null;
}

// --- claimed (the processor) ---------------------------------------------------------------------

/** What a processor needs to submit a task it has just claimed. */
export interface ClaimedTask
  extends Pick<AiTask, 'id' | 'entityType' | 'entityId' | 'entityName' | 'workflowId' | 'webappId' | 'priority' | 'attempts' | 'maxAttempts'> {
  claimToken: string;
  /** Parsed with nodeInfoListSchema; empty when the stored list is not valid (see nodeInfoProblem). */
  nodeInfoList: NodeInfo[];
  /**
   * Why the stored node_info_list does not parse, or null. A bad row must not make the whole claim
   * fail (the other tasks would never run): the processor fails this one task with the reason.
   */
  nodeInfoProblem: string | null;
}

export interface ClaimRequest {
  account: string;
  processorId: string;
  /** At most this many tasks, and never more than the account has free slots. */
  limit: number;
  /** How long the claim stays ours without a RunningHub task id before anyone may recover it. */
  leaseMs: number;
}

/**
 * Claim up to `limit` due PENDING tasks, highest priority first, then oldest, taking one of the
 * account's slots for each. The task becomes ACTIVE without a RunningHub id, leased to this processor.
 *
 * Why this holds the limit under any number of concurrent claimers: the account row is locked
 * FOR UPDATE first (the LIMIT depends on it, so it is evaluated before the task scan), and a row
 * locked that way is re-read at its latest committed version, so `free` includes every claim and
 * release committed before the lock was granted. Tasks that another claimer took meanwhile still
 * look PENDING in this statement's snapshot, but FOR UPDATE re-checks them at their latest version
 * and drops them. A count(*) over ai_tasks in the same statement, by contrast, reads the old
 * snapshot only: that variant was measured going up to 22 for a limit of 3 (reference queues.md §4).
 */
export async function claimPendingTasks(db: Queryable, request: ClaimRequest): Promise<ClaimedTask[]> {
  if (request.limit <= 0) return [];
  type ClaimedRow = Pick<
    TaskRow,
    'id' | 'entity_type' | 'entity_id' | 'entity_name' | 'workflow_id' | 'webapp_id' | 'node_info_list' | 'priority' | 'created_at' | 'attempts' | 'max_attempts'
  > & { claim_token: string };
  const { rows } = await db.query<ClaimedRow>(
    `WITH account AS (
       SELECT fingerprint, greatest(max_running - running, 0) AS free
         FROM runninghub_accounts WHERE fingerprint = $4 FOR UPDATE),
     picked AS (
       SELECT id FROM ai_tasks
        WHERE status = 'PENDING' AND run_after <= now() AND cancel_requested_at IS NULL
        ORDER BY priority DESC, created_at, id
        LIMIT least($1::int, coalesce((SELECT free FROM account), 0))
        FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE ai_tasks t
          SET status = 'ACTIVE', attempts = t.attempts + 1, claimed_by = $2, claim_token = gen_random_uuid(),
              claim_expires_at = now() + make_interval(secs => $3::double precision / 1000),
              slot_account = $4, runninghub_task_id = NULL, submitted_at = NULL, next_check_at = NULL,
              outputs = NULL, error_code = NULL, error_message = NULL
         FROM picked WHERE t.id = picked.id
       RETURNING t.id, t.claim_token, t.entity_type, t.entity_id, t.entity_name, t.workflow_id, t.webapp_id,
                 t.node_info_list, t.priority, t.created_at, t.attempts, t.max_attempts),
     taken AS (
       UPDATE runninghub_accounts a SET running = a.running + c.n, updated_at = now()
         FROM (SELECT count(*)::int AS n FROM claimed) c
        WHERE a.fingerprint = $4 AND c.n > 0)
     SELECT * FROM claimed`,
    [request.limit, request.processorId, request.leaseMs, request.account],
  );
  // RETURNING does not keep the CTE's ORDER BY: restore it for callers.
  return rows
    .sort((a, b) => b.priority - a.priority || a.created_at.getTime() - b.created_at.getTime())
    .map((r) => {
      const nodeInfo = nodeInfoListSchema.safeParse(r.node_info_list);
      return {
        id: r.id,
        claimToken: r.claim_token,
        entityType: r.entity_type,
        entityId: r.entity_id,
        entityName: r.entity_name,
        workflowId: r.workflow_id,
        webappId: r.webapp_id,
        nodeInfoList: nodeInfo.success ? nodeInfo.data : [],
        nodeInfoProblem: nodeInfo.success ? null : `node_info_list is not a list of {nodeId, fieldName, fieldValue}: ${z.prettifyError(nodeInfo.error)}`,
        priority: r.priority,
        attempts: r.attempts,
        maxAttempts: r.max_attempts,
      };
    });
}

// --- submitted -----------------------------------------------------------------------------------

/** A result RunningHub reported for a task (from the outputs poll or a webhook). */
export type RemoteResult =
  | { kind: 'success'; outputs: unknown[] }
  | { kind: 'failed'; code: string; message: string };

export type SubmissionRecord =
  /** The id is stored; the task is tracked until it ends. */
  | { state: 'tracking' }
  /** A webhook for this RunningHub task had already arrived: the task is finished with it. */
  | { state: 'finished'; status: FinishedTask['status'] }
  /** Our claim is gone (lease expired and recovered, or the task was changed): the RunningHub task is an orphan. */
  | { state: 'claim-lost' };

/**
 * Store RunningHub's task id right after the create returned it. A webhook that arrived first (fast
 * tasks) is applied in the same transaction; the advisory lock on the RunningHub id orders this
 * against recordWebhookResult so that one of the two always sees the other.
 */
export async function recordSubmission(
  pool: pg.Pool,
  input: { taskId: string; claimToken: string; runninghubTaskId: string; firstCheckInMs: number },
): Promise<SubmissionRecord> {
  return inTransaction(pool, async (client): Promise<SubmissionRecord> => {
    const updated = await client.query(
      `UPDATE ai_tasks SET runninghub_task_id = $3, submitted_at = now(), claim_expires_at = NULL,
              next_check_at = CASE WHEN cancel_requested_at IS NOT NULL THEN now()
                                   ELSE now() + make_interval(secs => $4::double precision / 1000) END
        WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_task_id IS NULL`,
      [input.taskId, input.claimToken, input.runninghubTaskId, input.firstCheckInMs],
    );
    if (updated.rowCount !== 1) return { state: 'claim-lost' };
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [input.runninghubTaskId]);
    const event = await client.query<{ result: RemoteResult }>(
      `SELECT result FROM runninghub_webhook_events WHERE runninghub_task_id = $1 AND applied_at IS NULL`,
      [input.runninghubTaskId],
    );
    const early = event.rows[0];
    if (!early) return { state: 'tracking' };
    const finished = await finishWithResult(client, { runninghubTaskId: input.runninghubTaskId }, early.result);
    await markWebhookApplied(client, input.runninghubTaskId);
    return finished ? { state: 'finished', status: finished.status } : { state: 'tracking' };
  });
}

// --- finished, by the outputs poll or by a webhook -----------------------------------------------

export interface FinishedTask {
  id: string;
  entityName: string;
  runninghubTaskId: string | null;
  status: 'SUCCESS' | 'FAILED' | 'CANCELLED';
}

/** Which task a write is for: a submitted one (by RunningHub id), or our own claim (by its token). */
export type TaskRef = { runninghubTaskId: string } | { taskId: string; claimToken: string };

function refCondition(ref: TaskRef, firstParam: number): { sql: string; params: string[] } {
  if ('runninghubTaskId' in ref) {
    return { sql: `runninghub_task_id = $${firstParam}`, params: [ref.runninghubTaskId] };
  }
  return {
    sql: `id = $${firstParam} AND claim_token = $${firstParam + 1}`,
    params: [ref.taskId, ref.claimToken],
  };
}

/**
 * End an ACTIVE task (SUCCESS, FAILED or CANCELLED) and give its slot back, in one statement.
 * Returns null when the task is no longer ACTIVE (someone else finished it: nothing happens twice).
 */
export async function finishTask(
  db: Queryable,
  ref: TaskRef,
  end:
    | { status: 'SUCCESS'; outputs: unknown[] }
    | { status: 'FAILED'; code: string; message: string }
    | { status: 'CANCELLED'; code?: string; message?: string },
): Promise<FinishedTask | null> {
  const where = refCondition(ref, 5);
  const outputs = end.status === 'SUCCESS' ? JSON.stringify(end.outputs) : null;
  const code = end.status === 'SUCCESS' ? null : (end.code ?? null);
  const message = end.status === 'SUCCESS' ? null : (end.message ?? null);
  const { rows } = await db.query<{ id: string; entity_name: string; runninghub_task_id: string | null }>(
    `WITH old AS (
       SELECT id, slot_account FROM ai_tasks WHERE ${where.sql} AND status = 'ACTIVE' FOR UPDATE),
     done AS (
       UPDATE ai_tasks t SET status = $1, outputs = $2::jsonb, error_code = $3, error_message = $4,
              finished_at = now(), slot_account = NULL, claim_expires_at = NULL, next_check_at = NULL
         FROM old WHERE t.id = old.id
       RETURNING t.id, t.entity_name, t.runninghub_task_id, old.slot_account),
     freed AS (
       UPDATE runninghub_accounts a SET running = a.running - 1, updated_at = now()
         FROM done WHERE a.fingerprint = done.slot_account)
     SELECT id, entity_name, runninghub_task_id,
            CASE WHEN slot_account IS NOT NULL THEN pg_notify('${TASK_CHANNELS.slotFreed}', id::text) END AS notified
       FROM done`,
    [end.status, outputs, code, message, ...where.params],
  );
  const row = rows[0];
  return row ? { id: row.id, entityName: row.entity_name, runninghubTaskId: row.runninghub_task_id, status: end.status } : null;
}

async function finishWithResult(db: Queryable, ref: TaskRef, result: RemoteResult): Promise<FinishedTask | null> {
  return result.kind === 'success'
    ? finishTask(db, ref, { status: 'SUCCESS', outputs: result.outputs })
    : finishTask(db, ref, { status: 'FAILED', code: result.code, message: result.message });
}

/** Apply a result the outputs poll returned for a submitted task. Null if the task had already ended. */
export async function recordPolledResult(db: Queryable, runninghubTaskId: string, result: RemoteResult): Promise<FinishedTask | null> {
  return finishWithResult(db, { runninghubTaskId }, result);
}

export type WebhookRecord =
  | { state: 'duplicate' }
  /** Stored, and the task it belongs to is finished with it. */
  | { state: 'applied'; task: FinishedTask }
  /** Stored; no ACTIVE task has this id (yet): recordSubmission applies it when the id is committed. */
  | { state: 'stored' };

/**
 * Record a RunningHub TASK_END callback once per RunningHub task id and, in the same transaction,
 * finish the task and give its slot back (finishTask NOTIFYs, so processors claim the slot at once).
 */
export async function recordWebhookResult(pool: pg.Pool, runninghubTaskId: string, result: RemoteResult): Promise<WebhookRecord> {
  return inTransaction(pool, async (client): Promise<WebhookRecord> => {
    // The lock (see recordSubmission) and the insert in one round trip; the finish below is a later
    // statement, so its snapshot is taken after the lock was granted.
    const inserted = await client.query(
      `WITH locked AS (SELECT pg_advisory_xact_lock(hashtext($1)))
       INSERT INTO runninghub_webhook_events (runninghub_task_id, result) SELECT $1, $2::jsonb FROM locked
       ON CONFLICT (runninghub_task_id) DO UPDATE SET deliveries = runninghub_webhook_events.deliveries + 1
       RETURNING (xmax = 0) AS fresh`,
      [runninghubTaskId, JSON.stringify(result)],
    );
    if (inserted.rows[0]?.fresh !== true) return { state: 'duplicate' };
    const task = await finishWithResult(client, { runninghubTaskId }, result);
    if (task) {
      await markWebhookApplied(client, runninghubTaskId);
    }
    return task ? { state: 'applied', task } : { state: 'stored' };
  });
}

/** How long a webhook result may wait for a task to store its RunningHub id (the create's lease is far shorter). */
const UNCLAIMED_WEBHOOK_MAX_AGE_MS = 60 * 60_000;

/**
 * Webhook results stored but not yet applied whose task now has the id: apply them (a safety net).
 * Results that can never apply are set aside first (applied_at set, the task left as it is): their
 * task already ended (finished by the poll, cancelled, timed out), or no task took their id within
 * an hour. Otherwise they would stay in the unapplied index and be looked at on every pass, forever.
 */
export async function applyStoredWebhookResults(db: Queryable, limit: number): Promise<FinishedTask[]> {
  await db.query(
    `UPDATE runninghub_webhook_events e SET applied_at = now()
      WHERE e.applied_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM ai_tasks t WHERE t.runninghub_task_id = e.runninghub_task_id AND t.status = 'ACTIVE')
        AND (EXISTS (SELECT 1 FROM ai_tasks t WHERE t.runninghub_task_id = e.runninghub_task_id)
             OR e.received_at < now() - make_interval(secs => $1::double precision / 1000))`,
    [UNCLAIMED_WEBHOOK_MAX_AGE_MS],
  );
  const { rows } = await db.query<{ runninghub_task_id: string; result: RemoteResult }>(
    `SELECT e.runninghub_task_id, e.result FROM runninghub_webhook_events e
       JOIN ai_tasks t ON t.runninghub_task_id = e.runninghub_task_id AND t.status = 'ACTIVE'
      WHERE e.applied_at IS NULL ORDER BY e.received_at LIMIT $1`,
    [limit],
  );
  const finished: FinishedTask[] = [];
  for (const row of rows) {
    const task = await finishWithResult(db, { runninghubTaskId: row.runninghub_task_id }, row.result);
    await markWebhookApplied(db, row.runninghub_task_id);
    if (task) finished.push(task);
  }
  return finished;
}

async function markWebhookApplied(db: Queryable, runninghubTaskId: string): Promise<void> {
  await db.query(`UPDATE runninghub_webhook_events SET applied_at = now() WHERE runninghub_task_id = $1`, [runninghubTaskId]);
}

// --- put back, or recovered after a lost claim ---------------------------------------------------

export interface RequeuedTask {
  id: string;
  entityName: string;
  status: 'PENDING' | 'FAILED';
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
}

/**
 * Give the slot back and put the task back to PENDING after `backoffMs`, or, when the attempt counts
 * and it was the last one allowed, FAILED with this error. `countAttempt: false` (RunningHub had no
 * capacity: the task never started) undoes the attempt the claim counted.
 */
export async function requeueTask(
  db: Queryable,
  ref: TaskRef,
  input: { code: string; message: string; backoffMs: number; countAttempt: boolean },
): Promise<RequeuedTask | null> {
  const where = refCondition(ref, 5);
  const { rows } = await db.query<{
    id: string;
    entity_name: string;
    status: 'PENDING' | 'FAILED';
    attempts: number;
    max_attempts: number;
    run_after: Date;
  }>(
    `WITH old AS (
       SELECT id, slot_account, attempts, max_attempts,
              ($4::boolean AND attempts >= max_attempts) AS exhausted
         FROM ai_tasks WHERE ${where.sql} AND status = 'ACTIVE' FOR UPDATE),
     moved AS (
       UPDATE ai_tasks t SET
              status = CASE WHEN old.exhausted THEN 'FAILED' ELSE 'PENDING' END,
              attempts = CASE WHEN $4::boolean THEN t.attempts ELSE greatest(t.attempts - 1, 0) END,
              finished_at = CASE WHEN old.exhausted THEN now() END,
              run_after = CASE WHEN old.exhausted THEN t.run_after
                               ELSE now() + make_interval(secs => $3::double precision / 1000) END,
              error_code = $1, error_message = $2,
              slot_account = NULL, claimed_by = NULL, claim_token = NULL, claim_expires_at = NULL,
              runninghub_task_id = CASE WHEN old.exhausted THEN t.runninghub_task_id END,
              submitted_at = CASE WHEN old.exhausted THEN t.submitted_at END,
              next_check_at = NULL
         FROM old WHERE t.id = old.id
       RETURNING t.id, t.entity_name, t.status, t.attempts, t.max_attempts, t.run_after, old.slot_account),
     freed AS (
       UPDATE runninghub_accounts a SET running = a.running - 1, updated_at = now()
         FROM moved WHERE a.fingerprint = moved.slot_account)
     SELECT id, entity_name, status, attempts, max_attempts, run_after,
            CASE WHEN slot_account IS NOT NULL THEN pg_notify('${TASK_CHANNELS.slotFreed}', id::text) END AS notified
       FROM moved`,
    [input.code, input.message, input.backoffMs, input.countAttempt, ...where.params],
  );
  const row = rows[0];
  return row
    ? {
        id: row.id,
        entityName: row.entity_name,
        status: row.status,
        attempts: row.attempts,
        maxAttempts: row.max_attempts,
        runAfter: row.run_after,
      }
    : null;
}

export interface RecoveredClaim {
  id: string;
  entityName: string;
  claimedBy: string | null;
  status: 'PENDING' | 'FAILED';
}

/**
 * Claims whose lease ran out before a RunningHub id was stored (the processor died or hung between
 * claim and create reply) go back to PENDING, their slots given back in the same statement.
 *
 * The attempt stays counted: the create may have reached RunningHub, and a task whose submission
 * keeps killing processors must end (FAILED, LEASE_EXPIRED) instead of looping forever.
 */
export async function recoverExpiredClaims(db: Queryable, backoffMs: number): Promise<RecoveredClaim[]> {
  const { rows } = await db.query<{ id: string; entity_name: string; claimed_by: string | null; status: 'PENDING' | 'FAILED' }>(
    `WITH old AS (
       SELECT id, slot_account, claimed_by, attempts >= max_attempts AS exhausted FROM ai_tasks
        WHERE status = 'ACTIVE' AND runninghub_task_id IS NULL AND claim_expires_at < now()
        FOR UPDATE SKIP LOCKED),
     moved AS (
       UPDATE ai_tasks t SET
              status = CASE WHEN old.exhausted THEN 'FAILED' ELSE 'PENDING' END,
              finished_at = CASE WHEN old.exhausted THEN now() END,
              run_after = now() + make_interval(secs => $1::double precision / 1000),
              error_code = 'LEASE_EXPIRED',
              error_message = 'the processor ' || coalesce(old.claimed_by, '?') || ' stopped before recording the RunningHub task id',
              slot_account = NULL, claimed_by = NULL, claim_token = NULL, claim_expires_at = NULL
         FROM old WHERE t.id = old.id
       RETURNING t.id, t.entity_name, old.claimed_by, t.status, old.slot_account),
     freed AS (
       UPDATE runninghub_accounts a SET running = a.running - f.n, updated_at = now()
         FROM (SELECT slot_account, count(*)::int AS n FROM moved WHERE slot_account IS NOT NULL GROUP BY slot_account) f
        WHERE a.fingerprint = f.slot_account)
     SELECT id, entity_name, claimed_by, status,
            CASE WHEN slot_account IS NOT NULL THEN pg_notify('${TASK_CHANNELS.slotFreed}', id::text) END AS notified
       FROM moved`,
    [backoffMs],
  );
  return rows.map((r) => ({ id: r.id, entityName: r.entity_name, claimedBy: r.claimed_by, status: r.status }));
}

// --- checked while it runs -----------------------------------------------------------------------

export interface TaskToCheck {
  id: string;
  entityName: string;
  runninghubTaskId: string;
  cancelRequested: boolean;
  timedOut: boolean;
}

/**
 * Submitted ACTIVE tasks that need a look now: their check is due (no webhook came), a cancel was
 * requested, or they ran past `timeoutMs`. Each is pushed `recheckMs` into the future in the same
 * statement, so several processors share the work instead of all asking RunningHub about the same task.
 */
export async function takeTasksToCheck(
  db: Queryable,
  input: { limit: number; recheckMs: number; timeoutMs: number },
): Promise<TaskToCheck[]> {
  const { rows } = await db.query<{
    id: string;
    entity_name: string;
    runninghub_task_id: string;
    cancel_requested: boolean;
    timed_out: boolean;
  }>(
    `WITH due AS (
       SELECT id FROM ai_tasks
        WHERE status = 'ACTIVE' AND runninghub_task_id IS NOT NULL
          -- Cancels and timeouts too wait for their check: one that keeps failing at RunningHub is
          -- retried every recheckMs, not on every pass. cancelTask makes a fresh cancel due at once.
          AND (next_check_at IS NULL OR next_check_at <= now())
        ORDER BY (cancel_requested_at IS NULL), next_check_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED)
     UPDATE ai_tasks t SET next_check_at = now() + make_interval(secs => $2::double precision / 1000)
       FROM due WHERE t.id = due.id
     RETURNING t.id, t.entity_name, t.runninghub_task_id, t.cancel_requested_at IS NOT NULL AS cancel_requested,
               t.submitted_at < now() - make_interval(secs => $3::double precision / 1000) AS timed_out`,
    [input.limit, input.recheckMs, input.timeoutMs],
  );
  return rows.map((r) => ({
    id: r.id,
    entityName: r.entity_name,
    runninghubTaskId: r.runninghub_task_id,
    cancelRequested: r.cancel_requested,
    timedOut: r.timed_out,
  }));
}

/** PENDING tasks whose cancel was requested (the API normally cancels those itself) become CANCELLED. */
export async function cancelRequestedPendingTasks(db: Queryable): Promise<{ id: string; entityName: string }[]> {
  const { rows } = await db.query<{ id: string; entity_name: string }>(
    `UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now(), error_code = 'CANCELLED',
            error_message = 'cancelled before it was submitted'
      WHERE status = 'PENDING' AND cancel_requested_at IS NOT NULL
     RETURNING id, entity_name`,
  );
  return rows.map((r) => ({ id: r.id, entityName: r.entity_name }));
}

/**
 * Milliseconds until the earliest PENDING task that is not due yet (a retry backoff) becomes due, or
 * null. Tasks already due are not counted: they wait for a free slot, which a notification announces.
 */
export async function msUntilNextDueTask(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT ceil(extract(epoch FROM (min(run_after) - now())) * 1000)::float8 AS ms
       FROM ai_tasks WHERE status = 'PENDING' AND cancel_requested_at IS NULL AND run_after > now()`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, ms);
}

// --- cancelled or retried (the API) --------------------------------------------------------------

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
  const { rows } = await pool.query<TaskRow>(
    `UPDATE ai_tasks SET
        status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END,
        finished_at = CASE WHEN status = 'PENDING' THEN now() ELSE finished_at END,
        cancel_requested_at = COALESCE(cancel_requested_at, now()),
        next_check_at = CASE WHEN status = 'ACTIVE' AND cancel_requested_at IS NULL THEN now() ELSE next_check_at END,
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
  const { rows } = await pool.query<TaskRow>(
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

