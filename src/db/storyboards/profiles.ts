// Profiles in the database: the processor writes the configured ones (limits and per-profile timings)
// so that every claim, in any process, sees the same limits; `running` is kept by the claim and by
// migration 006's trigger when the account's slot is given back.
import type { Queryable } from '../pool.js';

export interface ProfileLimits {
  name: string;
  maxRunning: number;
  workflowIds: string[];
  webappIds: string[];
  timeoutMs?: number | undefined;
  pollMs?: number | undefined;
  backoffMs?: number | undefined;
  maxAttempts?: number | undefined;
}

/**
 * Make task_profiles hold exactly these profiles (keeping each one's `running`). A profile no longer
 * configured is deleted: its tasks still running then count against the account only.
 */
export async function syncProfiles(db: Queryable, profiles: readonly ProfileLimits[]): Promise<void> {
  await db.query(
    `WITH given AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS g(name text, max_running int, workflow_ids text[], webapp_ids text[],
                                                         timeout_ms int, poll_ms int, backoff_ms int, max_attempts int)),
     gone AS (DELETE FROM task_profiles WHERE name NOT IN (SELECT name FROM given))
     INSERT INTO task_profiles (name, max_running, workflow_ids, webapp_ids, timeout_ms, poll_ms, backoff_ms, max_attempts)
     SELECT name, max_running, workflow_ids, webapp_ids, timeout_ms, poll_ms, backoff_ms, max_attempts FROM given
     ON CONFLICT (name) DO UPDATE SET max_running = EXCLUDED.max_running, workflow_ids = EXCLUDED.workflow_ids,
        webapp_ids = EXCLUDED.webapp_ids, timeout_ms = EXCLUDED.timeout_ms, poll_ms = EXCLUDED.poll_ms,
        backoff_ms = EXCLUDED.backoff_ms, max_attempts = EXCLUDED.max_attempts, updated_at = now()`,
    [
      JSON.stringify(
        profiles.map((p) => ({
          name: p.name,
          max_running: p.maxRunning,
          workflow_ids: p.workflowIds,
          webapp_ids: p.webappIds,
          timeout_ms: p.timeoutMs ?? null,
          poll_ms: p.pollMs ?? null,
          backoff_ms: p.backoffMs ?? null,
          max_attempts: p.maxAttempts ?? null,
        })),
      ),
    ],
  );
}

export interface ProfileUsage {
  name: string;
  running: number;
  maxRunning: number;
  /** Tasks holding a slot under this profile, counted from ai_tasks (equals `running` when consistent). */
  holders: number;
}

export async function getProfileUsage(db: Queryable): Promise<ProfileUsage[]> {
  const { rows } = await db.query<{ name: string; running: number; max_running: number; holders: number }>(
    `SELECT p.name, p.running, p.max_running,
            (SELECT count(*)::int FROM ai_tasks t WHERE t.slot_profile = p.name AND t.slot_account IS NOT NULL) AS holders
       FROM task_profiles p ORDER BY p.name`,
  );
  return rows.map((r) => ({ name: r.name, running: r.running, maxRunning: r.max_running, holders: r.holders }));
}
