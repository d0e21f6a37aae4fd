// Every SQL statement on the task processors' own bookkeeping: processor_heartbeats (who is alive,
// with its counters, for /api/stats) and processor_errors (errors aggregated by code and message).
// A heartbeat carries what only the processor knows; succeeded and failed are counted by the
// database when a task the processor claimed ends, by whatever path (migration 003), so that a task
// finished by the API's webhook handler is credited too.
import type { Queryable } from './pool.js';

export interface ProcessorBeat {
  processorId: string;
  host: string;
  pid: number;
  startedAt: Date;
  submitted: number;
  retried: number;
  /** RunningHub tasks this processor created but could not record (its claim was lost, or shutdown). */
  orphaned: number;
  /** Cancels of those orphans that failed or timed out: each may still hold a RunningHub slot. */
  orphanCancelFailures: number;
  consecutiveErrors: number;
  lastError: string | null;
}

export async function recordHeartbeat(db: Queryable, beat: ProcessorBeat): Promise<void> {
  await db.query(
    `INSERT INTO processor_heartbeats (processor_id, host, pid, started_at, last_beat_at, stopped_at,
            submitted, retried, orphaned, orphan_cancel_failures, consecutive_errors, last_error)
     VALUES ($1, $2, $3, $4, now(), NULL, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (processor_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
            started_at = EXCLUDED.started_at, last_beat_at = now(),
            -- A late beat of the run that said it stopped must not bring it back to life; a new run
            -- (another started_at) under the same id does.
            stopped_at = CASE WHEN processor_heartbeats.started_at = EXCLUDED.started_at
                              THEN processor_heartbeats.stopped_at END,
            -- Counted by the database for this run; a new run starts from zero.
            succeeded = CASE WHEN processor_heartbeats.started_at = EXCLUDED.started_at
                             THEN processor_heartbeats.succeeded ELSE 0 END,
            failed = CASE WHEN processor_heartbeats.started_at = EXCLUDED.started_at
                          THEN processor_heartbeats.failed ELSE 0 END,
            submitted = EXCLUDED.submitted, retried = EXCLUDED.retried, orphaned = EXCLUDED.orphaned,
            orphan_cancel_failures = EXCLUDED.orphan_cancel_failures, consecutive_errors = EXCLUDED.consecutive_errors,
            last_error = EXCLUDED.last_error`,
    [
      beat.processorId,
      beat.host,
      beat.pid,
      beat.startedAt,
      beat.submitted,
      beat.retried,
      beat.orphaned,
      beat.orphanCancelFailures,
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

/** A heartbeat as /api/stats shows it (times as ISO strings). */
export interface LiveProcessor extends Omit<ProcessorBeat, 'startedAt'> {
  startedAt: string;
  lastBeatAt: string;
  /** Tasks claimed by this run that ended SUCCESS / FAILED, whoever applied the result. */
  succeeded: number;
  failed: number;
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
    orphaned: string;
    orphan_cancel_failures: string;
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
    orphaned: Number(r.orphaned),
    orphanCancelFailures: Number(r.orphan_cancel_failures),
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

export interface ProcessorErrorGroup {
  code: string;
  message: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
}

/** The processors' aggregated errors last seen within `sinceHours`, most frequent first (the dashboard's Queue page). */
export async function listProcessorErrors(db: Queryable, { sinceHours = 24, limit = 50 }: { sinceHours?: number; limit?: number } = {}): Promise<ProcessorErrorGroup[]> {
  const { rows } = await db.query<{ code: string; message: string; count: string; first_at: Date; last_at: Date }>(
    `SELECT code, message, count, first_at, last_at FROM processor_errors
      WHERE last_at > now() - make_interval(hours => $1) ORDER BY count DESC, last_at DESC LIMIT $2`,
    [sinceHours, limit],
  );
  return rows.map((r) => ({ code: r.code, message: r.message, count: Number(r.count), firstAt: r.first_at, lastAt: r.last_at }));
}
