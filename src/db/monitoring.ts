// Read-only queries for monitoring (the api's /metrics at scrape time, the `storyboard stats` command):
// what the processors report through their heartbeats, the RunningHub slots they hold, the backlog, and
// the tasks that finished since a point in time. Every query is served by an index or a small table.
import type { Queryable } from './pool.js';

export interface ProcessorHealth {
  processorId: string;
  host: string;
  pid: number;
  consecutiveErrors: number;
  lastError: string | null;
  /** Seconds since its last heartbeat. */
  heartbeatAgeSeconds: number;
  /** Beat within `liveAfterSeconds` and did not say it stopped. */
  live: boolean;
}

export interface MonitoringSnapshot {
  /** Seconds the oldest PENDING task has waited since it was created; null when nothing is PENDING. */
  oldestPendingAgeSeconds: number | null;
  /** RunningHub slots held now and the accounts' limits (summed over accounts). */
  slotsInUse: number;
  slotsLimit: number;
  /** Processors that have not said they stopped and beat within the last hour (a dead one ages here). */
  processors: ProcessorHealth[];
}

export async function getMonitoringSnapshot(db: Queryable, liveAfterSeconds = 30): Promise<MonitoringSnapshot> {
  const [backlog, slots, processors] = await Promise.all([
    db.query<{ age: number | null }>(
      `SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM ai_tasks WHERE status = 'PENDING'`,
    ),
    db.query<{ in_use: number; max: number }>(
      `SELECT COALESCE(sum(running), 0)::int AS in_use, COALESCE(sum(max_running), 0)::int AS max FROM runninghub_accounts`,
    ),
    db.query<{ processor_id: string; host: string; pid: number; consecutive_errors: number; last_error: string | null; age: number }>(
      `SELECT processor_id, host, pid, consecutive_errors, last_error,
              greatest(extract(epoch FROM now() - last_beat_at), 0)::float8 AS age
         FROM processor_heartbeats
        WHERE stopped_at IS NULL AND last_beat_at > now() - interval '1 hour'
        ORDER BY processor_id`,
    ),
  ]);
  const age = backlog.rows[0]?.age ?? null;
  return {
    oldestPendingAgeSeconds: age === null ? null : Math.max(0, age),
    slotsInUse: slots.rows[0]?.in_use ?? 0,
    slotsLimit: slots.rows[0]?.max ?? 0,
    processors: processors.rows.map((r) => ({
      processorId: r.processor_id,
      host: r.host,
      pid: r.pid,
      consecutiveErrors: r.consecutive_errors,
      lastError: r.last_error,
      heartbeatAgeSeconds: r.age,
      live: r.age <= liveAfterSeconds,
    })),
  };
}

export interface FinishedTaskTiming {
  status: 'SUCCESS' | 'FAILED' | 'CANCELLED';
  errorCode: string | null;
  /** created → last submission to RunningHub; null when it never reached RunningHub. */
  queuedSeconds: number | null;
  /** last submission → finished; null when it never reached RunningHub. */
  atRunningHubSeconds: number | null;
}

export interface FinishedTasksPage {
  tasks: FinishedTaskTiming[];
  /**
   * Pass as `after` next time: every task finished up to it has been returned. PostgreSQL's own text of a
   * timestamptz (microseconds; a JS Date would cut them and count a task twice).
   */
  watermark: string;
}

/**
 * Tasks that finished after `after`, oldest first. Tasks are only returned once they finished more than
 * `settleSeconds` ago, so a transaction committing a slightly older `finished_at` late is not skipped. A
 * full page ends before its last instant (those tasks come in the next page), unless the whole page is
 * one instant.
 */
export async function listTasksFinishedSince(
  db: Queryable,
  after: string | Date,
  { limit = 10_000, settleSeconds = 2 }: { limit?: number; settleSeconds?: number } = {},
): Promise<FinishedTasksPage> {
  const from = typeof after === 'string' ? after : after.toISOString();
  const { rows } = await db.query<{
    status: FinishedTaskTiming['status'];
    error_code: string | null;
    queued: number | null;
    at_runninghub: number | null;
    finished: string;
    bound: string;
  }>(
    `WITH bound AS (SELECT greatest(now() - make_interval(secs => $3), $1::timestamptz) AS upto)
     SELECT status, error_code, finished_at::text AS finished, bound.upto::text AS bound,
            extract(epoch FROM submitted_at - created_at)::float8 AS queued,
            extract(epoch FROM finished_at - submitted_at)::float8 AS at_runninghub
       FROM bound LEFT JOIN LATERAL (
              SELECT * FROM ai_tasks WHERE finished_at > $1::timestamptz AND finished_at <= bound.upto
               ORDER BY finished_at LIMIT $2) t ON true`,
    [from, limit, settleSeconds],
  );
  const bound = rows[0]?.bound ?? from;
  let found = rows.filter((r) => r.finished !== null);
  let watermark = bound;
  if (found.length === limit) {
    const lastInstant = found.at(-1)!.finished;
    const before = found.filter((r) => r.finished !== lastInstant);
    if (before.length > 0) found = before;
    watermark = found.at(-1)!.finished;
  }
  return {
    tasks: found.map((r) => ({
      status: r.status,
      errorCode: r.error_code,
      queuedSeconds: r.queued === null ? null : Math.max(0, r.queued),
      atRunningHubSeconds: r.at_runninghub === null ? null : Math.max(0, r.at_runninghub),
    })),
    watermark,
  };
}
