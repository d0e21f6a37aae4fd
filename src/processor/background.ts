// Work beside the claim loop, so it never delays a claim: result callbacks (the outbox of migration 007,
// POSTed signed, retried with backoff), retention (finished rows pruned in small batches) and, with
// RUNNINGHUB_ACCOUNT_LIMIT_SOURCE=runninghub, the account limit's periodic read (follow-limit.ts).
import { claimDueCallbacks, msUntilNextCallback, pruneFinished, recordCallbackOutcome, type CallbackOutcome, type DueCallback } from '../db/index.js';
import type { CallbackSettings } from './config.js';
import { retryBackoffMs } from './policy.js';
import { DEFAULT_ACCOUNT_LIMIT_INTERVAL_MS, followsRunningHubLimit, refreshAccountLimit } from './follow-limit.js';
import { CALLBACK_HEADERS, signCallback } from './signature.js';
import { errorText, type ProcessorContext } from './state.js';

export const DEFAULT_CALLBACK_SETTINGS: CallbackSettings = {
  signingSecret: undefined,
  maxAttempts: 8,
  backoffMs: 5_000,
  backoffMaxMs: 600_000,
  timeoutMs: 10_000,
};

/** Callback POSTs under way at once, per processor. */
const CALLBACK_BATCH = 20;

export interface BackgroundWork {
  /** A delivery was written (task_callbacks_due): look now. */
  wakeCallbacks(): void;
  /** Stop, and wait for the POSTs and the prune under way. */
  stop(): Promise<void>;
}

export function startBackgroundWork(ctx: ProcessorContext): BackgroundWork {
  const callbacks = ctx.settings.callbacks ?? DEFAULT_CALLBACK_SETTINGS;
  const retention = ctx.settings.retention;
  let stopping = false;
  let wakeCallbacks: (() => void) | undefined;
  let callbackWanted = true;
  const sleeps = new Set<() => void>();

  const sleep = (ms: number, onWake?: (wake: () => void) => void) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleeps.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      timer.unref();
      sleeps.add(done);
      onWake?.(done);
      if (stopping) done();
    });

  // Up to CALLBACK_BATCH POSTs at once, each on its own: a delivery that ends makes room for the next due
  // one at once, so a receiver that hangs until CALLBACK_TIMEOUT delays nobody else's callbacks.
  const callbackLoop = async () => {
    if (callbacks.signingSecret === undefined) return;
    const posting = new Set<Promise<void>>();
    while (!stopping) {
      let waitMs = ctx.settings.pollIntervalMs;
      try {
        callbackWanted = false;
        const room = CALLBACK_BATCH - posting.size;
        // Full: a POST that ends wakes this loop.
        const due = room > 0 ? await claimDueCallbacks(ctx.state.pool, { limit: room, leaseMs: callbacks.timeoutMs + 5_000 }) : [];
        for (const delivery of due) {
          const post: Promise<void> = deliver(ctx, callbacks, delivery)
            .catch((error: unknown) => ctx.log.warn({ event: 'callback.pass_failed', err: errorText(error) }, 'callback pass failed'))
            .finally(() => {
              posting.delete(post);
              callbackWanted = true;
              wakeCallbacks?.();
            });
          posting.add(post);
        }
        if (room > 0) {
          const next = due.length === room ? 0 : await msUntilNextCallback(ctx.state.pool);
          if (next !== null) waitMs = Math.min(waitMs, next);
        }
      } catch (error) {
        ctx.log.warn({ event: 'callback.pass_failed', err: errorText(error) }, 'callback pass failed');
      }
      if (!callbackWanted && !stopping) await sleep(waitMs, (wake) => (wakeCallbacks = wake));
      wakeCallbacks = undefined;
    }
    // Stopping: the POSTs under way end (each within CALLBACK_TIMEOUT) and record their outcome.
    await Promise.all(posting);
  };

  const retentionLoop = async () => {
    if (!retention) return;
    while (!stopping) {
      let waitMs = retention.intervalMs;
      try {
        const pruned = await pruneFinished(ctx.state.pool, retention);
        if (pruned.taskIds.length > 0 || pruned.storyboardIds.length > 0) {
          ctx.log.info(
            { event: 'retention.pruned', tasks: pruned.taskIds.length, storyboards: pruned.storyboardIds.length, events: pruned.events, mode: retention.mode },
            'finished rows pruned',
          );
          // Kept output files are the output store's: it deletes those of these tasks (after our commit).
          await ctx.deps.onTasksPruned?.(pruned.taskIds).catch((error: unknown) =>
            ctx.log.warn({ event: 'retention.hook_failed', err: errorText(error) }, 'onTasksPruned failed'),
          );
        }
        // A full batch: more is waiting; go on after a short pause that lets the queue's statements in.
        if (pruned.taskIds.length >= retention.batchSize || pruned.events >= retention.batchSize) waitMs = 50;
      } catch (error) {
        ctx.log.warn({ event: 'retention.failed', err: errorText(error) }, 'retention batch failed');
      }
      await sleep(waitMs);
    }
  };

  // The read at start is the claim loop's (processor.ts); this one follows changes afterwards.
  const accountLimitLoop = async () => {
    if (!followsRunningHubLimit(ctx)) return;
    const intervalMs = ctx.settings.accountLimitIntervalMs ?? DEFAULT_ACCOUNT_LIMIT_INTERVAL_MS;
    await sleep(intervalMs);
    while (!stopping) {
      try {
        await refreshAccountLimit(ctx);
      } catch (error) {
        ctx.log.warn({ event: 'account.limit_update_failed', err: errorText(error), keeping: ctx.state.accountLimit }, 'could not store the account limit');
      }
      await sleep(intervalMs);
    }
  };

  const running = Promise.all([callbackLoop(), retentionLoop(), accountLimitLoop()]);
  return {
    wakeCallbacks() {
      callbackWanted = true;
      wakeCallbacks?.();
    },
    async stop() {
      stopping = true;
      [...sleeps].forEach((wake) => wake());
      await running;
    },
  };
}

/** One attempt: POST the stored payload, signed; record the outcome (delivered, retry later, or failed for good). */
async function deliver(ctx: ProcessorContext, settings: CallbackSettings, delivery: DueCallback): Promise<void> {
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const log = ctx.log.child({ deliveryId: delivery.id, taskId: delivery.taskId, storyboardId: delivery.storyboardId, attempt: delivery.attempt });
  let outcome: CallbackOutcome;
  const retryInMs = delivery.attempt >= settings.maxAttempts ? null : retryBackoffMs(delivery.attempt, settings.backoffMs, settings.backoffMaxMs);
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [CALLBACK_HEADERS.timestamp]: String(timestamp),
        [CALLBACK_HEADERS.signature]: signCallback(settings.signingSecret ?? '', timestamp, body),
        [CALLBACK_HEADERS.delivery]: delivery.id,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    outcome =
      response.status >= 200 && response.status < 300
        ? { kind: 'delivered', httpStatus: response.status }
        : { kind: 'refused', httpStatus: response.status, error: `HTTP ${response.status}`, retryInMs };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    outcome = { kind: 'refused', httpStatus: null, error: `${errorText(error)}${cause}`, retryInMs };
  }
  await recordCallbackOutcome(ctx.state.pool, delivery, outcome);
  if (outcome.kind === 'delivered') log.info({ event: 'callback.delivered', status: outcome.httpStatus }, 'callback delivered');
  else if (outcome.retryInMs === null) log.error({ event: 'callback.gave_up', status: outcome.httpStatus, err: outcome.error }, 'callback failed for good');
  else log.warn({ event: 'callback.retrying', status: outcome.httpStatus, err: outcome.error, retryInMs: outcome.retryInMs }, 'callback failed; will retry');
}
