// All of the task processor's SQL: claiming PENDING ai_tasks under the account's concurrency limit,
// recording submissions and outcomes, retries, lease recovery, webhook results and heartbeats.
//
// The invariant every statement here keeps: runninghub_accounts.running equals the number of
// ai_tasks whose slot_account is that account. A slot is taken only by claimPendingTasks (with the
// account row locked FOR UPDATE, so concurrent claimers queue on it and see each other's
// increments), and given back only by a statement that clears slot_account on the task and
// decrements the account in the same statement.
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/**
 * Run `work` in a transaction on one pooled connection. A checked-out client has no error listener
 * (the pool removes its own): without one, the server going away between two statements would be an
 * unhandled 'error' event that kills the process. The broken connection is discarded, not reused.
 */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    broken ??= error instanceof Error && isConnectionError(error) ? error : undefined;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  // Class 08: connection exceptions; 57P01..03: the server is shutting down or restarting.
  return /terminated|ECONNRESET|ECONNREFUSED|EPIPE/i.test(error.message) || (typeof code === 'string' && /^(08|57P0)/.test(code));
}

/** Channel names the processor LISTENs on (ai_tasks_pending is created by migration 001). */
export const TASK_CHANNELS = {
  pending: 'ai_tasks_pending',
  cancel: 'ai_tasks_cancel',
  /** A slot was given back (by a processor, or by the webhook handler): claim it now. */
  slotFreed: 'runninghub_slot_freed',
} as const;

export interface ClaimedTask {
  id: string;
  claimToken: string;
  entityType: string;
  entityId: string;
  entityName: string;
  workflowId: string | null;
  webappId: string | null;
  /** As stored (jsonb); the caller parses it into RunningHub's node-info shape. */
  nodeInfoList: unknown;
  priority: number;
  attempts: number;
  maxAttempts: number;
}

export interface ClaimRequest {
  account: string;
  processorId: string;
  /** At most this many tasks, and never more than the account has free slots. */
  limit: number;
  /** How long the claim stays ours without a RunningHub task id before anyone may recover it. */
  leaseMs: number;
}

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
  const { rows } = await db.query<{
    id: string;
    claim_token: string;
    entity_type: string;
    entity_id: string;
    entity_name: string;
    workflow_id: string | null;
    webapp_id: string | null;
    node_info_list: unknown;
    priority: number;
    created_at: Date;
    attempts: number;
    max_attempts: number;
  }>(
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
    .map((r) => ({
      id: r.id,
      claimToken: r.claim_token,
      entityType: r.entity_type,
      entityId: r.entity_id,
      entityName: r.entity_name,
      workflowId: r.workflow_id,
      webappId: r.webapp_id,
      nodeInfoList: r.node_info_list,
      priority: r.priority,
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
    }));
}

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
              next_check_at = now() + make_interval(secs => $4::double precision / 1000)
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
    await client.query(
      `UPDATE runninghub_webhook_events SET applied_at = now() WHERE runninghub_task_id = $1`,
      [input.runninghubTaskId],
    );
    return finished ? { state: 'finished', status: finished.status } : { state: 'tracking' };
  });
}

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
          AND (next_check_at <= now() OR cancel_requested_at IS NOT NULL
               OR submitted_at < now() - make_interval(secs => $3::double precision / 1000))
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

/** Apply a result the outputs poll returned for a submitted task. Null if the task had already ended. */
export async function recordPolledResult(db: Queryable, runninghubTaskId: string, result: RemoteResult): Promise<FinishedTask | null> {
  return finishWithResult(db, { runninghubTaskId }, result);
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
      await client.query(`UPDATE runninghub_webhook_events SET applied_at = now() WHERE runninghub_task_id = $1`, [
        runninghubTaskId,
      ]);
    }
    return task ? { state: 'applied', task } : { state: 'stored' };
  });
}

/** Webhook results stored but not yet applied whose task now has the id: apply them (a safety net). */
export async function applyStoredWebhookResults(db: Queryable, limit: number): Promise<FinishedTask[]> {
  const { rows } = await db.query<{ runninghub_task_id: string; result: RemoteResult }>(
    `SELECT e.runninghub_task_id, e.result FROM runninghub_webhook_events e
       JOIN ai_tasks t ON t.runninghub_task_id = e.runninghub_task_id AND t.status = 'ACTIVE'
      WHERE e.applied_at IS NULL ORDER BY e.received_at LIMIT $1`,
    [limit],
  );
  const finished: FinishedTask[] = [];
  for (const row of rows) {
    const task = await finishWithResult(db, { runninghubTaskId: row.runninghub_task_id }, row.result);
    await db.query(`UPDATE runninghub_webhook_events SET applied_at = now() WHERE runninghub_task_id = $1`, [
      row.runninghub_task_id,
    ]);
    if (task) finished.push(task);
  }
  return finished;
}

export interface ProcessorBeat {
  processorId: string;
  host: string;
  pid: number;
  startedAt: Date;
  submitted: number;
  succeeded: number;
  failed: number;
  retried: number;
  consecutiveErrors: number;
  lastError: string | null;
}

export async function recordHeartbeat(db: Queryable, beat: ProcessorBeat): Promise<void> {
  await db.query(
    `INSERT INTO processor_heartbeats (processor_id, host, pid, started_at, last_beat_at, stopped_at,
            submitted, succeeded, failed, retried, consecutive_errors, last_error)
     VALUES ($1, $2, $3, $4, now(), NULL, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (processor_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
            started_at = EXCLUDED.started_at, last_beat_at = now(), stopped_at = NULL,
            submitted = EXCLUDED.submitted, succeeded = EXCLUDED.succeeded, failed = EXCLUDED.failed,
            retried = EXCLUDED.retried, consecutive_errors = EXCLUDED.consecutive_errors,
            last_error = EXCLUDED.last_error`,
    [
      beat.processorId,
      beat.host,
      beat.pid,
      beat.startedAt,
      beat.submitted,
      beat.succeeded,
      beat.failed,
      beat.retried,
      beat.consecutiveErrors,
      beat.lastError,
    ],
  );
}

export async function markProcessorStopped(db: Queryable, processorId: string): Promise<void> {
  await db.query(`UPDATE processor_heartbeats SET stopped_at = now(), last_beat_at = now() WHERE processor_id = $1`, [
    processorId,
  ]);
}

export interface LiveProcessor {
  processorId: string;
  host: string;
  pid: number;
  startedAt: string;
  lastBeatAt: string;
  submitted: number;
  succeeded: number;
  failed: number;
  retried: number;
  consecutiveErrors: number;
  lastError: string | null;
}

/** Processors that beat within `staleAfterMs` and did not say they stopped: the "live processors" of /api/stats. */
export async function listLiveProcessors(db: Queryable, staleAfterMs = 30_000): Promise<LiveProcessor[]> {
  const { rows } = await db.query<{
    processor_id: string;
    host: string;
    pid: number;
    started_at: Date;
    last_beat_at: Date;
    submitted: string;
    succeeded: string;
    failed: string;
    retried: string;
    consecutive_errors: number;
    last_error: string | null;
  }>(
    `SELECT * FROM processor_heartbeats
      WHERE stopped_at IS NULL AND last_beat_at > now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY processor_id`,
    [staleAfterMs],
  );
  return rows.map((r) => ({
    processorId: r.processor_id,
    host: r.host,
    pid: r.pid,
    startedAt: r.started_at.toISOString(),
    lastBeatAt: r.last_beat_at.toISOString(),
    submitted: Number(r.submitted),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    retried: Number(r.retried),
    consecutiveErrors: r.consecutive_errors,
    lastError: r.last_error,
  }));
}

/** Count an error by code and message (design 003's error aggregation). */
export async function recordProcessorError(db: Queryable, code: string, message: string): Promise<void> {
  await db.query(
    `INSERT INTO processor_errors (code, message) VALUES ($1, left($2, 500))
     ON CONFLICT (code, message) DO UPDATE SET count = processor_errors.count + 1, last_at = now()`,
    [code, message],
  );
}
