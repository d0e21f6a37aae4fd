// The pause of a RunningHub account whose wallet is empty (416, 812, v2's balance messages). All SQL
// on runninghub_accounts' pause columns (migration 005) is here; the claim reads only `paused_at`
// (one condition in claimPendingTasks, src/db/tasks/queue.ts).
import type { Queryable } from './pool.js';

export interface AccountPause {
  /** ISO 8601. */
  pausedAt: string;
  code: string;
  reason: string;
  /** accountStatus checks made since the pause. */
  checks: number;
  nextCheckAt: string | null;
}

/**
 * Pause the account, unless it is paused already. True only for the call that paused it, so the
 * pause is logged once however many processors and tasks saw the refusal.
 */
export async function pauseAccount(db: Queryable, fingerprint: string, pause: { code: string; reason: string; firstCheckInMs: number }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE runninghub_accounts
        SET paused_at = now(), pause_code = $2, pause_reason = left($3, 2000), balance_checks = 0,
            next_balance_check_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
      WHERE fingerprint = $1 AND paused_at IS NULL`,
    [fingerprint, pause.code.slice(0, 40), pause.reason, pause.firstCheckInMs],
  );
  return rowCount === 1;
}

/**
 * Take the account's balance check if one is due (one processor at a time gets it): the next check is
 * moved on to now + backoff(checks) first, so a processor that dies mid-check only delays the next.
 */
export async function takeDueBalanceCheck(
  db: Queryable,
  fingerprint: string,
  backoff: { baseMs: number; maxMs: number },
): Promise<{ checks: number } | null> {
  const { rows } = await db.query<{ balance_checks: number }>(
    `UPDATE runninghub_accounts
        SET balance_checks = balance_checks + 1,
            next_balance_check_at = now() + make_interval(secs => least($2::double precision * power(2, least(balance_checks, 20)), $3::double precision) / 1000)
      WHERE fingerprint = $1 AND paused_at IS NOT NULL AND next_balance_check_at <= now()
      RETURNING balance_checks`,
    [fingerprint, backoff.baseMs, backoff.maxMs],
  );
  const row = rows[0];
  return row ? { checks: row.balance_checks } : null;
}

/** End the pause; true only for the call that ended it (logged once). Wakes the claimers. */
export async function resumeAccount(db: Queryable, fingerprint: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH resumed AS (
       UPDATE runninghub_accounts
          SET paused_at = NULL, pause_code = NULL, pause_reason = NULL, next_balance_check_at = NULL, balance_checks = 0, updated_at = now()
        WHERE fingerprint = $1 AND paused_at IS NOT NULL
       RETURNING fingerprint)
     SELECT pg_notify('ai_tasks_pending', 'account-resumed') FROM resumed`,
    [fingerprint],
  );
  return rowCount === 1;
}

/** Every paused account, for /api/stats and /metrics. */
export async function listAccountPauses(db: Queryable): Promise<(AccountPause & { account: string })[]> {
  const { rows } = await db.query<{
    fingerprint: string;
    paused_at: Date;
    pause_code: string;
    pause_reason: string | null;
    balance_checks: number;
    next_balance_check_at: Date | null;
  }>(
    `SELECT fingerprint, paused_at, pause_code, pause_reason, balance_checks, next_balance_check_at
       FROM runninghub_accounts WHERE paused_at IS NOT NULL ORDER BY paused_at`,
  );
  return rows.map((r) => ({
    // The first 12 hex digits name the account in stats without the full key hash.
    account: r.fingerprint.slice(0, 12),
    pausedAt: r.paused_at.toISOString(),
    code: r.pause_code,
    reason: r.pause_reason ?? '',
    checks: r.balance_checks,
    nextCheckAt: r.next_balance_check_at?.toISOString() ?? null,
  }));
}
