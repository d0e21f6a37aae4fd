// An empty wallet pauses the account instead of failing task after task: a refused create goes back to
// PENDING (attempt not counted), a task that ran and failed for it keeps its end, claiming stops for the
// account (src/db/account-pause.ts), and housekeeping asks accountStatus with a growing interval until
// coins are back.
import { pauseAccount, requeueTask, resumeAccount, takeDueBalanceCheck, type ClaimedTask } from '../db/index.js';
import { isRunningHubError, type RunningHubError } from '../runninghub/index.js';
import type { Logger } from '../shared/logger.js';
import { kick, type ProcessorContext } from './state.js';

/** Pause claiming for the account (logged once, by the processor that paused it). */
async function pauseClaiming(ctx: ProcessorContext, code: string, reason: string): Promise<void> {
  const { state, settings, deps } = ctx;
  const paused = await pauseAccount(state.pool, deps.account, { code, reason, firstCheckInMs: settings.balanceCheckBackoffMs });
  if (paused) {
    ctx.log.warn(
      { event: 'account.paused', code, err: reason, checkInMs: settings.balanceCheckBackoffMs },
      'RunningHub wallet is empty: claiming paused for the account until coins are back',
    );
  }
}

/**
 * A task RunningHub ran FAILED for lack of coins (v2 says so in the failure, isBalanceFailure): the task keeps
 * its end (it ran; its error says why, and a retry runs it again), and the account pauses, so that the tasks
 * after it wait instead of failing the same way one after another.
 */
export async function pauseForBalanceFailure(ctx: ProcessorContext, code: string | null, message: string): Promise<void> {
  await pauseClaiming(ctx, code ?? 'FAILED', message);
}

/** RunningHub refused a create for lack of coins: pause the account (logged once), put the task back. */
export async function pauseForBalance(ctx: ProcessorContext, task: ClaimedTask, error: RunningHubError, taskLog: Logger): Promise<void> {
  const { state } = ctx;
  // Pause first: the requeue gives the slot back, and that wake-up must not claim for this account.
  await pauseClaiming(ctx, error.code, error.remoteMessage);
  const back = await requeueTask(state.pool, { taskId: task.id, claimToken: task.claimToken }, {
    code: error.code,
    message: error.remoteMessage,
    backoffMs: 0,
    countAttempt: false,
  });
  if (back) {
    state.counters.requeuedForCapacity++;
    taskLog.debug({ event: 'task.retrying', reason: 'balance', code: error.code }, 'no balance; back to PENDING');
  }
}

/** Housekeeping: if the account is paused and its check is due, ask accountStatus; resume when coins are back. */
export async function checkBalanceIfDue(ctx: ProcessorContext): Promise<void> {
  const { state, settings, deps } = ctx;
  const due = await takeDueBalanceCheck(state.pool, deps.account, { baseMs: settings.balanceCheckBackoffMs, maxMs: settings.balanceCheckBackoffMaxMs });
  if (!due) return;
  let coins: number | null;
  try {
    coins = (await state.client.getAccountStatus()).remainCoins;
  } catch (error) {
    // The next check comes after the backoff; a failed check is no reason to resume or to alarm.
    ctx.log.warn(
      { event: 'account.balance_check_failed', code: isRunningHubError(error) ? error.code : 'INTERNAL', err: String(error), checks: due.checks },
      'could not ask RunningHub for the balance',
    );
    return;
  }
  // remainCoins absent (an enterprise wallet in money): resume and let the next create tell.
  if (coins !== null && coins <= 0) {
    ctx.log.debug({ event: 'account.still_paused', remainCoins: coins, checks: due.checks }, 'wallet still empty');
    return;
  }
  if (await resumeAccount(state.pool, deps.account)) {
    ctx.log.info({ event: 'account.resumed', remainCoins: coins, checks: due.checks }, 'RunningHub wallet has coins again: claiming resumed');
    kick(ctx);
  }
}
