// The task processor: one loop that claims and does the housekeeping, submissions beside it, a
// heartbeat, and start/stop. Its state is one object (state.ts); the work is in submit.ts and
// housekeeping.ts; what a task goes through is written down in src/db/tasks/life.ts.
import os from 'node:os';
import { LIVE_CHANNELS, TASK_CHANNELS, ensureAccount, markProcessorStopped, msUntilNextDueTask, recordHeartbeat, syncProfiles } from '../db/index.js';
import { startBackgroundWork, type BackgroundWork } from './background.js';
import { housekeeping, noteEndRecordedElsewhere } from './housekeeping.js';
import { listenForNotifications } from './listener.js';
import { errorBackoffMs } from './policy.js';
import {
  createProcessorContext,
  errorText,
  kick,
  noteError,
  noteWorking,
  selfHealIfNeeded,
  wakeLoop,
  type LoopEnd,
  type ProcessorContext,
  type ProcessorCounters,
  type ProcessorDeps,
} from './state.js';
import { followsRunningHubLimit, startFollowingLimit } from './follow-limit.js';
import { keepDueOutputs } from './keep.js';
import { claimBesideLoop, claimSoon } from './submit.js';

export type { LoopEnd, ProcessorCounters, ProcessorDeps } from './state.js';

export interface TaskProcessor {
  /** Registers the account and starts the loop; resolves once the first cycle has been scheduled. */
  start(): Promise<void>;
  /** Stop claiming, let in-flight submissions finish recording, close everything. */
  stop(): Promise<void>;
  counters(): Readonly<ProcessorCounters>;
  /**
   * Resolves when the loop has ended: `stopped` after stop(), `crashed` if it threw. A crashed
   * processor must not look alive (its LISTEN socket and heartbeat would keep it so): the program
   * stops it and exits non-zero (main.ts).
   */
  readonly finished: Promise<LoopEnd>;
}

/**
 * The work loop. One pass at a time: on a notification (new PENDING task, freed slot, cancel
 * request) it claims at once; every poll interval it also does the housekeeping (lease recovery,
 * cancels, timeouts, outputs checks of tasks whose webhook has not come). Submissions run beside
 * the loop so that a slow create never delays claiming a slot freed meanwhile.
 */
export function createTaskProcessor(deps: ProcessorDeps): TaskProcessor {
  const ctx = createProcessorContext(deps);
  const { state, settings, log } = ctx;
  let background: BackgroundWork | undefined;
  let resolveFinished: (end: LoopEnd) => void = () => undefined;
  const finished = new Promise<LoopEnd>((resolve) => {
    resolveFinished = resolve;
  });

  return {
    finished,
    counters: () => ({ ...state.counters }),
    async start() {
      if (state.started) throw new Error('processor already started');
      state.started = true;
      state.listener = listenForNotifications({
        connectionString: deps.databaseUrl,
        channels: [TASK_CHANNELS.pending, TASK_CHANNELS.slotFreed, TASK_CHANNELS.cancel, LIVE_CHANNELS.callbacksDue],
        applicationName: `task-processor-listen ${settings.processorId}`.slice(0, 63),
        logger: log,
        onNotification: (channel, payload) => {
          ctx.timeline.mark('notified', { channel });
          if (channel === LIVE_CHANNELS.callbacksDue) background?.wakeCallbacks();
          else if (channel === TASK_CHANNELS.cancel) kick(ctx, true);
          else if (channel === TASK_CHANNELS.slotFreed) {
            // After the claim (the handover's hurry): the loop takes a task now keeping its outputs, and the
            // end of a task we submitted, if a statement not ours recorded it (the api's webhook route, another
            // processor's poll), goes into our log too. Only for ours not yet logged: no query otherwise.
            claimBesideLoop(ctx, () => {
              wakeLoop(ctx);
              if (state.submittedTasks.has(payload)) {
                noteEndRecordedElsewhere(ctx, payload).catch((error: unknown) => noteError(ctx, 'DATABASE', error));
              }
            });
          } else claimBesideLoop(ctx);
        },
        onConnected: () => {
          kick(ctx, true);
          background?.wakeCallbacks();
        },
      });
      await state.listener.ready;
      background = startBackgroundWork(ctx);
      scheduleHeartbeat(ctx);
      log.info(
        {
          event: 'processor.started',
          maxRunning: settings.maxRunning,
          webhook: settings.webhookUrl !== undefined,
          profiles: (settings.profiles ?? []).map((p) => `${p.name}:${p.maxRunning}`),
          accountLimitSource: settings.accountLimitSource ?? 'config',
        },
        'task processor started',
      );
      void loop(ctx).then(
        () => resolveFinished({ kind: 'stopped' }),
        (error: unknown) => {
          log.fatal({ event: 'processor.crashed', err: errorText(error) }, 'loop crashed');
          resolveFinished({ kind: 'crashed', error });
        },
      );
    },
    stop() {
      state.shutdown ??= shutDown(ctx, finished, () => background?.stop());
      return state.shutdown;
    },
  };
}

/**
 * Wait for a kick or `ms`, whichever comes first: resolves `timer` when the time ran out (the poll, or
 * a task put back with a backoff is due). The timer is the program's reason to live.
 */
function idle({ state }: ProcessorContext, ms: number, kickable: boolean): Promise<'timer' | 'woken'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done('timer'), Math.max(0, ms));
    function done(why: 'timer' | 'woken') {
      clearTimeout(timer);
      state.wake = undefined;
      resolve(why);
    }
    state.wakeOnKick = kickable;
    state.wake = () => done('woken');
    if (state.stopping) done('woken');
  });
}

async function loop(ctx: ProcessorContext): Promise<void> {
  const { state, settings, deps } = ctx;
  const { counters } = state;
  let nextHousekeepingAt = 0;
  let limitRead = false;
  let woke: 'timer' | 'woken' = 'timer';
  for (let pass = 0; !state.stopping; pass++) {
    // Test only (TASK_PROCESSOR_TEST_FAULT=crash-loop): a fault outside the pass's error handling,
    // as a bug would be, so that the test of main.ts sees a real crash of this loop.
    if (settings.testFault === 'crash-loop' && pass > 0) throw new Error('crash-loop test fault (TASK_PROCESSOR_TEST_FAULT)');
    let waitMs: number;
    let kickable = true;
    const errorsBefore = counters.consecutiveErrors;
    try {
      if (!state.accountReady) {
        // Before the first claim, so that not even the first batch exceeds what RunningHub allows.
        if (followsRunningHubLimit(ctx) && !limitRead) {
          await startFollowingLimit(ctx);
          limitRead = true;
        }
        await ensureAccount(state.pool, deps.account, state.accountLimit);
        await syncProfiles(
          state.pool,
          (settings.profiles ?? []).map((p) => ({
            name: p.name,
            maxRunning: p.maxRunning,
            workflowIds: p.workflowIds,
            webappIds: p.webappIds,
            timeoutMs: p.timeout,
            pollMs: p.pollInterval,
            backoffMs: p.backoff,
            maxAttempts: p.maxAttempts,
          })),
        );
        state.accountReady = true;
        await beat(ctx);
      }
      state.passWanted = false;
      const now = Date.now();
      let housekept = false;
      if (state.housekeepingWanted || now >= nextHousekeepingAt) {
        state.housekeepingWanted = false;
        nextHousekeepingAt = now + settings.pollIntervalMs;
        await housekeeping(ctx);
        housekept = true;
      }
      // A pass woken only to keep outputs (its slot was claimed beside the loop) claims nothing more.
      // While RunningHub fails, claims wait for the end of the error backoff (the timer wakes the loop then).
      const claimNow = state.claimWanted || woke === 'timer' || housekept;
      state.claimWanted = false;
      if (claimNow && Date.now() >= state.claimsPausedUntil) await claimSoon(ctx);
      await keepDueOutputs(ctx);
      if (counters.consecutiveErrors > errorsBefore) {
        // RunningHub trouble during an otherwise fine pass: no backoff, but it counts toward self-healing.
        await selfHealIfNeeded(ctx);
      } else {
        noteWorking(ctx, 'database');
      }
      // Sleep until the next poll, or sooner if a task put back with a backoff becomes due (or, while
      // claims wait for RunningHub, when they may start again).
      const dueIn = await msUntilNextDueTask(state.pool);
      const paused = state.claimsPausedUntil - Date.now();
      waitMs = Math.min(nextHousekeepingAt - Date.now(), paused > 0 ? paused : (dueIn ?? Infinity));
      if (state.claimWanted || state.passWanted) waitMs = 0;
    } catch (error) {
      noteError(ctx, 'DATABASE', error);
      await selfHealIfNeeded(ctx);
      waitMs = errorBackoffMs(counters.consecutiveErrors, settings.errorBackoffMs, settings.errorBackoffMaxMs);
      kickable = false;
      state.accountReady = false;
      state.housekeepingWanted = true;
    }
    ctx.timeline.mark('pass-end');
    if (!state.stopping) woke = await idle(ctx, waitMs, kickable);
    ctx.timeline.mark('woke');
  }
}

// --- heartbeat -----------------------------------------------------------------------------------

async function beat({ state, settings }: ProcessorContext): Promise<void> {
  const { counters } = state;
  // succeeded and failed are counted by the database (migration 003), whoever applied the result.
  await recordHeartbeat(state.pool, {
    processorId: settings.processorId,
    host: os.hostname(),
    pid: process.pid,
    startedAt: state.startedAt,
    submitted: counters.submitted,
    retried: counters.retried,
    orphaned: counters.orphaned,
    orphanCancelFailures: counters.orphanCancelFailures,
    consecutiveErrors: counters.consecutiveErrors,
    lastError: state.lastError,
  });
}

function scheduleHeartbeat(ctx: ProcessorContext): void {
  const { state, settings, log } = ctx;
  state.heartbeatTimer = setTimeout(() => {
    const running: Promise<void> = beat(ctx)
      .catch((error: unknown) => log.warn({ event: 'processor.heartbeat_failed', err: errorText(error) }, 'heartbeat failed'))
      .finally(() => {
        if (state.beating === running) state.beating = undefined;
        if (!state.stopping) scheduleHeartbeat(ctx);
      });
    state.beating = running;
  }, settings.heartbeatIntervalMs);
  state.heartbeatTimer.unref();
}

// --- shutdown ------------------------------------------------------------------------------------

async function shutDown(ctx: ProcessorContext, finished: Promise<LoopEnd>, stopBackground: () => Promise<void> | undefined): Promise<void> {
  const { state, settings, log } = ctx;
  state.stopping = true;
  state.recordingDeadline = Date.now() + settings.shutdownTimeoutMs - 2 * ctx.cancelReserveMs;
  log.info({ event: 'processor.stopping', inFlight: state.submissions.size }, 'stopping: no new claims');
  state.wake?.();
  state.stopSignal.abort();
  if (state.heartbeatTimer) clearTimeout(state.heartbeatTimer);
  if (state.started) await finished;
  // A claim beside the loop may still be launching submissions: wait for it before waiting for them.
  await state.claiming?.catch(() => undefined);
  await Promise.allSettled([...state.submissions, ...state.keepings.values(), stopBackground()]);
  await state.beating;
  await markProcessorStopped(state.pool, settings.processorId).catch(() => undefined);
  await state.listener?.close();
  await state.pool.end().catch(() => undefined);
  try {
    ctx.timeline.save();
  } catch (error) {
    log.warn({ event: 'processor.timeline_not_saved', err: errorText(error) }, 'could not write the timeline file');
  }
  log.info({ event: 'processor.stopped', ...state.counters }, 'task processor stopped');
}
