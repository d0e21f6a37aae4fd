// An empty wallet pauses the account instead of failing task after task: the refused task goes back to
// PENDING (attempt not counted), claiming stops for the account (src/db/account-pause.ts), and
// housekeeping asks accountStatus with a growing interval until coins are back.
import { pauseAccount, requeueTask, resumeAccount, takeDueBalanceCheck, type ClaimedTask } from '../db/index.js';
import { isRunningHubError, type RunningHubError } from '../runninghub/index.js';
import type { Logger } from '../shared/logger.js';
import { kick, type ProcessorContext } from './state.js';

/** RunningHub refused a create for lack of coins: pause the account (logged once), put the task back. */
export async function pauseForBalance(ctx: ProcessorContext, task: ClaimedTask, error: RunningHubError, taskLog: Logger): Promise<void> {
  const { state, settings, deps } = ctx;
  // Pause first: the requeue gives the slot back, and that wake-up must not claim for this account.
  const paused = await pauseAccount(state.pool, deps.account, {
    code: error.code,
    reason: error.remoteMessage,
    firstCheckInMs: settings.balanceCheckBackoffMs,
  });
  if (paused) {
    ctx.log.warn(
      { event: 'account.paused', code: error.code, err: error.remoteMessage, checkInMs: settings.balanceCheckBackoffMs },
      'RunningHub wallet is empty: claiming paused for the account until coins are back',
    );
  }
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
