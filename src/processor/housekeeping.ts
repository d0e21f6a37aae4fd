// Housekeeping, every poll interval or on a cancel: lease recovery, cancels of PENDING tasks, late
// webhook results, and the checks of submitted tasks (outputs poll, cancel, timeout).
import {
  applyStoredWebhookResults,
  applyTaskResult,
  cancelRequestedPendingTasks,
  findTaskEnd,
  recordRunningHubPhase,
  recoverExpiredClaims,
  requeueTask,
  takeTasksToCheck,
  type TaskResult,
  type TaskToCheck,
} from '../db/index.js';
import { describeTaskFailure, isBalanceFailure, isRunningHubError } from '../runninghub/index.js';
import { checkBalanceIfDue, pauseForBalanceFailure } from './balance.js';
import { noteError, noteTaskEnded, noteWorking, resultKindOf, type ProcessorContext, type TaskEnd } from './state.js';

export async function housekeeping(ctx: ProcessorContext): Promise<void> {
  const { state, settings, log } = ctx;
  const recovered = await recoverExpiredClaims(state.pool, 0);
  for (const task of recovered) {
    state.counters.recovered++;
    log.warn(
      { event: 'task.recovered', taskId: task.id, entityName: task.entityName, claimedBy: task.claimedBy, status: task.status },
      'claim lease expired; task released',
    );
    if (task.status === 'FAILED') {
      // Its attempts were used up: the end of the task, said as every other failure is.
      state.counters.failed++;
      log.error(
        { event: 'task.failed', taskId: task.id, entityName: task.entityName, code: 'LEASE_EXPIRED', err: `claim lease expired with no attempt left (was ${task.claimedBy ?? '?'})` },
        'task failed',
      );
    }
  }
  for (const task of await cancelRequestedPendingTasks(state.pool)) {
    state.counters.cancelled++;
    log.info({ event: 'task.cancelled', taskId: task.id, entityName: task.entityName, via: 'pending' }, 'task cancelled');
  }
  for (const task of await applyStoredWebhookResults(state.pool, settings.maxActiveBatch)) {
    noteTaskEnded(ctx, { taskId: task.id, result: resultKindOf(task.status), runninghubTaskId: task.runninghubTaskId, via: 'webhook-late' }, log.child({ taskId: task.id, entityName: task.entityName }));
  }
  await checkBalanceIfDue(ctx);
  const due = await takeTasksToCheck(state.pool, {
    limit: settings.maxActiveBatch,
    recheckMs: settings.checkIntervalMs,
    timeoutMs: settings.taskTimeoutMs,
  });
  await Promise.all(due.map((task) => check(ctx, task)));
}

/**
 * Look at one submitted task: RunningHub's outcome first, then our cancel or timeout. Whatever the
 * result, it is applied through applyTaskResult (the one path) and noted through noteTaskEnded.
 */
async function check(ctx: ProcessorContext, task: TaskToCheck): Promise<void> {
  const { state } = ctx;
  const taskLog = ctx.log.child({ taskId: task.id, entityName: task.entityName, runninghubTaskId: task.runninghubTaskId });
  const ref = { runninghubTaskId: task.runninghubTaskId };
  try {
    // Ask first, also for a cancel or a timeout: with the webhook lost, RunningHub may have finished
    // the task already, and its result (outputs, or its own failure) beats our CANCELLED/TIMEOUT.
    const outcome = await askRunningHub(ctx, task, taskLog);
    if (outcome === 'done') return;
    let result: TaskResult;
    if (outcome.status === 'SUCCESS') {
      result = { kind: 'success', outputs: outcome.outputs };
    } else if (outcome.status === 'FAILED') {
      result = { kind: 'failed', code: outcome.error.code, message: describeTaskFailure(outcome.error) };
    } else if (task.cancelRequested || task.timedOut) {
      // Still QUEUED or RUNNING (or unknown): cancel at RunningHub first, its slot must be free before ours is given back.
      const refused = await cancelAtRunningHub(ctx, task.runninghubTaskId);
      const where = outcome.status === 'UNKNOWN' ? `its status unreadable (${outcome.why})` : `still ${outcome.status}`;
      const cancelled = refused === undefined ? 'cancelled at RunningHub' : `RunningHub refused the cancel (${refused})`;
      result = task.cancelRequested
        ? { kind: 'cancelled' }
        : { kind: 'timed-out', message: `${where} ${Math.round(task.runningForMs / 1000)} s after its submission (timeout ${Math.round(task.timeoutMs / 1000)} s); ${cancelled}` };
    } else {
      // Still at RunningHub: its own phase is shown beside our status (a change makes a queued/running event).
      if (outcome.status !== 'UNKNOWN') await recordRunningHubPhase(state.pool, task.runninghubTaskId, outcome.status);
      return;
    }
    const done = await applyTaskResult(state.pool, ref, result);
    const via = result.kind === 'cancelled' ? 'cancel' : result.kind === 'timed-out' ? 'timeout' : 'poll';
    if (done) {
      const failure = result.kind === 'failed' ? { code: result.code, err: result.message } : {};
      await noteEndOfRun(ctx, { taskId: task.id, result: result.kind, runninghubTaskId: task.runninghubTaskId, via, ...failure }, taskLog);
    }
  } catch (error) {
    if (isRunningHubError(error)) {
      // Tolerated (here the cancel at RunningHub failed): the next check (or the webhook) will tell.
      taskLog.warn({ event: 'task.cancel_failed', code: error.code, err: error.remoteMessage }, 'could not cancel the task at RunningHub');
      if (error.kind === 'retryable') noteError(ctx, `RUNNINGHUB_${error.code}`, error);
      return;
    }
    throw error;
  }
}

/**
 * Cancel at RunningHub. A retryable failure (network, 5xx) throws: the next check tries again, the slot kept
 * meanwhile. A refusal on the merits (no such task, 807 or the older 423; a code RunningHub will give again)
 * is returned, as `code: message`: retrying it for ever would hold our slot for ever.
 */
async function cancelAtRunningHub(ctx: ProcessorContext, runninghubTaskId: string): Promise<string | undefined> {
  try {
    await ctx.state.client.cancelTask(runninghubTaskId);
    return undefined;
  } catch (error) {
    if (isRunningHubError(error) && error.kind === 'permanent') return `${error.code}: ${error.remoteMessage}`;
    throw error;
  }
}

/** RunningHub has no such task: 807, or 423 (TASK_NOT_FOUNED) in the older variant of its documentation. */
const TASK_NOT_FOUND_CODES = new Set(['807', '423']);

type Outcome = Awaited<ReturnType<ProcessorContext['state']['client']['getOutputs']>>;

/**
 * RunningHub's outcome of the task; 'done' when the check ends here (RunningHub lost the task: it is
 * submitted again). A status RunningHub will not give (an error, a malformed reply) is UNKNOWN: tolerated
 * until our cancel or timeout is due, which then goes ahead without it, or a task whose status query keeps
 * failing would hold its slot for ever.
 */
async function askRunningHub(ctx: ProcessorContext, task: TaskToCheck, taskLog: ProcessorContext['log']): Promise<Outcome | { status: 'UNKNOWN'; why: string } | 'done'> {
  const { state } = ctx;
  try {
    const outcome = await state.client.getOutputs(task.runninghubTaskId);
    noteWorking(ctx, 'runninghub');
    return outcome;
  } catch (error) {
    if (!isRunningHubError(error)) throw error;
    if (TASK_NOT_FOUND_CODES.has(error.code)) {
      // RunningHub has no such task (lost on their side): submit it again, as an attempt.
      const back = await requeueTask(state.pool, { runninghubTaskId: task.runninghubTaskId }, { code: error.code, message: error.remoteMessage, backoffMs: 0, countAttempt: true });
      if (back) {
        state.counters.retried++;
        taskLog.warn({ event: 'task.retrying', reason: 'lost', code: error.code, status: back.status }, 'RunningHub lost the task');
      }
      return 'done';
    }
    taskLog.warn({ event: 'task.check_failed', code: error.code, err: error.remoteMessage }, 'could not ask RunningHub about the task');
    if (error.kind === 'retryable') noteError(ctx, `RUNNINGHUB_${error.code}`, error);
    return { status: 'UNKNOWN', why: `${error.code}: ${error.remoteMessage}` };
  }
}

/**
 * The slot of a task we submitted was freed by a statement that was not ours (the api's webhook route,
 * another processor's poll): log the task's end here too, once, as if we had recorded it, so that the
 * processor's log tells every end of its tasks (the operations guide watches it for 失败) whichever way
 * RunningHub's result came.
 */
export async function noteEndRecordedElsewhere(ctx: ProcessorContext, taskId: string): Promise<void> {
  const end = await findTaskEnd(ctx.state.pool, taskId);
  // Our run's end, not a later run's (the task put back and submitted again by another processor).
  if (!end || end.runninghubTaskId !== ctx.state.submittedTasks.get(taskId)) return;
  const result = resultKindOf(end.status);
  await noteEndOfRun(
    ctx,
    { taskId, result, runninghubTaskId: end.runninghubTaskId, via: 'webhook', ...(result === 'failed' ? { code: end.errorCode, err: end.errorMessage } : {}) },
    ctx.log.child({ taskId, entityName: end.entityName }),
  );
}

/** noteTaskEnded, and a failure for lack of coins pauses the account (the tasks after it would fail alike). */
async function noteEndOfRun(ctx: ProcessorContext, end: TaskEnd, taskLog: ProcessorContext['log']): Promise<void> {
  noteTaskEnded(ctx, end, taskLog);
  if (end.result === 'failed' && typeof end.err === 'string' && isBalanceFailure(end.err)) await pauseForBalanceFailure(ctx, end.code ?? null, end.err);
}
