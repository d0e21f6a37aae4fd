// The life of one ai_task, written down once. Every statement in src/db/tasks and every decision of
// the processor that changes a task refers to the names below; ARCHITECTURE.md draws this table.
//
// Glossary
//   task          one row of ai_tasks: one image-generation request, from creation to its end.
//   status        the column everyone sees (PENDING, ACTIVE, SUCCESS, FAILED, CANCELLED).
//   phase         the finer state a status hides, read from the other columns (see TASK_PHASES):
//                 a PENDING task may be waiting for a retry, an ACTIVE one may be only claimed or
//                 already submitted, and either may carry a cancel request.
//   account       a RunningHub API key (stored as a hash) and its limit of tasks at once (3).
//   paused        an account whose wallet is empty (416, 812): no claims for it until accountStatus
//                 shows coins again (src/db/account-pause.ts).
//   slot          one of the account's places: runninghub_accounts.running counts the tasks whose
//                 slot_account is set. Taken only by a claim; given back by the statement that ends
//                 the task's hold (finish, requeue, lease recovery), in the same statement.
//   claim         a processor's hold on an ACTIVE task: claimed_by, claim_token (one per claim, so a
//                 stale claimer cannot write over a newer one) and a lease (claim_expires_at) that
//                 runs until the RunningHub id is stored.
//   submission    the RunningHub create; its task id is stored by recordSubmission.
//   result        what ends a submitted task (TaskResult): RunningHub's outcome, from a webhook or a
//                 poll, or our own decision to cancel it or to give up on it (timeout). Every result,
//                 whatever its source, is applied by one function (applyTaskResult, results.ts).
//   runninghub phase  RunningHub's own state of a submitted task (RUNNINGHUB_PHASES: QUEUED or RUNNING
//                 there), as the processor last saw it when polling; shown beside the status, cleared
//                 by every status change (migration 007).
//   event         one row of task_events (TASK_EVENT_KINDS), appended by migration 007's trigger in the
//                 transaction of the change and announced at commit on TASK_EVENTS_CHANNEL: what
//                 GET /api/events streams. An end with a callback_url also writes a task_callbacks row.
//   wake-up       a NOTIFY on one of TASK_CHANNELS, sent at commit by the one trigger function of
//                 migration 003 when a change means a processor has work (a task to claim, a slot
//                 to fill, a cancel to carry out).

export const TASK_STATUSES = ['PENDING', 'ACTIVE', 'SUCCESS', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const END_STATUSES = ['SUCCESS', 'FAILED', 'CANCELLED'] as const satisfies readonly TaskStatus[];
export type EndStatus = (typeof END_STATUSES)[number];

/** The sub-states, each with the status it shows and the columns that tell it apart. */
export const TASK_PHASES = {
  pending: { status: 'PENDING', columns: 'run_after <= now(), cancel_requested_at IS NULL' },
  retryWaiting: { status: 'PENDING', columns: 'run_after > now() (a backoff after a failed or refused attempt)' },
  cancelRequestedPending: { status: 'PENDING', columns: 'cancel_requested_at IS NOT NULL (normally cancelled at once by the API)' },
  claimed: { status: 'ACTIVE', columns: 'runninghub_task_id IS NULL, claim_token and claim_expires_at set, slot_account set' },
  submitted: { status: 'ACTIVE', columns: 'runninghub_task_id set, next_check_at = when to poll, slot_account set; runninghub_phase = QUEUED/RUNNING at RunningHub once polled' },
  cancelRequested: { status: 'ACTIVE', columns: 'cancel_requested_at IS NOT NULL (claimed or submitted): the processor cancels it at RunningHub' },
  keepingOutputs: {
    status: 'ACTIVE',
    columns: 'runninghub_outputs set (RunningHub said SUCCESS), slot_account NULL (given back), next_check_at = end of the keeping lease; a cancel request is ignored',
  },
  succeeded: { status: 'SUCCESS', columns: 'outputs set (our kept copies, each with its RunningHub URL), finished_at set' },
  failed: { status: 'FAILED', columns: 'error_code/error_message set, finished_at set' },
  cancelled: { status: 'CANCELLED', columns: 'finished_at set' },
} as const satisfies Record<string, { status: TaskStatus; columns: string }>;
export type TaskPhase = keyof typeof TASK_PHASES;

/** Who makes a transition happen. */
export type Actor = 'api' | 'processor' | 'webhook or poll' | 'any processor' | 'time';

/**
 * Every allowed transition and its cause. A status change not listed here is refused by the
 * database itself (migration 003's ai_tasks_guard_transition raises ILLEGAL_TRANSITION_SQLSTATE,
 * surfaced as IllegalTransitionError), whoever attempts it.
 */
export const TRANSITIONS = [
  { cause: 'create', from: null, to: 'pending', by: 'api', sql: 'createTask, createStoryboard' },
  { cause: 'claim', from: 'pending', to: 'claimed', by: 'processor', sql: 'claimPendingTasks' },
  { cause: 'cancel before claim', from: 'pending', to: 'cancelled', by: 'api', sql: 'cancelTask, cancelStoryboard' },
  { cause: 'cancel carried out', from: 'cancelRequestedPending', to: 'cancelled', by: 'processor', sql: 'cancelRequestedPendingTasks' },
  { cause: 'backoff over', from: 'retryWaiting', to: 'pending', by: 'time', sql: '(run_after passes)' },
  { cause: 'submitted', from: 'claimed', to: 'submitted', by: 'processor', sql: 'recordSubmission' },
  { cause: 'cancel requested', from: 'claimed', to: 'cancelRequested', by: 'api', sql: 'cancelTask, cancelStoryboard' },
  { cause: 'cancel requested', from: 'submitted', to: 'cancelRequested', by: 'api', sql: 'cancelTask, cancelStoryboard' },
  { cause: 'invalid task', from: 'claimed', to: 'failed', by: 'processor', sql: 'finishTask (INVALID_TASK)' },
  { cause: 'refused by RunningHub', from: 'claimed', to: 'failed', by: 'processor', sql: 'finishTask (permanent error)' },
  { cause: 'no capacity (421…)', from: 'claimed', to: 'retryWaiting', by: 'processor', sql: 'requeueTask (attempt not counted)' },
  { cause: 'no balance (416, 812), account paused', from: 'claimed', to: 'retryWaiting', by: 'processor', sql: 'pauseAccount, requeueTask (attempt not counted)' },
  { cause: 'create failed, attempts left', from: 'claimed', to: 'retryWaiting', by: 'processor', sql: 'requeueTask' },
  { cause: 'create failed, no attempts left', from: 'claimed', to: 'failed', by: 'processor', sql: 'requeueTask' },
  { cause: 'lease expired', from: 'claimed', to: 'retryWaiting', by: 'any processor', sql: 'recoverExpiredClaims (LEASE_EXPIRED)' },
  { cause: 'lease expired, no attempts left', from: 'claimed', to: 'failed', by: 'any processor', sql: 'recoverExpiredClaims' },
  { cause: 'result: success', from: 'submitted', to: 'keepingOutputs', by: 'webhook or poll', sql: 'applyTaskResult (startKeepingOutputs)' },
  { cause: 'result: failed', from: 'submitted', to: 'failed', by: 'webhook or poll', sql: 'applyTaskResult' },
  { cause: 'result: timed out (cancelled at RunningHub)', from: 'submitted', to: 'failed', by: 'processor', sql: 'applyTaskResult' },
  { cause: 'put back (create failed, lease expired) with a cancel requested', from: 'cancelRequested', to: 'cancelRequestedPending', by: 'processor', sql: 'requeueTask, recoverExpiredClaims' },
  { cause: 'result: cancelled at RunningHub', from: 'cancelRequested', to: 'cancelled', by: 'processor', sql: 'applyTaskResult' },
  { cause: 'result: success before the cancel', from: 'cancelRequested', to: 'keepingOutputs', by: 'webhook or poll', sql: 'applyTaskResult (startKeepingOutputs)' },
  { cause: 'outputs kept', from: 'keepingOutputs', to: 'succeeded', by: 'processor', sql: 'finishKeepingOutputs' },
  { cause: 'outputs not kept, attempts used up (OUTPUTS_NOT_KEPT)', from: 'keepingOutputs', to: 'failed', by: 'processor', sql: 'failKeepingOutputs' },
  { cause: 'result: failed before the cancel', from: 'cancelRequested', to: 'failed', by: 'webhook or poll', sql: 'applyTaskResult' },
  { cause: 'lost at RunningHub (807)', from: 'submitted', to: 'pending', by: 'processor', sql: 'requeueTask' },
  { cause: 'lost at RunningHub (807), no attempts left', from: 'submitted', to: 'failed', by: 'processor', sql: 'requeueTask' },
  { cause: 'retry', from: 'failed', to: 'pending', by: 'api', sql: 'retryTask, retryStoryboard' },
  { cause: 'retry', from: 'cancelled', to: 'pending', by: 'api', sql: 'retryTask, retryStoryboard' },
] as const satisfies readonly { cause: string; from: TaskPhase | null; to: TaskPhase; by: Actor; sql: string }[];
export type Transition = (typeof TRANSITIONS)[number];

/** The status changes the table allows, as "FROM>TO" (the same list as migration 003's guard). */
export const ALLOWED_STATUS_CHANGES: ReadonlySet<string> = new Set(
  TRANSITIONS.flatMap((t) => {
    if (t.from === null) return [];
    const from = TASK_PHASES[t.from].status;
    const to = TASK_PHASES[t.to].status;
    return from === to ? [] : [`${from}>${to}`];
  }),
);

/** The SQLSTATE migration 003's guard raises for a status change the table does not allow. */
export const ILLEGAL_TRANSITION_SQLSTATE = 'SB001';

/** A status change the life table does not allow (from code, or refused by the database). */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: TaskStatus,
    readonly to: TaskStatus,
    detail = '',
  ) {
    super(`a task cannot go from ${from} to ${to}${detail ? ` (${detail})` : ''}`);
  }
}

export function isAllowedStatusChange(from: TaskStatus, to: TaskStatus): boolean {
  return from === to || ALLOWED_STATUS_CHANGES.has(`${from}>${to}`);
}

export function assertStatusChange(from: TaskStatus, to: TaskStatus): void {
  if (!isAllowedStatusChange(from, to)) throw new IllegalTransitionError(from, to);
}

/** An ACTIVE task ends only in an end status (finishTask's check, before the statement runs). */
export function assertEndOfActive(to: TaskStatus): void {
  if (!(END_STATUSES as readonly TaskStatus[]).includes(to)) throw new IllegalTransitionError('ACTIVE', to, 'not an end');
  assertStatusChange('ACTIVE', to);
}

/** The guard's database error as an IllegalTransitionError; any other error unchanged. */
export function asIllegalTransition(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || !('code' in error) || error.code !== ILLEGAL_TRANSITION_SQLSTATE) return error;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  const match = /from (\w+) to (\w+)/.exec(message);
  const status = (s: string | undefined): TaskStatus => (TASK_STATUSES as readonly string[]).includes(s ?? '') ? (s as TaskStatus) : 'PENDING';
  return new IllegalTransitionError(status(match?.[1]), status(match?.[2]), 'refused by the database');
}

// --- results: what ends a submitted task ---------------------------------------------------------

/** A result RunningHub reported for a task (from the outputs poll or a webhook). */
export type RemoteResult =
  | { kind: 'success'; outputs: unknown[] }
  | { kind: 'failed'; code: string; message: string };

/** Every result that ends a submitted task: RunningHub's, or the processor's own decision. */
export type TaskResult =
  | RemoteResult
  /** The cancel requested through the API was carried out at RunningHub. */
  | { kind: 'cancelled' }
  /** Still running past TASK_TIMEOUT: cancelled at RunningHub and FAILED with TIMEOUT. */
  | { kind: 'timed-out'; message: string };

/** Where a result came from (logged as `via`). */
export type ResultSource = 'webhook' | 'webhook-late' | 'poll' | 'cancel' | 'timeout';

/** The end a result leads to, as the columns store it. */
export type TaskEnd =
  | { status: 'SUCCESS'; outputs: unknown[] }
  | { status: 'FAILED'; code: string; message: string }
  | { status: 'CANCELLED'; code?: string; message?: string };

/**
 * next_check_at of a task a cancel request reaches (cancelTask, cancelStoryboard): a submitted or claimed
 * task becomes due at once, for the processor to cancel it at RunningHub. A task keeping its outputs is
 * left alone: its next_check_at is the keeper's lease (a due one would be taken again and kept twice), and
 * the request is ignored (RunningHub said SUCCESS already).
 */
export const CANCEL_REQUEST_NEXT_CHECK_SQL =
  "CASE WHEN status = 'ACTIVE' AND cancel_requested_at IS NULL AND runninghub_outputs IS NULL THEN now() ELSE next_check_at END";

/** The error code of a task whose outputs RunningHub made but we could not download after every attempt. */
export const OUTPUTS_NOT_KEPT = 'OUTPUTS_NOT_KEPT';

export function endOf(result: TaskResult): TaskEnd {
  switch (result.kind) {
    case 'success':
      return { status: 'SUCCESS', outputs: result.outputs };
    case 'failed':
      return { status: 'FAILED', code: result.code, message: result.message };
    case 'cancelled':
      return { status: 'CANCELLED', code: 'CANCELLED', message: 'cancelled on request' };
    case 'timed-out':
      return { status: 'FAILED', code: 'TIMEOUT', message: result.message };
  }
}

// --- wake-ups ------------------------------------------------------------------------------------

/**
 * Channel names the processor LISTENs on. One trigger function (migration 003, ai_tasks_on_change) sends
 * all three, at commit, from the row change itself: no statement calls pg_notify.
 */
export const TASK_CHANNELS = {
  /** A task became PENDING (created, retried, put back). */
  pending: 'ai_tasks_pending',
  /** A cancel was requested on an ACTIVE task. */
  cancel: 'ai_tasks_cancel',
  /** A task gave its slot back (slot_account cleared): claim it now. */
  slotFreed: 'runninghub_slot_freed',
} as const;

// --- what clients follow: RunningHub's phase and the events (migration 007) ----------------------

/** RunningHub's own phase of a submitted task, stored in ai_tasks.runninghub_phase (the CHECK of migration 007). */
export const RUNNINGHUB_PHASES = ['QUEUED', 'RUNNING'] as const;
export type RunningHubPhase = (typeof RUNNINGHUB_PHASES)[number];

/**
 * The kinds of task_events rows, and the change each one records (migration 007's ai_tasks_record_event
 * writes them; its CHECK repeats this list). output_kept is written by the code that keeps an output.
 */
export const TASK_EVENT_KINDS = {
  created: 'INSERT (create)',
  claimed: 'PENDING -> ACTIVE (claim)',
  submitted: 'runninghub_task_id stored (submitted)',
  queued: 'runninghub_phase becomes QUEUED (seen by a poll)',
  running: 'runninghub_phase becomes RUNNING (seen by a poll)',
  cancel_requested: 'cancel requested on an ACTIVE task',
  succeeded: '-> SUCCESS',
  failed: '-> FAILED',
  retrying: '-> PENDING from ACTIVE (put back) or from FAILED/CANCELLED (retry)',
  cancelled: '-> CANCELLED',
  output_kept: 'an output file kept in our store (recordTaskEvent)',
} as const;
export type TaskEventKind = keyof typeof TASK_EVENT_KINDS;

/** The kinds that end a task: with a callback_url, each writes one task_callbacks row (the outbox). */
export const END_EVENT_KINDS = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly TaskEventKind[];

/** Channels of migration 007's trigger: every event (payload: the event as JSON), and a callback to deliver. */
export const LIVE_CHANNELS = {
  events: 'task_events',
  callbacksDue: 'task_callbacks_due',
} as const;
