// task_callbacks (migration 007): the outbox of result callbacks. Rows are written by the trigger in the
// transaction that ends a task with a callback_url; processors claim due rows with a lease, POST them,
// and record the outcome here. A processor killed mid-POST leaves a row whose lease runs out: another
// processor (or its successor) delivers it. Delivery is at least once; `X-Storyboard-Delivery` lets a
// receiver drop a repeat.
import type { Queryable } from '../pool.js';

export type CallbackState = 'pending' | 'delivered' | 'failed';

/** A delivery a processor has claimed: POST `payload` to `url`, then record the outcome. */
export interface DueCallback {
  id: string;
  /** The task whose end this reports, or null for a storyboard's end. */
  taskId: string | null;
  storyboardId: string | null;
  url: string;
  /** The JSON body, exactly as stored (signed as sent). */
  payload: unknown;
  /** This attempt's number, from 1. */
  attempt: number;
}

/**
 * Claim up to `limit` pending deliveries that are due: the attempt is counted and the row pushed
 * `leaseMs` into the future in the same statement (SKIP LOCKED: processors share the rows), so a
 * processor that dies mid-POST leaves it due again once the lease is over.
 */
export async function claimDueCallbacks(db: Queryable, input: { limit: number; leaseMs: number }): Promise<DueCallback[]> {
  const { rows } = await db.query<{ id: string; task_id: string | null; storyboard_id: string | null; url: string; payload: unknown; attempts: number }>(
    `WITH due AS (
       SELECT id FROM task_callbacks
        WHERE state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE task_callbacks c SET attempts = c.attempts + 1,
            next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       FROM due WHERE c.id = due.id
     RETURNING c.id::text AS id, c.task_id, c.storyboard_id, c.url, c.payload, c.attempts`,
    [input.limit, input.leaseMs],
  );
  return rows.map((r) => ({ id: r.id, taskId: r.task_id, storyboardId: r.storyboard_id, url: r.url, payload: r.payload, attempt: r.attempts }));
}

export type CallbackOutcome =
  | { kind: 'delivered'; httpStatus: number }
  /** Not a 2xx, or no answer: retried after `retryInMs`, or `failed` for good when `retryInMs` is null. */
  | { kind: 'refused'; httpStatus: number | null; error: string; retryInMs: number | null };

/** Record what one attempt did. Only the claim of this attempt may record it (attempts still equal). */
export async function recordCallbackOutcome(db: Queryable, claimed: Pick<DueCallback, 'id' | 'attempt'>, outcome: CallbackOutcome): Promise<boolean> {
  if (outcome.kind === 'delivered') {
    const { rowCount } = await db.query(
      `UPDATE task_callbacks SET state = 'delivered', delivered_at = now(), last_status = $3, last_error = NULL
        WHERE id = $1 AND attempts = $2 AND state = 'pending'`,
      [claimed.id, claimed.attempt, outcome.httpStatus],
    );
    return rowCount === 1;
  }
  const { rowCount } = await db.query(
    `UPDATE task_callbacks SET last_status = $3, last_error = left($4, 1000),
            state = CASE WHEN $5::double precision IS NULL THEN 'failed' ELSE 'pending' END,
            next_attempt_at = CASE WHEN $5::double precision IS NULL THEN next_attempt_at
                                   ELSE now() + make_interval(secs => $5::double precision / 1000) END
      WHERE id = $1 AND attempts = $2 AND state = 'pending'`,
    [claimed.id, claimed.attempt, outcome.httpStatus, outcome.error, outcome.retryInMs],
  );
  return rowCount === 1;
}

/** A delivery as the API shows it on its task. */
export interface CallbackDelivery {
  id: string;
  url: string;
  state: CallbackState;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** The task's deliveries, oldest first (one per end: a retried task that ends again gets another). */
export async function listTaskCallbacks(db: Queryable, taskId: string): Promise<CallbackDelivery[]> {
  return listCallbacks(db, 'task_id = $1', taskId);
}

/** The storyboard's own deliveries (not its shots'), oldest first: one each time it finishes. */
export async function listStoryboardCallbacks(db: Queryable, storyboardId: string): Promise<CallbackDelivery[]> {
  return listCallbacks(db, 'task_id IS NULL AND storyboard_id = $1', storyboardId);
}

async function listCallbacks(db: Queryable, where: string, id: string): Promise<CallbackDelivery[]> {
  const { rows } = await db.query<{
    id: string;
    url: string;
    state: CallbackState;
    attempts: number;
    next_attempt_at: Date;
    last_status: number | null;
    last_error: string | null;
    created_at: Date;
    delivered_at: Date | null;
  }>(
    `SELECT id::text AS id, url, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
       FROM task_callbacks c WHERE ${where} ORDER BY c.id`,
    [id],
  );
  return rows.map((r) => ({
    id: r.id,
    url: r.url,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.state === 'pending' ? r.next_attempt_at : null,
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  }));
}

/** Milliseconds until the next pending delivery is due (0 if one is due now), or null with none. */
export async function msUntilNextCallback(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT greatest(0, ceil(extract(epoch FROM (min(next_attempt_at) - now())) * 1000))::float8 AS ms
       FROM task_callbacks WHERE state = 'pending'`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : ms;
}
