import os from 'node:os';
import {
  TASK_CHANNELS,
  applyStoredWebhookResults,
  cancelRequestedPendingTasks,
  claimPendingTasks,
  ensureAccount,
  finishTask,
  markProcessorStopped,
  msUntilNextDueTask,
  recordHeartbeat,
  recordPolledResult,
  recordProcessorError,
  recordSubmission,
  recoverExpiredClaims,
  requeueTask,
  takeTasksToCheck,
  type ClaimedTask,
  type Pool,
  type TaskToCheck,
} from '../db/index.js';
import { describeTaskFailure, isRunningHubError, type CreateTaskRequest, type RunningHubClient } from '../runninghub/index.js';
import type { Logger } from '../shared/logger.js';
import type { ProcessorSettings } from './config.js';
import { listenForNotifications, type NotificationListener } from './listener.js';
import { errorBackoffMs, retryBackoffMs, withJitter } from './policy.js';

export interface ProcessorDeps {
  settings: ProcessorSettings;
  /** The account's identity (accountFingerprint of the API key). */
  account: string;
  /** Called at start and again by the self-healing after too many consecutive errors. */
  createPool(): Pool;
  createClient(): RunningHubClient;
  /** Connection string for the dedicated LISTEN connection. */
  databaseUrl: string;
  logger: Logger;
}

export interface ProcessorCounters {
  submitted: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  retried: number;
  requeuedForCapacity: number;
  recovered: number;
  orphaned: number;
  consecutiveErrors: number;
  selfHeals: number;
}

export interface TaskProcessor {
  /** Registers the account and starts the loop; resolves once the first cycle has been scheduled. */
  start(): Promise<void>;
  /** Stop claiming, let in-flight submissions finish recording, close everything. */
  stop(): Promise<void>;
  counters(): Readonly<ProcessorCounters>;
  /** Resolves when the loop has ended (after stop(), or never). */
  readonly finished: Promise<void>;
}

class InvalidTaskError extends Error {
  override name = 'InvalidTaskError';
}

function createRequest(task: ClaimedTask, webhookUrl: string | undefined): CreateTaskRequest {
  if (task.nodeInfoProblem !== null) throw new InvalidTaskError(task.nodeInfoProblem);
  const common = { nodeInfoList: task.nodeInfoList, ...(webhookUrl ? { webhookUrl } : {}) };
  if (task.workflowId !== null) return { ...common, workflowId: task.workflowId };
  if (task.webappId !== null) return { ...common, webappId: task.webappId };
  throw new InvalidTaskError('the task has neither workflow_id nor webapp_id');
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The work loop. One pass at a time: on a notification (new PENDING task, freed slot, cancel
 * request) it claims at once; every poll interval it also does the housekeeping (lease recovery,
 * cancels, timeouts, outputs checks of tasks whose webhook has not come). Submissions run beside
 * the loop so that a slow create never delays claiming a slot freed meanwhile.
 */
export function createTaskProcessor(deps: ProcessorDeps): TaskProcessor {
  const { settings, logger } = deps;
  const log = logger.child({ processorId: settings.processorId });
  let pool = deps.createPool();
  let client = deps.createClient();
  let listener: NotificationListener | undefined;
  const startedAt = new Date();
  const counters: ProcessorCounters = {
    submitted: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    retried: 0,
    requeuedForCapacity: 0,
    recovered: 0,
    orphaned: 0,
    consecutiveErrors: 0,
    selfHeals: 0,
  };
  let lastError: string | null = null;
  let stopping = false;
  let started = false;
  /** Work is waiting: set by notifications and by our own releases, consumed by the loop. */
  let claimWanted = true;
  let housekeepingWanted = true;
  let wake: (() => void) | undefined;
  /** False during an error backoff: notifications must not cut it short (stop() still does). */
  let wakeOnKick = true;
  /** consecutiveErrors when the pool and client were last re-created. */
  let errorsAtLastHeal = 0;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  const submissions = new Set<Promise<void>>();
  let stopped: Promise<void> | undefined;
  /** Set by stop(): until then a failed record of a RunningHub id is retried; what is left of the shutdown timeout goes to cancelling the orphan and closing down. */
  let recordingDeadline: number | undefined;
  const cancelReserveMs = Math.min(3_000, Math.floor(settings.shutdownTimeoutMs / 3));
  let resolveFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });

  const kick = (housekeeping = false) => {
    claimWanted = true;
    if (housekeeping) housekeepingWanted = true;
    if (wakeOnKick) wake?.();
  };

  /** Wait for a kick or `ms`, whichever comes first. The timer is the program's reason to live. */
  const idle = (ms: number, kickable: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wakeOnKick = kickable;
      wake = done;
      if (stopping) done();
    });

  const noteError = (code: string, error: unknown) => {
    counters.consecutiveErrors++;
    lastError = `${code}: ${errorText(error)}`;
    log.error({ event: 'processor.error', code, err: errorText(error), consecutiveErrors: counters.consecutiveErrors }, 'processor error');
    // Best effort: when the database is the problem this fails too, and that is fine.
    recordProcessorError(pool, code, errorText(error)).catch(() => undefined);
  };

  const selfHealIfNeeded = async () => {
    if (counters.consecutiveErrors - errorsAtLastHeal < settings.maxConsecutiveErrors) return;
    errorsAtLastHeal = counters.consecutiveErrors;
    counters.selfHeals++;
    log.warn({ event: 'processor.self_heal', consecutiveErrors: counters.consecutiveErrors }, 're-creating the database pool and RunningHub client');
    const old = pool;
    pool = deps.createPool();
    client = deps.createClient();
    await old.end().catch(() => undefined);
  };

  // --- submitting -------------------------------------------------------------------------------

  const submit = async (task: ClaimedTask): Promise<void> => {
    const ref = { taskId: task.id, claimToken: task.claimToken };
    const taskLog = log.child({ taskId: task.id, entityName: task.entityName, attempt: task.attempts });
    let request: CreateTaskRequest;
    try {
      request = createRequest(task, settings.webhookUrl);
    } catch (error) {
      const done = await finishTask(pool, ref, { status: 'FAILED', code: 'INVALID_TASK', message: errorText(error) });
      if (done) counters.failed++;
      taskLog.error({ event: 'task.failed', code: 'INVALID_TASK', err: errorText(error) }, 'task cannot be submitted');
      return;
    }

    let runninghubTaskId: string;
    try {
      const created = await client.createTask(request);
      runninghubTaskId = created.taskId;
      if (created.nodeErrors.length > 0) {
        taskLog.warn({ event: 'task.node_errors', runninghubTaskId, nodeErrors: created.nodeErrors }, 'RunningHub reported node errors');
      }
    } catch (error) {
      await handleCreateFailure(task, error, taskLog);
      return;
    }

    // The create succeeded: until the id is committed, a kill here is the one way to a duplicate.
    // Keep trying (the database may be restarting): the claim_token check in recordSubmission makes a
    // late success safe, since a claim recovered meanwhile comes back as claim-lost and is cancelled.
    // Only a shutdown ends the retries, and then the RunningHub task is cancelled rather than left to
    // run twice once the lease expires and the task is resubmitted.
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await recordSubmission(pool, {
          taskId: task.id,
          claimToken: task.claimToken,
          runninghubTaskId,
          firstCheckInMs: settings.checkIntervalMs,
        });
        counters.consecutiveErrors = 0;
        if (recorded.state === 'claim-lost') {
          counters.orphaned++;
          taskLog.warn({ event: 'task.orphaned', runninghubTaskId }, 'claim was recovered before the id was stored; cancelling the RunningHub task');
          await client.cancelTask(runninghubTaskId).catch(() => undefined);
          return;
        }
        counters.submitted++;
        taskLog.info({ event: 'task.submitted', runninghubTaskId }, 'submitted to RunningHub');
        if (recorded.state === 'finished') noteFinished(recorded.status, taskLog, runninghubTaskId, 'webhook');
        return;
      } catch (error) {
        noteError('DATABASE', error);
        const left = recordingDeadline === undefined ? Infinity : recordingDeadline - Date.now();
        if (left <= 0) {
          counters.orphaned++;
          taskLog.error(
            { event: 'task.orphaned', runninghubTaskId },
            'could not store the RunningHub id before shutdown; cancelling the RunningHub task (the lease will expire and the task be resubmitted)',
          );
          await client.cancelTask(runninghubTaskId, { signal: AbortSignal.timeout(cancelReserveMs) }).catch((cancelError: unknown) => {
            taskLog.error({ event: 'task.orphan_cancel_failed', runninghubTaskId, err: errorText(cancelError) }, 'could not cancel the orphaned RunningHub task');
          });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 2_000, left)).unref());
      }
    }
  };

  const handleCreateFailure = async (task: ClaimedTask, error: unknown, taskLog: Logger): Promise<void> => {
    const ref = { taskId: task.id, claimToken: task.claimToken };
    if (isRunningHubError(error) && error.capacity) {
      const back = await requeueTask(pool, ref, {
        code: error.code,
        message: error.remoteMessage,
        backoffMs: withJitter(settings.capacityBackoffMs),
        countAttempt: false,
      });
      if (back) {
        counters.requeuedForCapacity++;
        taskLog.info({ event: 'task.retrying', reason: 'capacity', code: error.code, runAfter: back.runAfter }, 'RunningHub has no free slot; back to PENDING');
      }
      return;
    }
    if (isRunningHubError(error) && error.kind === 'permanent') {
      const done = await finishTask(pool, ref, { status: 'FAILED', code: error.code, message: error.remoteMessage });
      if (done) {
        counters.failed++;
        taskLog.warn({ event: 'task.failed', code: error.code, err: error.remoteMessage }, 'RunningHub refused the task');
      }
      return;
    }
    // Retryable (network, timeout, 5xx …) or unexpected: counts as an attempt.
    const code = isRunningHubError(error) ? error.code : 'INTERNAL';
    const message = isRunningHubError(error) ? error.remoteMessage : errorText(error);
    if (isRunningHubError(error) && (error.code === 'NETWORK' || error.code === 'TIMEOUT')) noteError(`RUNNINGHUB_${error.code}`, error);
    const back = await requeueTask(pool, ref, {
      code,
      message,
      backoffMs: withJitter(retryBackoffMs(task.attempts, settings.retryBackoffMs, settings.retryBackoffMaxMs)),
      countAttempt: true,
    });
    if (!back) return;
    if (back.status === 'FAILED') {
      counters.failed++;
      taskLog.warn({ event: 'task.failed', code, err: message, attempts: back.attempts }, 'no attempts left');
    } else {
      counters.retried++;
      taskLog.info({ event: 'task.retrying', reason: 'error', code, err: message, runAfter: back.runAfter }, 'retrying later');
    }
  };

  const noteFinished = (status: 'SUCCESS' | 'FAILED' | 'CANCELLED', taskLog: Logger, runninghubTaskId: string | null, via: string) => {
    if (status === 'SUCCESS') {
      counters.succeeded++;
      taskLog.info({ event: 'task.succeeded', runninghubTaskId, via }, 'task succeeded');
    } else if (status === 'FAILED') {
      counters.failed++;
      taskLog.warn({ event: 'task.failed', runninghubTaskId, via }, 'task failed at RunningHub');
    } else {
      counters.cancelled++;
      taskLog.info({ event: 'task.cancelled', runninghubTaskId, via }, 'task cancelled');
    }
    kick();
  };

  const launch = (task: ClaimedTask) => {
    const running: Promise<void> = submit(task)
      .catch((error: unknown) => noteError('SUBMIT', error))
      .finally(() => {
        submissions.delete(running);
        kick();
      });
    submissions.add(running);
  };

  const claimAndSubmit = async (): Promise<void> => {
    while (!stopping) {
      const claimed = await claimPendingTasks(pool, {
        account: deps.account,
        processorId: settings.processorId,
        limit: settings.maxPendingBatch,
        leaseMs: settings.claimLeaseMs,
      });
      for (const task of claimed) launch(task);
      if (claimed.length < settings.maxPendingBatch) return;
    }
  };

  // --- housekeeping ------------------------------------------------------------------------------

  const check = async (task: TaskToCheck): Promise<void> => {
    const taskLog = log.child({ taskId: task.id, entityName: task.entityName, runninghubTaskId: task.runninghubTaskId });
    const ref = { runninghubTaskId: task.runninghubTaskId };
    try {
      // Ask first, also for a cancel or a timeout: with the webhook lost, RunningHub may have finished
      // the task already, and its result (outputs, or its own failure) beats our CANCELLED/TIMEOUT.
      const outcome = await client.getOutputs(task.runninghubTaskId);
      if (outcome.status === 'SUCCESS') {
        const done = await recordPolledResult(pool, task.runninghubTaskId, { kind: 'success', outputs: outcome.outputs });
        if (done) noteFinished('SUCCESS', taskLog, task.runninghubTaskId, 'poll');
        return;
      }
      if (outcome.status === 'FAILED') {
        const done = await recordPolledResult(pool, task.runninghubTaskId, {
          kind: 'failed',
          code: outcome.error.code,
          message: describeTaskFailure(outcome.error),
        });
        if (done) noteFinished('FAILED', taskLog, task.runninghubTaskId, 'poll');
        return;
      }
      if (!task.cancelRequested && !task.timedOut) return;
      // Still QUEUED or RUNNING: cancel at RunningHub first, its slot must be free before ours is given back.
      await client.cancelTask(task.runninghubTaskId);
      const done = task.cancelRequested
        ? await finishTask(pool, ref, { status: 'CANCELLED', code: 'CANCELLED', message: 'cancelled on request' })
        : await finishTask(pool, ref, {
            status: 'FAILED',
            code: 'TIMEOUT',
            message: `still ${outcome.status} after ${Math.round(settings.taskTimeoutMs / 1000)} s; cancelled at RunningHub`,
          });
      if (done && task.cancelRequested) noteFinished('CANCELLED', taskLog, task.runninghubTaskId, 'cancel');
      if (done && !task.cancelRequested) {
        counters.failed++;
        taskLog.warn({ event: 'task.timed_out' }, 'task timed out');
        kick();
      }
    } catch (error) {
      if (isRunningHubError(error) && error.code === '807') {
        // RunningHub has no such task (lost on their side): submit it again, as an attempt.
        const back = await requeueTask(pool, ref, { code: error.code, message: error.remoteMessage, backoffMs: 0, countAttempt: true });
        if (back) {
          counters.retried++;
          taskLog.warn({ event: 'task.retrying', reason: 'lost', code: error.code, status: back.status }, 'RunningHub lost the task');
        }
        return;
      }
      if (isRunningHubError(error)) {
        // Tolerated: the next check (or the webhook) will tell.
        taskLog.warn({ event: 'task.check_failed', code: error.code, err: error.remoteMessage }, 'could not ask RunningHub about the task');
        if (error.kind === 'retryable') noteError(`RUNNINGHUB_${error.code}`, error);
        return;
      }
      throw error;
    }
  };

  const housekeeping = async (): Promise<void> => {
    const recovered = await recoverExpiredClaims(pool, 0);
    for (const task of recovered) {
      counters.recovered++;
      log.warn(
        { event: 'task.recovered', taskId: task.id, entityName: task.entityName, claimedBy: task.claimedBy, status: task.status },
        'claim lease expired; task released',
      );
    }
    for (const task of await cancelRequestedPendingTasks(pool)) {
      counters.cancelled++;
      log.info({ event: 'task.cancelled', taskId: task.id, entityName: task.entityName, via: 'pending' }, 'task cancelled');
    }
    for (const task of await applyStoredWebhookResults(pool, settings.maxActiveBatch)) {
      noteFinished(task.status, log.child({ taskId: task.id, entityName: task.entityName }), task.runninghubTaskId, 'webhook-late');
    }
    const due = await takeTasksToCheck(pool, {
      limit: settings.maxActiveBatch,
      recheckMs: settings.checkIntervalMs,
      timeoutMs: settings.taskTimeoutMs,
    });
    await Promise.all(due.map((task) => check(task)));
  };

  // --- loop ------------------------------------------------------------------------------------

  const beat = async () => {
    await recordHeartbeat(pool, {
      processorId: settings.processorId,
      host: os.hostname(),
      pid: process.pid,
      startedAt,
      submitted: counters.submitted,
      succeeded: counters.succeeded,
      failed: counters.failed,
      retried: counters.retried,
      consecutiveErrors: counters.consecutiveErrors,
      lastError,
    });
  };

  /** The beat under way, if any: shutDown waits for it, so that it cannot land after markProcessorStopped. */
  let beating: Promise<void> | undefined;
  const scheduleHeartbeat = () => {
    heartbeatTimer = setTimeout(() => {
      const running: Promise<void> = beat()
        .catch((error: unknown) => log.warn({ event: 'processor.heartbeat_failed', err: errorText(error) }, 'heartbeat failed'))
        .finally(() => {
          if (beating === running) beating = undefined;
          if (!stopping) scheduleHeartbeat();
        });
      beating = running;
    }, settings.heartbeatIntervalMs);
    heartbeatTimer.unref();
  };

  const loop = async () => {
    let nextHousekeepingAt = 0;
    let accountReady = false;
    while (!stopping) {
      let waitMs: number;
      let kickable = true;
      const errorsBefore = counters.consecutiveErrors;
      try {
        if (!accountReady) {
          await ensureAccount(pool, deps.account, settings.maxRunning);
          accountReady = true;
          await beat();
        }
        const now = Date.now();
        if (housekeepingWanted || now >= nextHousekeepingAt) {
          housekeepingWanted = false;
          nextHousekeepingAt = now + settings.pollIntervalMs;
          await housekeeping();
        }
        claimWanted = false;
        await claimAndSubmit();
        if (counters.consecutiveErrors > errorsBefore) {
          // RunningHub trouble during an otherwise fine pass: no backoff, but it counts toward self-healing.
          await selfHealIfNeeded();
        } else if (counters.consecutiveErrors > 0) {
          log.info({ event: 'processor.recovered', after: counters.consecutiveErrors }, 'working again');
          counters.consecutiveErrors = 0;
          errorsAtLastHeal = 0;
        }
        // Sleep until the next poll, or sooner if a task put back with a backoff becomes due.
        const dueIn = await msUntilNextDueTask(pool);
        waitMs = Math.min(nextHousekeepingAt - Date.now(), dueIn ?? Infinity);
        if (claimWanted) waitMs = 0;
      } catch (error) {
        noteError('DATABASE', error);
        await selfHealIfNeeded();
        waitMs = errorBackoffMs(counters.consecutiveErrors, settings.errorBackoffMs, settings.errorBackoffMaxMs);
        kickable = false;
        accountReady = false;
        housekeepingWanted = true;
      }
      if (!stopping) await idle(waitMs, kickable);
    }
  };

  return {
    finished,
    counters: () => ({ ...counters }),
    async start() {
      if (started) throw new Error('processor already started');
      started = true;
      listener = listenForNotifications({
        connectionString: deps.databaseUrl,
        channels: [TASK_CHANNELS.pending, TASK_CHANNELS.slotFreed, TASK_CHANNELS.cancel],
        applicationName: `task-processor-listen ${settings.processorId}`.slice(0, 63),
        logger: log,
        onNotification: (channel) => kick(channel === TASK_CHANNELS.cancel),
        onConnected: () => kick(true),
      });
      await listener.ready;
      scheduleHeartbeat();
      log.info({ event: 'processor.started', maxRunning: settings.maxRunning, webhook: settings.webhookUrl !== undefined }, 'task processor started');
      void loop()
        .catch((error: unknown) => log.fatal({ event: 'processor.crashed', err: errorText(error) }, 'loop crashed'))
        .finally(() => resolveFinished());
    },
    stop() {
      stopped ??= shutDown();
      return stopped;
    },
  };

  async function shutDown(): Promise<void> {
    stopping = true;
    recordingDeadline = Date.now() + settings.shutdownTimeoutMs - 2 * cancelReserveMs;
    log.info({ event: 'processor.stopping', inFlight: submissions.size }, 'stopping: no new claims');
    wake?.();
    if (heartbeatTimer) clearTimeout(heartbeatTimer);
    if (started) await finished;
    await Promise.allSettled([...submissions]);
    await beating;
    await markProcessorStopped(pool, settings.processorId).catch(() => undefined);
    await listener?.close();
    await pool.end().catch(() => undefined);
    log.info({ event: 'processor.stopped', ...counters }, 'task processor stopped');
  }
}
