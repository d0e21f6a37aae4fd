// Results and webhook events: every result that ends a submitted task goes through applyTaskResult,
// whatever its source (ResultSource in life.ts): the webhook (recordWebhookResult), a webhook that came
// before the id was stored (recordSubmission), a stored webhook applied late (applyStoredWebhookResults),
// the outputs poll (recordPolledResult), or the processor's own cancel or timeout.
import type pg from 'pg';
import { inTransaction, type Queryable } from '../pool.js';
import { endOf, type RemoteResult, type TaskResult } from './life.js';
import { changeStatus } from './row.js';
import { keepingOutputsCtes, startKeepingOutputs } from './outputs.js';
import { finishTask, finishTaskCtes, type FinishedTask, type TaskRef } from './queue.js';

/**
 * The one path of a result: the end it leads to (endOf, life.ts), written with the slot given back
 * in one statement (finishTask). A success first goes to keepingOutputs (outputs.ts): the task reads
 * SUCCESS only once its outputs are kept; the returned status is then the one RunningHub reported.
 * Null when the task is no longer ACTIVE (or already keeping): someone else finished it first (the
 * webhook, the poll, a cancel), and nothing happens twice.
 */
export async function applyTaskResult(db: Queryable, ref: TaskRef, result: TaskResult): Promise<FinishedTask | null> {
  if (result.kind === 'success') return startKeepingOutputs(db, ref, result.outputs);
  return finishTask(db, ref, endOf(result));
}

/** applyTaskResult's writes as CTEs (the same text as startKeepingOutputs's or finishTask's), for a larger statement. */
function taskResultCtes(ref: TaskRef, result: TaskResult, firstParam: number, andWhere: string): { sql: string; params: unknown[] } {
  if (result.kind === 'success') return keepingOutputsCtes(ref, result.outputs, firstParam, andWhere);
  return finishTaskCtes(ref, endOf(result), firstParam, andWhere);
}

// --- submitted: the id stored, and a webhook that came first applied ------------------------------

export type SubmissionRecord =
  /** The id is stored; the task is tracked until it ends. `cancelRequested`: a cancel came during the create (it is due now). */
  | { state: 'tracking'; cancelRequested: boolean }
  /** A webhook for this RunningHub task had already arrived: the task is finished with it. */
  | { state: 'finished'; status: FinishedTask['status'] }
  /** Our claim is gone (lease expired and recovered, or the task was changed): the RunningHub task is an orphan. */
  | { state: 'claim-lost' };

/**
 * Store RunningHub's task id right after the create returned it. A webhook that arrived first (fast
 * tasks) is applied in the same transaction; the advisory lock on the RunningHub id orders this
 * against recordWebhookResult so that one of the two always sees the other (the webhook's side in its
 * second transaction when its one statement's snapshot was taken too early).
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
        WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_task_id IS NULL
        RETURNING cancel_requested_at IS NOT NULL AS cancel_requested`,
      [input.taskId, input.claimToken, input.runninghubTaskId, input.firstCheckInMs],
    );
    const row = updated.rows[0] as { cancel_requested: boolean } | undefined;
    if (!row) return { state: 'claim-lost' };
    const tracking = { state: 'tracking', cancelRequested: row.cancel_requested } as const;
    const early = await lockedUnappliedWebhook(client, input.runninghubTaskId);
    if (!early) return tracking;
    const finished = await applyTaskResult(client, { runninghubTaskId: input.runninghubTaskId }, early);
    await markWebhookApplied(client, input.runninghubTaskId);
    return finished ? { state: 'finished', status: finished.status } : tracking;
  });
}

/** A submitted task's end as found in the table (findTaskEnd). */
export interface FoundTaskEnd {
  entityName: string;
  runninghubTaskId: string;
  status: 'SUCCESS' | 'FAILED' | 'CANCELLED';
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * The end of a submitted task, if it has one: SUCCESS also while its outputs are being kept (RunningHub
 * said SUCCESS). For the processor that submitted it and hears of an end another statement recorded (the
 * api's webhook route, another processor's poll): it logs the end as it logs those it records itself.
 * By id only: claimed_by may already name another processor's keeper.
 */
export async function findTaskEnd(db: Queryable, taskId: string): Promise<FoundTaskEnd | null> {
  const { rows } = await db.query<{ entity_name: string; runninghub_task_id: string; status: string; error_code: string | null; error_message: string | null; keeping: boolean }>(
    `SELECT entity_name, runninghub_task_id, status, error_code, error_message, runninghub_outputs IS NOT NULL AS keeping
       FROM ai_tasks WHERE id = $1 AND runninghub_task_id IS NOT NULL`,
    [taskId],
  );
  const row = rows[0];
  if (!row) return null;
  const status = row.status === 'ACTIVE' && row.keeping ? 'SUCCESS' : row.status;
  if (status !== 'SUCCESS' && status !== 'FAILED' && status !== 'CANCELLED') return null;
  return { entityName: row.entity_name, runninghubTaskId: row.runninghub_task_id, status, errorCode: row.error_code, errorMessage: row.error_message };
}

// --- results from the outputs poll and from webhooks ---------------------------------------------

/** Apply a result the outputs poll returned for a submitted task. Null if the task had already ended. */
export async function recordPolledResult(db: Queryable, runninghubTaskId: string, result: RemoteResult): Promise<FinishedTask | null> {
  return applyTaskResult(db, { runninghubTaskId }, result);
}

export type WebhookRecord =
  | { state: 'duplicate' }
  /** Stored, and the task it belongs to is finished with it. */
  | { state: 'applied'; task: FinishedTask }
  /** Stored; no ACTIVE task has this id (yet): recordSubmission applies it when the id is committed. */
  | { state: 'stored' };

/**
 * Record a RunningHub TASK_END callback once per RunningHub task id and, in the same transaction,
 * finish the task and give its slot back (the trigger of migration 003 wakes the processors to claim it).
 *
 * One statement, committed on its own (durable as any commit): the advisory lock (see recordSubmission),
 * the result applied through applyTaskResult's own writes (taskResultCtes), and the event stored as
 * applied when it was. Against BEGIN, two statements and COMMIT it saves three round trips between a
 * task's end and the slot freed, the path bench:processor's slot gap measures. The statement's snapshot
 * is taken before its lock is granted, so a recordSubmission that stored the id meanwhile is not seen:
 * then, as whenever no task took the result, the event is stored unapplied and applied in a second
 * transaction (applyStoredWebhookResult), whose snapshot comes after the lock. A crash in between leaves
 * the unapplied event to applyStoredWebhookResults, as before. A repeated delivery finds the task
 * already moved on, so nothing happens twice.
 */
export async function recordWebhookResult(pool: pg.Pool, runninghubTaskId: string, result: RemoteResult): Promise<WebhookRecord> {
  const apply = taskResultCtes({ runninghubTaskId }, result, 3, 'AND EXISTS (SELECT FROM locked)');
  const rows = await changeStatus<{ fresh: boolean; id: string | null; entity_name: string | null; runninghub_task_id: string | null }>(
    pool,
    `WITH locked AS (SELECT pg_advisory_xact_lock(hashtext($1))),
     ${apply.sql},
     inserted AS (
       INSERT INTO runninghub_webhook_events (runninghub_task_id, result, applied_at)
       SELECT $1, $2::jsonb, (SELECT now() FROM moved) FROM locked
       ON CONFLICT (runninghub_task_id) DO UPDATE SET deliveries = runninghub_webhook_events.deliveries + 1,
              applied_at = coalesce(runninghub_webhook_events.applied_at, EXCLUDED.applied_at)
       RETURNING (xmax = 0) AS fresh)
     SELECT i.fresh, m.id, m.entity_name, m.runninghub_task_id FROM inserted i LEFT JOIN moved m ON true`,
    [runninghubTaskId, JSON.stringify(result), ...apply.params],
    // Prepared: this is the path of every webhook (one text per kind of result).
    `record_webhook_${result.kind}`,
  );
  const row = rows[0];
  if (row?.id) {
    const status = result.kind === 'success' ? 'SUCCESS' : endOf(result).status;
    return { state: 'applied', task: { id: row.id, entityName: row.entity_name ?? '', runninghubTaskId: row.runninghub_task_id, status } };
  }
  if (row?.fresh !== true) return { state: 'duplicate' };
  return applyStoredWebhookResult(pool, runninghubTaskId);
}

/** The second chance of recordWebhookResult: a stored, unapplied event applied after its lock. */
async function applyStoredWebhookResult(pool: pg.Pool, runninghubTaskId: string): Promise<WebhookRecord> {
  return inTransaction(pool, async (client): Promise<WebhookRecord> => {
    const stored = await lockedUnappliedWebhook(client, runninghubTaskId);
    // Applied meanwhile (recordSubmission took it once our statement committed): nothing left to do.
    if (!stored) return { state: 'stored' };
    const task = await applyTaskResult(client, { runninghubTaskId }, stored);
    if (!task) return { state: 'stored' };
    await markWebhookApplied(client, runninghubTaskId);
    return { state: 'applied', task };
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
    const task = await applyTaskResult(db, { runninghubTaskId: row.runninghub_task_id }, row.result);
    await markWebhookApplied(db, row.runninghub_task_id);
    if (task) finished.push(task);
  }
  return finished;
}

/**
 * The stored, not yet applied webhook result for a RunningHub id, read under that id's advisory lock (held
 * to the end of the transaction): recordSubmission and recordWebhookResult's second transaction meet there.
 */
async function lockedUnappliedWebhook(client: Queryable, runninghubTaskId: string): Promise<RemoteResult | undefined> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [runninghubTaskId]);
  const event = await client.query<{ result: RemoteResult }>(
    `SELECT result FROM runninghub_webhook_events WHERE runninghub_task_id = $1 AND applied_at IS NULL`,
    [runninghubTaskId],
  );
  return event.rows[0]?.result;
}

async function markWebhookApplied(db: Queryable, runninghubTaskId: string): Promise<void> {
  await db.query(`UPDATE runninghub_webhook_events SET applied_at = now() WHERE runninghub_task_id = $1`, [runninghubTaskId]);
}
