// What the dashboard's Queue page reads: who holds the account's RunningHub slots, the backlog, the last
// hour's throughput per minute, and the failures grouped by error. Read-only; every query is served by a
// partial index (slot holders, PENDING, finished_at) or a small table (runninghub_accounts).
import { listAccountPauses, type AccountPause } from '../account-pause.js';
import type { Queryable } from '../pool.js';
import type { TaskStatus } from './life.js';

export interface SlotHolder {
  taskId: string;
  entityType: string;
  entityId: string;
  entityName: string;
  status: TaskStatus;
  /** `claimed` until RunningHub's task id is stored, then `submitted` (life.ts's phases). */
  phase: 'claimed' | 'submitted' | 'cancelRequested';
  runninghubTaskId: string | null;
  claimedBy: string | null;
  attempts: number;
  /** When the current run was submitted to RunningHub; null while only claimed. */
  submittedAt: Date | null;
  updatedAt: Date;
}

export interface AccountSlots {
  /** The first 12 hex digits of the key's sha256: enough to tell accounts apart, nothing of the key. */
  account: string;
  maxRunning: number;
  running: number;
  holders: SlotHolder[];
  /** Set while claiming is paused for this account (wallet empty; account-pause.ts), with why. */
  pause: AccountPause | null;
}

export interface ThroughputMinute {
  /** Start of the minute. */
  minute: Date;
  succeeded: number;
  failed: number;
}

export interface QueueOverview {
  now: Date;
  accounts: AccountSlots[];
  backlog: {
    pending: number;
    /** PENDING and due now (run_after passed); the rest wait for a retry's backoff. */
    due: number;
    oldestPendingAgeSeconds: number | null;
  };
  /** 60 minutes, oldest first, the current minute last. */
  lastHour: ThroughputMinute[];
}

function pausedAccount(pauses: (AccountPause & { account: string })[], fingerprint: string): AccountPause | null {
  const found = pauses.find((p) => p.account === fingerprint.slice(0, 12));
  if (!found) return null;
  return { pausedAt: found.pausedAt, code: found.code, reason: found.reason, checks: found.checks, nextCheckAt: found.nextCheckAt };
}

export async function getQueueOverview(db: Queryable): Promise<QueueOverview> {
  const [now, accounts, holders, backlog, minutes, pauses] = await Promise.all([
    db.query<{ now: Date }>('SELECT now()'),
    db.query<{ fingerprint: string; max_running: number; running: number }>(
      'SELECT fingerprint, max_running, running FROM runninghub_accounts ORDER BY fingerprint',
    ),
    db.query<{
      id: string;
      slot_account: string;
      entity_type: string;
      entity_id: string;
      entity_name: string;
      status: TaskStatus;
      runninghub_task_id: string | null;
      claimed_by: string | null;
      attempts: number;
      cancel_requested_at: Date | null;
      submitted_at: Date | null;
      updated_at: Date;
    }>(
      `SELECT id, slot_account, entity_type, entity_id, entity_name, status, runninghub_task_id, claimed_by, attempts,
              cancel_requested_at, submitted_at, updated_at
         FROM ai_tasks WHERE slot_account IS NOT NULL ORDER BY submitted_at NULLS LAST, id`,
    ),
    db.query<{ pending: number; due: number; oldest: number | null }>(
      `SELECT count(*)::int AS pending, count(*) FILTER (WHERE run_after <= now())::int AS due,
              extract(epoch FROM now() - min(created_at))::float8 AS oldest
         FROM ai_tasks WHERE status = 'PENDING'`,
    ),
    db.query<{ minute: Date; succeeded: number; failed: number }>(
      // One range scan of the finished_at index, grouped by minute; the empty minutes filled in after.
      `WITH finished AS (
         SELECT date_trunc('minute', finished_at) AS minute,
                count(*) FILTER (WHERE status = 'SUCCESS')::int AS succeeded,
                count(*) FILTER (WHERE status = 'FAILED')::int AS failed
           FROM ai_tasks WHERE finished_at >= date_trunc('minute', now()) - interval '59 minutes'
          GROUP BY 1)
       SELECT m.minute, COALESCE(f.succeeded, 0) AS succeeded, COALESCE(f.failed, 0) AS failed
         FROM generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') AS m(minute)
         LEFT JOIN finished f ON f.minute = m.minute
        ORDER BY m.minute`,
    ),
    listAccountPauses(db),
  ]);
  const pending = backlog.rows[0]!;
  return {
    now: now.rows[0]!.now,
    accounts: accounts.rows.map((a) => ({
      account: a.fingerprint.slice(0, 12),
      maxRunning: a.max_running,
      running: a.running,
      holders: holders.rows
        .filter((h) => h.slot_account === a.fingerprint)
        .map((h) => ({
          taskId: h.id,
          entityType: h.entity_type,
          entityId: h.entity_id,
          entityName: h.entity_name,
          status: h.status,
          phase: h.cancel_requested_at !== null ? 'cancelRequested' : h.runninghub_task_id === null ? 'claimed' : 'submitted',
          runninghubTaskId: h.runninghub_task_id,
          claimedBy: h.claimed_by,
          attempts: h.attempts,
          submittedAt: h.submitted_at,
          updatedAt: h.updated_at,
        })),
      pause: pausedAccount(pauses, a.fingerprint),
    })),
    backlog: {
      pending: pending.pending,
      due: pending.due,
      oldestPendingAgeSeconds: pending.oldest === null ? null : Math.max(0, pending.oldest),
    },
    lastHour: minutes.rows,
  };
}

export interface FailureGroup {
  code: string;
  message: string;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  /** The most recent FAILED task of the group, to open its detail. */
  latestTaskId: string;
}

/**
 * FAILED tasks that finished in the last `sinceHours`, grouped by error code and message, most
 * frequent first. A retried task leaves the group (its error is cleared): the groups show what is
 * failing now, not history.
 */
export async function listFailureGroups(db: Queryable, { sinceHours = 24, limit = 50 }: { sinceHours?: number; limit?: number } = {}): Promise<FailureGroup[]> {
  const { rows } = await db.query<{ code: string; message: string; count: number; first_seen: Date; last_seen: Date; latest_task_id: string }>(
    `SELECT COALESCE(error_code, 'UNKNOWN') AS code, COALESCE(error_message, '') AS message, count(*)::int AS count,
            min(finished_at) AS first_seen, max(finished_at) AS last_seen,
            (array_agg(id ORDER BY finished_at DESC))[1]::text AS latest_task_id
       FROM ai_tasks
      WHERE status = 'FAILED' AND finished_at > now() - make_interval(hours => $1)
      GROUP BY 1, 2 ORDER BY count(*) DESC, max(finished_at) DESC LIMIT $2`,
    [sinceHours, limit],
  );
  return rows.map((r) => ({
    code: r.code,
    message: r.message,
    count: r.count,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    latestTaskId: r.latest_task_id,
  }));
}
