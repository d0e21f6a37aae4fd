// Every SQL statement on the task processors' own bookkeeping: processor_heartbeats (who is alive,
// with its counters, for /api/stats) and processor_errors (errors aggregated by code and message).
import type { Queryable } from './pool.js';

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
            started_at = EXCLUDED.started_at, last_beat_at = now(),
            -- A late beat of the run that said it stopped must not bring it back to life; a new run
            -- (another started_at) under the same id does.
            stopped_at = CASE WHEN processor_heartbeats.started_at = EXCLUDED.started_at
                              THEN processor_heartbeats.stopped_at END,
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

/** A heartbeat as /api/stats shows it (times as ISO strings). */
export interface LiveProcessor extends Omit<ProcessorBeat, 'startedAt'> {
  startedAt: string;
  lastBeatAt: string;
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
