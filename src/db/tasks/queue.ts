// The queue: the account's slots, claims, the end of a task and its slot, requeues, lease recovery
// and the checks of running tasks. Each statement is one transition of the life table (life.ts).
//
// The invariant these statements keep: runninghub_accounts.running equals the number of ai_tasks
// whose slot_account is that account. A slot is taken only by claimPendingTasks (with the account row
// locked FOR UPDATE, so concurrent claimers queue on it and see each other's increments), and given
// back only by a statement that clears slot_account on the task and decrements the account in the
// same statement. Clearing slot_account is also what wakes the processors (migration 003's trigger).
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { assertEndOfActive, type EndStatus, type TaskEnd } from './life.js';
import { changeStatus, nodeInfoListSchema, type AiTask, type NodeInfo, type TaskRow } from './row.js';

// --- the account's slots -------------------------------------------------------------------------

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

/** The claim's prepared-statement name (each pooled connection prepares it on its first claim). */
const CLAIM_STATEMENT = 'claim_pending_tasks';

/** What a processor needs to submit a task it has just claimed. */
export interface ClaimedTask
  extends Pick<AiTask, 'id' | 'entityType' | 'entityId' | 'entityName' | 'workflowId' | 'webappId' | 'priority' | 'attempts' | 'maxAttempts'> {
  claimToken: string;
  /** The task's own instanceType (migration 005), or null for the workflow's default. */
  instanceType: 'default' | 'plus' | null;
  /** Parsed with nodeInfoListSchema; empty when the stored list is not valid (see nodeInfoProblem). */
  nodeInfoList: NodeInfo[];
  /**
   * Why the stored node_info_list does not parse, or null. A bad row must not make the whole claim
   * fail (the other tasks would never run): the processor fails this one task with the reason.
   */
  nodeInfoProblem: string | null;
  /** The profile whose slot the claim took (its timings apply), or null. */
  profile: string | null;
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
 * Claim up to `limit` due PENDING tasks, taking one of the account's slots for each (and one of its
 * profile's, when the task has a profile). The task becomes ACTIVE without a RunningHub id, leased to
 * this processor.
 *
 * Which tasks (fair turns): higher priority first; within a priority, round-robin between groups (a
 * storyboard, or a task without one as its own group), counting the slots a group already holds: a
 * task's place in line is its rank within its group plus the group's ACTIVE shots (storyboards.active),
 * so a group running 2 tasks waits while one running none has a task due. Ties go to the group served
 * longest ago (storyboards.last_turn, stamped by migration 006's trigger; never served first), then
 * to the oldest task. Strict alternation instead would still hand a storyboard that holds every slot
 * every other free one (measured: the small storyboard of bench:storyboards finished in 5.5 T, not
 * within 4 T). A profile's tasks beyond its free slots are passed over, so the next group's task takes
 * the slot instead.
 *
 * Why its cost does not grow with the backlog: a claim takes at most `limit` tasks, and within a group
 * the ranking above follows (priority DESC, created_at, shot_index, id), so only each group's first
 * `limit` due tasks can be taken. The ranking runs over those candidates only: each storyboard with
 * pending shots (storyboards.pending > 0) gives its first `limit` due shots through an index lateral,
 * and the lone tasks come from ai_tasks_lone_claim_candidates (migration 008), which walks them in
 * order stepping over those a profile would pass over (each lone task is its own group, so skipping
 * one changes no other's rank). A storyboard's shots cannot be skipped that way (each counts in the
 * rank of those after it), so the one case where the choice can differ from ranking every task: a
 * storyboard whose shots run under different profiles (per-shot workflows, no storyboard profile)
 * and whose first `limit` due shots are all passed over, while a later shot of another profile would
 * have been taken; it then waits until a slot of the first profile frees. Shots of a storyboard that
 * names a profile, or that share a workflow, pass or fail the profile in order, so there it is exact
 * (test/db/storyboards/claim-candidates.test.ts compares both on randomised queues). Under a
 * concurrent claimer that took some candidates, a claim may take fewer than it could (never more);
 * the next claim takes the rest.
 *
 * Why this holds both limits under any number of concurrent claimers: the account row is locked
 * FOR UPDATE first (the LIMIT depends on it, so it is evaluated before the task scan; the profile rows
 * are locked only after it, by the condition on `account`), and a row locked that way is re-read at
 * its latest committed version, so `free` includes every claim and release committed before the lock
 * was granted. Tasks that another claimer took meanwhile still look PENDING in this statement's
 * snapshot, but FOR UPDATE re-checks them at their latest version and drops them (fewer tasks, never
 * more than a limit). A count(*) over ai_tasks in the same statement, by contrast, reads the old
 * snapshot only: that variant was measured going up to 22 for a limit of 3 (reference queues.md §4).
 */
export async function claimPendingTasks(db: Queryable, request: ClaimRequest): Promise<ClaimedTask[]> {
  if (request.limit <= 0) return [];
  type ClaimedRow = Pick<
    TaskRow,
    'id' | 'entity_type' | 'entity_id' | 'entity_name' | 'workflow_id' | 'webapp_id' | 'node_info_list' | 'priority' | 'created_at' | 'attempts' | 'max_attempts'
  > & { claim_token: string; turn: string; slot_profile: string | null; instance_type: 'default' | 'plus' | null };
  const rows = await changeStatus<ClaimedRow>(
    db,
    `WITH account AS (
       SELECT fingerprint, greatest(max_running - running, 0) AS free
         FROM runninghub_accounts WHERE fingerprint = $4
          -- A paused account (wallet empty, src/db/account-pause.ts) has no free slot.
          AND paused_at IS NULL
          FOR UPDATE),
     profiles AS (
       SELECT name, greatest(max_running - running, 0) AS free, workflow_ids, webapp_ids
         FROM task_profiles WHERE (SELECT free FROM account) > 0 ORDER BY name FOR UPDATE),
     due AS (
       SELECT c.id, c.priority, c.created_at, c.shot_index, c.task_group, c.last_turn, c.group_active,
              coalesce(c.own_profile, (SELECT p.name FROM profiles p
                                        WHERE c.workflow_id = ANY (p.workflow_ids) OR c.webapp_id = ANY (p.webapp_ids)
                                        ORDER BY p.name LIMIT 1)) AS profile
         FROM ((SELECT t.id, t.priority, t.created_at, t.shot_index, t.id AS task_group, NULL::bigint AS last_turn,
                       0 AS group_active, t.profile AS own_profile, t.workflow_id, t.webapp_id
                  FROM ai_tasks_lone_claim_candidates($1::int, (
                         SELECT jsonb_agg(jsonb_build_object('name', name, 'free', free, 'workflow_ids', to_jsonb(workflow_ids),
                                                             'webapp_ids', to_jsonb(webapp_ids)) ORDER BY name)
                           FROM profiles)) lone (id)
                  JOIN ai_tasks t ON t.id = lone.id)
               UNION ALL
               SELECT f.id, f.priority, f.created_at, f.shot_index, s.id, s.last_turn, s.active,
                      f.profile, f.workflow_id, f.webapp_id
                 FROM storyboards s
                 CROSS JOIN LATERAL (
                   SELECT t.id, t.priority, t.created_at, t.shot_index, t.profile, t.workflow_id, t.webapp_id
                     FROM ai_tasks t
                    WHERE t.status = 'PENDING' AND t.storyboard_id = s.id AND t.run_after <= now() AND t.cancel_requested_at IS NULL
                    ORDER BY t.priority DESC, t.created_at, t.shot_index, t.id
                    LIMIT $1::int) f
                WHERE s.pending > 0) c),
     ranked AS (
       SELECT due.*,
              group_active + row_number() OVER (PARTITION BY task_group, priority ORDER BY created_at, shot_index, id) AS turn_in_group
         FROM due),
     ordered AS (
       SELECT ranked.*,
              row_number() OVER (ORDER BY priority DESC, turn_in_group, last_turn NULLS FIRST, created_at, shot_index, id) AS turn,
              row_number() OVER (PARTITION BY profile
                                 ORDER BY priority DESC, turn_in_group, last_turn NULLS FIRST, created_at, shot_index, id) AS nth_of_profile
         FROM ranked),
     picked AS (
       SELECT t.id, o.turn, p.name AS profile FROM ordered o
         JOIN ai_tasks t ON t.id = o.id
         LEFT JOIN profiles p ON p.name = o.profile
        WHERE (p.name IS NULL OR o.nth_of_profile <= p.free)
          AND t.status = 'PENDING' AND t.run_after <= now() AND t.cancel_requested_at IS NULL
        ORDER BY o.turn
        LIMIT least($1::int, coalesce((SELECT free FROM account), 0))
        FOR UPDATE OF t SKIP LOCKED),
     claimed AS (
       UPDATE ai_tasks t
          SET status = 'ACTIVE', attempts = t.attempts + 1, claimed_by = $2, claim_token = gen_random_uuid(),
              claim_expires_at = now() + make_interval(secs => $3::double precision / 1000),
              slot_account = $4, slot_profile = picked.profile, runninghub_task_id = NULL, submitted_at = NULL,
              next_check_at = NULL, outputs = NULL, runninghub_outputs = NULL, error_code = NULL, error_message = NULL
         FROM picked WHERE t.id = picked.id
       RETURNING t.id, t.claim_token, t.entity_type, t.entity_id, t.entity_name, t.workflow_id, t.webapp_id,
                 t.node_info_list, t.priority, t.created_at, t.attempts, t.max_attempts, t.slot_profile, t.instance_type, picked.turn),
     taken AS (
       UPDATE runninghub_accounts a SET running = a.running + c.n, updated_at = now()
         FROM (SELECT count(*)::int AS n FROM claimed) c
        WHERE a.fingerprint = $4 AND c.n > 0),
     profile_taken AS (
       UPDATE task_profiles p SET running = p.running + c.n, updated_at = now()
         FROM (SELECT slot_profile, count(*)::int AS n FROM claimed WHERE slot_profile IS NOT NULL GROUP BY slot_profile) c
        WHERE p.name = c.slot_profile)
     SELECT * FROM claimed`,
    [request.limit, request.processorId, request.leaseMs, request.account],
    // Prepared: parsing and planning this statement took most of a claim (measured 3.4–5.1 ms unprepared,
    // 1.3–1.5 ms prepared, 300 due tasks, under load), and a claim is the one query between a freed slot
    // and the next create. The plan chooses nothing the limits depend on (they are in the locks and checks).
    CLAIM_STATEMENT,
  );
  // RETURNING does not keep the CTE's ORDER BY: restore it for callers.
  return rows
    .sort((a, b) => Number(a.turn) - Number(b.turn))
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
        profile: r.slot_profile,
        instanceType: r.instance_type,
      };
    });
}

// --- finished (results.ts applies RunningHub's results through here) ----------------------------

export interface FinishedTask {
  id: string;
  entityName: string;
  runninghubTaskId: string | null;
  status: EndStatus;
}

/** Which task a write is for: a submitted one (by RunningHub id), or our own claim (by its token). */
export type TaskRef = { runninghubTaskId: string } | { taskId: string; claimToken: string };

export function refCondition(ref: TaskRef, firstParam: number): { sql: string; params: string[] } {
  if ('runninghubTaskId' in ref) {
    return { sql: `runninghub_task_id = $${firstParam}`, params: [ref.runninghubTaskId] };
  }
  return {
    sql: `id = $${firstParam} AND claim_token = $${firstParam + 1}`,
    params: [ref.taskId, ref.claimToken],
  };
}

/**
 * finishTask's writes as CTEs (old, moved, freed), parameters numbered from $firstParam: `moved` returns
 * the ended task's id, entity_name and runninghub_task_id. `andWhere` narrows which task (the webhook's
 * statement adds its lock there, results.ts). The same text ends a task alone and inside a larger statement.
 */
export function finishTaskCtes(ref: TaskRef, end: TaskEnd, firstParam: number, andWhere = ''): { sql: string; params: unknown[] } {
  assertEndOfActive(end.status);
  const $ = (n: number): string => `$${firstParam + n}`;
  const where = refCondition(ref, firstParam + 4);
  const outputs = end.status === 'SUCCESS' ? JSON.stringify(end.outputs) : null;
  const code = end.status === 'SUCCESS' ? null : (end.code ?? null);
  const message = end.status === 'SUCCESS' ? null : (end.message ?? null);
  return {
    sql: slotReleasingCtes(
      `${where.sql} ${andWhere}`,
      `status = ${$(0)}, outputs = ${$(1)}::jsonb, error_code = ${$(2)}, error_message = ${$(3)},
              finished_at = now(), slot_account = NULL, claim_expires_at = NULL, next_check_at = NULL`,
    ),
    params: [end.status, outputs, code, message, ...where.params],
  };
}

/** Gives the slot of each task in `moved` (its old slot_account) back to the account: every statement that ends a hold. */
const GIVE_SLOTS_BACK_CTE = `freed AS (
       UPDATE runninghub_accounts a SET running = a.running - 1, updated_at = now()
         FROM moved WHERE a.fingerprint = moved.slot_account)`;

/**
 * The CTEs of a result for a submitted task (finishTaskCtes, outputs.ts's keepingOutputsCtes): `old` locks
 * the ACTIVE task `where` names, unless RunningHub already said SUCCESS for it (a task keeping its outputs
 * ends only through outputs.ts); `moved` applies `set` and returns id, entity_name, runninghub_task_id and
 * the old slot_account; `freed` gives that slot back.
 */
export function slotReleasingCtes(where: string, set: string): string {
  return `old AS (
       SELECT id, slot_account FROM ai_tasks
        WHERE ${where} AND status = 'ACTIVE' AND runninghub_outputs IS NULL FOR UPDATE),
     moved AS (
       UPDATE ai_tasks t SET ${set}
         FROM old WHERE t.id = old.id
       RETURNING t.id, t.entity_name, t.runninghub_task_id, old.slot_account),
     ${GIVE_SLOTS_BACK_CTE}`;
}

/**
 * End an ACTIVE task (SUCCESS, FAILED or CANCELLED) and give its slot back, in one statement.
 * Returns null when the task is no longer ACTIVE (someone else finished it: nothing happens twice).
 */
export async function finishTask(
  db: Queryable,
  ref: TaskRef,
  end: TaskEnd,
): Promise<FinishedTask | null> {
  const ctes = finishTaskCtes(ref, end, 1);
  const rows = await changeStatus<{ id: string; entity_name: string; runninghub_task_id: string | null }>(
    db,
    `WITH ${ctes.sql}
     SELECT id, entity_name, runninghub_task_id FROM moved`,
    ctes.params,
    // A result frees a slot here: prepared, as the claim that follows (one text per kind of ref).
    `finish_task_by_${'runninghubTaskId' in ref ? 'runninghub_id' : 'claim'}`,
  );
  const row = rows[0];
  return row ? { id: row.id, entityName: row.entity_name, runninghubTaskId: row.runninghub_task_id, status: end.status } : null;
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
  const rows = await changeStatus<{
    id: string;
    entity_name: string;
    status: 'PENDING' | 'FAILED';
    attempts: number;
    max_attempts: number;
    run_after: Date;
  }>(
    db,
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
     ${GIVE_SLOTS_BACK_CTE}
     SELECT id, entity_name, status, attempts, max_attempts, run_after
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
  const rows = await changeStatus<{ id: string; entity_name: string; claimed_by: string | null; status: 'PENDING' | 'FAILED' }>(
    db,
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
     SELECT id, entity_name, claimed_by, status
       FROM moved`,
    [backoffMs],
  );
  return rows.map((r) => ({ id: r.id, entityName: r.entity_name, claimedBy: r.claimed_by, status: r.status }));
}

/**
 * Push the claim's lease on (`leaseMs` from now) while its processor is still at work before the create
 * (uploading reference images, one RunningHub timeout each): recoverExpiredClaims would otherwise take
 * back the claim of a live processor. False when the claim is no longer this one (recovered meanwhile).
 */
export async function extendClaimLease(db: Queryable, ref: { taskId: string; claimToken: string }, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ai_tasks SET claim_expires_at = now() + make_interval(secs => $3::double precision / 1000)
      WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_task_id IS NULL`,
    [ref.taskId, ref.claimToken, leaseMs],
  );
  return rowCount === 1;
}

// --- checked while it runs -----------------------------------------------------------------------

export interface TaskToCheck {
  id: string;
  entityName: string;
  runninghubTaskId: string;
  cancelRequested: boolean;
  timedOut: boolean;
  /** The timeout that applied (the task's profile's, or the processor's). */
  timeoutMs: number;
  /** Since its submission (submitted_at), as the check began. */
  runningForMs: number;
}

/**
 * Submitted ACTIVE tasks that need a look now: their check is due (no webhook came), a cancel was
 * requested, or they ran past `timeoutMs`. Each is pushed `recheckMs` into the future (or to its timeout, if sooner) in the same
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
    timeout_ms: number;
    running_for_ms: number;
  }>(
    // A task under a profile uses the profile's timeout and poll interval (migration 006) when it has them.
    `WITH due AS (
       SELECT id FROM ai_tasks
        WHERE status = 'ACTIVE' AND runninghub_task_id IS NOT NULL
          -- keepingOutputs: RunningHub is done with it; its next_check_at is the keeper's lease.
          AND runninghub_outputs IS NULL
          -- Cancels and timeouts too wait for their check: one that keeps failing at RunningHub is
          -- retried every recheckMs, not on every pass. cancelTask makes a fresh cancel due at once.
          AND (next_check_at IS NULL OR next_check_at <= now())
        ORDER BY (cancel_requested_at IS NULL), next_check_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED),
     limits AS (
       SELECT due.id, coalesce(p.poll_ms, $2::int) AS poll_ms, coalesce(p.timeout_ms, $3::int) AS timeout_ms, t.submitted_at
         FROM due JOIN ai_tasks t ON t.id = due.id LEFT JOIN task_profiles p ON p.name = t.slot_profile),
     timing AS (
       SELECT id, timeout_ms, now() + make_interval(secs => poll_ms::double precision / 1000) AS poll_at,
              submitted_at + make_interval(secs => timeout_ms::double precision / 1000) AS times_out_at
         FROM limits)
     -- The next check after the poll interval, or at the timeout if that comes first (a timeout shorter than
     -- the poll interval would otherwise be acted on one interval late).
     UPDATE ai_tasks t SET next_check_at = CASE WHEN timing.times_out_at > now() THEN least(timing.poll_at, timing.times_out_at)
                                                ELSE timing.poll_at END
       FROM timing WHERE t.id = timing.id
     RETURNING t.id, t.entity_name, t.runninghub_task_id, t.cancel_requested_at IS NOT NULL AS cancel_requested,
               timing.times_out_at < now() AS timed_out,
               timing.timeout_ms, (extract(epoch FROM now() - t.submitted_at) * 1000)::float8 AS running_for_ms`,
    [input.limit, input.recheckMs, input.timeoutMs],
  );
  return rows.map((r) => ({
    id: r.id,
    entityName: r.entity_name,
    runninghubTaskId: r.runninghub_task_id,
    cancelRequested: r.cancel_requested,
    timedOut: r.timed_out,
    timeoutMs: r.timeout_ms,
    runningForMs: r.running_for_ms,
  }));
}

/** PENDING tasks whose cancel was requested (the API normally cancels those itself) become CANCELLED. */
export async function cancelRequestedPendingTasks(db: Queryable): Promise<{ id: string; entityName: string }[]> {
  const rows = await changeStatus<{ id: string; entity_name: string }>(
    db,
    `UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now(), error_code = 'CANCELLED',
            error_message = 'cancelled before it was submitted'
      WHERE status = 'PENDING' AND cancel_requested_at IS NOT NULL
     RETURNING id, entity_name`,
    [],
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
