// Claiming and submitting: claim due PENDING tasks, create each at RunningHub beside the loop, store
// the RunningHub id (recordSubmission), and decide what a failed create means for the task.
import { claimPendingTasks, extendClaimLease, finishTask, recordSubmission, requeueTask, type ClaimedTask } from '../db/index.js';
import { isRunningHubError, wasNeverSent, type CreateTaskRequest } from '../runninghub/index.js';
import type { Logger } from '../shared/logger.js';
import type { Profile } from '../shared/profiles.js';
import { pauseForBalance } from './balance.js';
import { retryBackoffMs, withJitter } from './policy.js';
import { resolveUploads, UnresolvableUploadError } from './uploads.js';
import { errorText, kick, noteError, noteSubmitted, noteTaskEnded, noteWorking, resultKindOf, type ProcessorContext } from './state.js';

/** How long the cancel of a RunningHub task whose claim was lost may take before we give up on it. */
export const ORPHAN_CANCEL_TIMEOUT_MS = 10_000;

class InvalidTaskError extends Error {
  override name = 'InvalidTaskError';
}

/** The configured profile the task was claimed under (its poll interval and backoff apply), if any. */
function profileOf(ctx: ProcessorContext, task: ClaimedTask): Profile | undefined {
  return task.profile === null ? undefined : ctx.settings.profiles?.find((p) => p.name === task.profile);
}

function createRequest(task: ClaimedTask, settings: ProcessorContext['settings']): CreateTaskRequest {
  if (task.nodeInfoProblem !== null) throw new InvalidTaskError(task.nodeInfoProblem);
  const { webhookUrl } = settings;
  // The task's own choice, else its workflow's (or app's) default from INSTANCE_TYPE_DEFAULTS.
  const instanceType = task.instanceType ?? settings.instanceTypeDefaults[task.workflowId ?? task.webappId ?? ''];
  const common = { nodeInfoList: task.nodeInfoList, ...(webhookUrl ? { webhookUrl } : {}), ...(instanceType ? { instanceType } : {}) };
  if (task.workflowId !== null) return { ...common, workflowId: task.workflowId };
  if (task.webappId !== null) return { ...common, webappId: task.webappId };
  throw new InvalidTaskError('the task has neither workflow_id nor webapp_id');
}

/**
 * Claim now, or once more right after the claim under way: claims of one processor never overlap (two
 * at once would only queue on the account row), and none asked for is dropped. The loop awaits it.
 */
export function claimSoon(ctx: ProcessorContext): Promise<void> {
  const { state } = ctx;
  if (state.claiming) {
    state.claimAgain = true;
    return state.claiming;
  }
  const run = async (): Promise<void> => {
    try {
      do {
        state.claimAgain = false;
        await claimAndSubmit(ctx);
      } while (state.claimAgain && !state.stopping);
    } finally {
      state.claiming = undefined;
    }
  };
  state.claiming = run();
  return state.claiming;
}

/**
 * A slot freed or a task came (a notification): claim at once, beside the loop, rather than after
 * whatever query the loop is in (under load each of those took 10–40 ms of the gap between a task's
 * end and the next create). Before the account is ready, or during an error backoff, the loop decides;
 * a failed claim here asks the loop for one, which meets the error again and backs off. `then` runs
 * once the claim is done (the loop's pass for outputs to keep: after the claim, so that the claim and
 * its create do not share the CPU with a download starting at the same moment).
 */
export function claimBesideLoop(ctx: ProcessorContext, then: () => void = () => undefined): void {
  const { state } = ctx;
  if (state.stopping) return;
  if (!state.accountReady || !state.wakeOnKick || Date.now() < state.claimsPausedUntil) {
    kick(ctx);
    return;
  }
  void claimSoon(ctx)
    .catch(() => kick(ctx))
    .finally(then);
}

/** Claim as many tasks as there are free slots (in batches of maxPendingBatch) and launch their submissions. */
async function claimAndSubmit(ctx: ProcessorContext): Promise<void> {
  const { state, settings, deps } = ctx;
  while (!state.stopping) {
    ctx.timeline.mark('claim-start');
    const claimed = await claimPendingTasks(state.pool, {
      account: deps.account,
      processorId: settings.processorId,
      limit: settings.maxPendingBatch,
      leaseMs: settings.claimLeaseMs,
    });
    ctx.timeline.mark('claim-end', { taskIds: claimed.map((t) => t.id) });
    for (const task of claimed) launch(ctx, task);
    if (claimed.length < settings.maxPendingBatch) return;
  }
}

function launch(ctx: ProcessorContext, task: ClaimedTask): void {
  const { submissions } = ctx.state;
  const running: Promise<void> = submit(ctx, task)
    .catch((error: unknown) => noteError(ctx, 'SUBMIT', error))
    .finally(() => {
      submissions.delete(running);
      kick(ctx);
    });
  submissions.add(running);
}

async function submit(ctx: ProcessorContext, task: ClaimedTask): Promise<void> {
  const { state, settings } = ctx;
  const ref = { taskId: task.id, claimToken: task.claimToken };
  const taskLog = ctx.log.child({ taskId: task.id, entityName: task.entityName, attempt: task.attempts });
  let request: CreateTaskRequest;
  try {
    request = createRequest(task, settings);
  } catch (error) {
    const done = await finishTask(state.pool, ref, { status: 'FAILED', code: 'INVALID_TASK', message: errorText(error) });
    if (done) state.counters.failed++;
    taskLog.error({ event: 'task.failed', code: 'INVALID_TASK', err: errorText(error) }, 'task cannot be submitted');
    return;
  }

  let runninghubTaskId: string;
  try {
    // Reference images go up just before the create; an upload failure is handled as a create failure.
    // Each upload, and the create after them, gets a whole claim lease: a live processor's claim is not
    // taken back (and the task created twice) because its images took long.
    let uploaded = false;
    const keepClaim = async () => {
      uploaded = true;
      if (!(await extendClaimLease(state.pool, ref, settings.claimLeaseMs))) throw new ClaimLostError();
    };
    if (request.nodeInfoList) request = { ...request, nodeInfoList: await resolveUploads(ctx, request.nodeInfoList, keepClaim) };
    if (uploaded) await keepClaim();
    ctx.timeline.mark('create-sent', { taskId: task.id });
    const created = await state.client.createTask(request);
    noteWorking(ctx, 'runninghub');
    runninghubTaskId = created.taskId;
    ctx.timeline.mark('create-answered', { taskId: task.id, runninghubTaskId });
    if (created.nodeErrors.length > 0) {
      taskLog.warn({ event: 'task.node_errors', runninghubTaskId, nodeErrors: created.nodeErrors }, 'RunningHub reported node errors');
    }
  } catch (error) {
    await handleCreateFailure(ctx, task, error, taskLog);
    return;
  }

  // The create succeeded: until the id is committed, a kill here leads to a duplicate (as does a create
  // whose reply was lost: RunningHub has no idempotency key, so its retry runs the task twice).
  // Keep trying (the database may be restarting): the claim_token check in recordSubmission makes a
  // late success safe, since a claim recovered meanwhile comes back as claim-lost and is cancelled.
  // Only a shutdown ends the retries, and then the RunningHub task is cancelled rather than left to
  // run twice once the lease expires and the task is resubmitted.
  // The first check at the poll interval, or at the timeout if that comes first.
  const profile = profileOf(ctx, task);
  const firstCheckInMs = Math.min(profile?.pollInterval ?? settings.checkIntervalMs, profile?.timeout ?? settings.taskTimeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      const recorded = await recordSubmission(state.pool, {
        taskId: task.id,
        claimToken: task.claimToken,
        runninghubTaskId,
        firstCheckInMs,
      });
      noteWorking(ctx, 'database');
      if (recorded.state === 'claim-lost') {
        state.counters.orphaned++;
        taskLog.warn({ event: 'task.orphaned', runninghubTaskId }, 'claim was recovered before the id was stored; cancelling the RunningHub task');
        await cancelOrphan(ctx, taskLog, runninghubTaskId, ORPHAN_CANCEL_TIMEOUT_MS, 'claim-lost');
        return;
      }
      state.counters.submitted++;
      noteSubmitted(ctx, task.id, runninghubTaskId);
      ctx.timeline.mark('recorded', { taskId: task.id });
      taskLog.info({ event: 'task.submitted', runninghubTaskId }, 'submitted to RunningHub');
      if (recorded.state === 'finished') noteTaskEnded(ctx, { taskId: task.id, result: resultKindOf(recorded.status), runninghubTaskId, via: 'webhook' }, taskLog);
      // A cancel asked during the create: its notification came while the task had no RunningHub id to
      // cancel, so the housekeeping pass that carries it out is asked for now, not at the next poll.
      else if (recorded.cancelRequested) kick(ctx, true);
      return;
    } catch (error) {
      noteError(ctx, 'DATABASE', error);
      const left = state.recordingDeadline === undefined ? Infinity : state.recordingDeadline - Date.now();
      if (left <= 0) {
        state.counters.orphaned++;
        taskLog.error(
          { event: 'task.orphaned', runninghubTaskId },
          'could not store the RunningHub id before shutdown; cancelling the RunningHub task (the lease will expire and the task be resubmitted)',
        );
        await cancelOrphan(ctx, taskLog, runninghubTaskId, ctx.cancelReserveMs, 'shutdown');
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 2_000, left)).unref());
    }
  }
}

/**
 * Cancel a RunningHub task nobody will follow, within `timeoutMs`. A failure is logged and counted
 * (orphanCancelFailures, in the heartbeat and /api/stats): a still-running orphan holds a RunningHub
 * slot that the database counter treats as free, so RunningHub may refuse the next creates (421).
 */
async function cancelOrphan(ctx: ProcessorContext, taskLog: Logger, runninghubTaskId: string, timeoutMs: number, reason: 'claim-lost' | 'shutdown'): Promise<void> {
  try {
    await ctx.state.client.cancelTask(runninghubTaskId, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cancelError) {
    ctx.state.counters.orphanCancelFailures++;
    taskLog.error(
      { event: 'task.orphan_cancel_failed', runninghubTaskId, reason, timeoutMs, err: errorText(cancelError) },
      'could not cancel the orphaned RunningHub task',
    );
  }
}

/** The claim was taken back before the create (its lease ran out): the task is another claim's now. */
class ClaimLostError extends Error {
  override name = 'ClaimLostError';
  constructor() {
    super('the claim was recovered before the create; the task is left to its new claim');
  }
}

async function handleCreateFailure(ctx: ProcessorContext, task: ClaimedTask, error: unknown, taskLog: Logger): Promise<void> {
  const { state, settings } = ctx;
  const ref = { taskId: task.id, claimToken: task.claimToken };
  if (error instanceof ClaimLostError) {
    taskLog.warn({ event: 'task.claim_lost', err: error.message }, 'claim lost before the create; nothing sent');
    return;
  }
  if (isRunningHubError(error) && error.balance) {
    await pauseForBalance(ctx, task, error, taskLog);
    return;
  }
  if (error instanceof UnresolvableUploadError) {
    const done = await finishTask(state.pool, ref, { status: 'FAILED', code: 'INVALID_TASK', message: error.message });
    if (done) state.counters.failed++;
    taskLog.error({ event: 'task.failed', code: 'INVALID_TASK', err: error.message }, 'task cannot be submitted');
    return;
  }
  if (isRunningHubError(error) && error.capacity) {
    const back = await requeueTask(state.pool, ref, {
      code: error.code,
      message: error.remoteMessage,
      backoffMs: withJitter(settings.capacityBackoffMs),
      countAttempt: false,
    });
    if (back) {
      state.counters.requeuedForCapacity++;
      taskLog.info({ event: 'task.retrying', reason: 'capacity', code: error.code, runAfter: back.runAfter }, 'RunningHub has no free slot; back to PENDING');
    }
    return;
  }
  if (isRunningHubError(error) && error.kind === 'permanent') {
    const done = await finishTask(state.pool, ref, { status: 'FAILED', code: error.code, message: error.remoteMessage });
    if (done) {
      state.counters.failed++;
      taskLog.warn({ event: 'task.failed', code: error.code, err: error.remoteMessage }, 'RunningHub refused the task');
    }
    return;
  }
  // Retryable (network, timeout, 5xx …) or unexpected: counts as an attempt, unless the request never
  // left (no connection to RunningHub: nothing can have been created). RunningHub's trouble pauses the
  // claims (noteError), so an outage costs the backlog no attempts and fails none of it.
  const code = isRunningHubError(error) ? error.code : 'INTERNAL';
  const message = isRunningHubError(error) ? error.remoteMessage : errorText(error);
  if (isRunningHubError(error) && error.kind === 'retryable') noteError(ctx, `RUNNINGHUB_${error.code}`, error);
  const neverSent = isRunningHubError(error) && wasNeverSent(error);
  const back = await requeueTask(state.pool, ref, {
    code,
    message,
    backoffMs: neverSent
      ? 0
      : withJitter(retryBackoffMs(task.attempts, profileOf(ctx, task)?.backoff ?? settings.retryBackoffMs, settings.retryBackoffMaxMs)),
    countAttempt: !neverSent,
  });
  if (!back) return;
  if (back.status === 'FAILED') {
    state.counters.failed++;
    taskLog.warn({ event: 'task.failed', code, err: message, attempts: back.attempts }, 'no attempts left');
  } else {
    state.counters.retried++;
    taskLog.info({ event: 'task.retrying', reason: neverSent ? 'unreachable' : 'error', code, err: message, runAfter: back.runAfter }, 'retrying later');
  }
}
