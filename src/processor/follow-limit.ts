// RUNNINGHUB_ACCOUNT_LIMIT_SOURCE=runninghub: the account's limit follows v2 queue/status
// `concurrentLimit`, capped by RUNNINGHUB_MAX_RUNNING (account-limit.ts). Read before the first claim
// and then every RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL beside the loop (background.ts). The limit lives in
// runninghub_accounts.max_running, which every claim reads under the account row lock, so a lower limit
// holds for every processor at once; tasks already in flight finish, no new ones start above it.
import { ensureAccount, getAccountUsage } from '../db/index.js';
import { isRunningHubError } from '../runninghub/index.js';
import { accountLimitFromReport, isUsableReport } from './account-limit.js';
import { errorText, kick, type ProcessorContext } from './state.js';

export const DEFAULT_ACCOUNT_LIMIT_INTERVAL_MS = 60_000;

export function followsRunningHubLimit(ctx: ProcessorContext): boolean {
  return ctx.settings.accountLimitSource === 'runninghub';
}

/**
 * The read before the first claim. The limit known before it is the account row's (a previous run's
 * reading, capped by today's maximum), so that RunningHub failing at our start does not raise the
 * limit back to RUNNINGHUB_MAX_RUNNING.
 */
export async function startFollowingLimit(ctx: ProcessorContext): Promise<void> {
  const { state, settings, deps } = ctx;
  const stored = await getAccountUsage(state.pool, deps.account);
  if (stored) state.accountLimit = Math.min(stored.maxRunning, settings.maxRunning);
  await refreshAccountLimit(ctx);
}

/**
 * A warning for the first failed read after a good one, debug for the ones after it: RunningHub down for
 * an hour is one warning, not one a minute. Marks the reads as failing.
 */
function logFailure(ctx: ProcessorContext): (fields: Record<string, unknown>, message: string) => void {
  const { state, log } = ctx;
  const repeated = state.accountLimitReadFailing;
  state.accountLimitReadFailing = true;
  return (fields, message) => (repeated ? log.debug(fields, message) : log.warn(fields, message));
}

/**
 * Ask queue/status and write the limit it gives. A failed call or an unusable number keeps the last
 * known limit (a warning once until a good read, not an error of the loop: RunningHub answering this
 * endpoint badly is no reason to stop working). A database error is thrown, for the caller's error handling.
 */
export async function refreshAccountLimit(ctx: ProcessorContext): Promise<void> {
  const { state, settings, deps, log } = ctx;
  let reported: unknown;
  try {
    reported = (await state.client.getQueueStatus({ signal: state.stopSignal.signal })).concurrentLimit;
  } catch (error) {
    if (state.stopping) return;
    logFailure(ctx)(
      { event: 'account.limit_check_failed', code: isRunningHubError(error) ? error.code : 'INTERNAL', err: errorText(error), keeping: state.accountLimit },
      'could not read the account limit from RunningHub; keeping the last known one',
    );
    return;
  }
  if (!isUsableReport(reported)) {
    logFailure(ctx)(
      { event: 'account.limit_unusable', reported: JSON.stringify(reported) ?? 'undefined', keeping: state.accountLimit },
      'RunningHub reported an account limit that is not a whole number from 1; keeping the last known one',
    );
    return;
  }
  state.accountLimitReadFailing = false;
  const { limit, note } = accountLimitFromReport(reported, settings.maxRunning);
  const previous = state.accountLimit;
  if (limit === previous) return;
  await ensureAccount(state.pool, deps.account, limit);
  state.accountLimit = limit;
  log.info({ event: 'account.limit_changed', from: previous, to: limit, reported, note }, 'account limit follows RunningHub');
  // More slots: claim into them now rather than at the next poll.
  if (limit > previous) kick(ctx);
}
