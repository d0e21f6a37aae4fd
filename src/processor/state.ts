// The processor's state, in one object: what the loop, the submissions and the housekeeping share.
// Each field says who sets it and who reads it; nothing else is mutable in the processor.
import type { Pool, TaskResult, ResultSource } from '../db/index.js';
import { recordProcessorError } from '../db/index.js';
import type { RunningHubClient, UploadedFile, UploadFile } from '../runninghub/index.js';
import type { Logger } from '../shared/logger.js';
import type { ProcessorSettings } from './config.js';
import type { NotificationListener } from './listener.js';
import { errorBackoffMs } from './policy.js';
import { createTimeline, type Timeline } from './timeline.js';

export interface ProcessorDeps {
  settings: ProcessorSettings;
  /** The account's identity (accountFingerprint of the API key). */
  account: string;
  /** Called at start and again by the self-healing after too many consecutive errors. */
  createPool(): Pool;
  createClient(): RunningHubClient;
  /** Upload a reference image to RunningHub (v1 or v2 form, src/runninghub/upload.ts). */
  uploadFile(file: UploadFile): Promise<UploadedFile>;
  /** Connection string for the dedicated LISTEN connection. */
  databaseUrl: string;
  logger: Logger;
  /**
   * Called after each retention batch with the ids of the tasks it removed (shots of removed storyboards
   * included), after the commit: the output store deletes their kept files here. A failure is logged.
   */
  onTasksPruned?: ((taskIds: string[]) => Promise<void>) | undefined;
}

export interface ProcessorCounters {
  submitted: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  retried: number;
  requeuedForCapacity: number;
  recovered: number;
  /** RunningHub tasks created whose id could not be recorded (claim lost, or shutdown): cancelled there. */
  orphaned: number;
  /** Cancels of orphaned RunningHub tasks that failed or timed out: each may still hold a RunningHub slot. */
  orphanCancelFailures: number;
  consecutiveErrors: number;
  selfHeals: number;
  /** Output files downloaded into the output store (keep.ts). */
  outputsKept: number;
  /** Reference images uploaded to RunningHub (not counting reuses). */
  imagesUploaded: number;
}

/** How the loop ended: stopped by stop(), or crashed (the program must then exit non-zero). */
export type LoopEnd = { kind: 'stopped' } | { kind: 'crashed'; error: unknown };

export interface ProcessorState {
  /** Replaced by the self-healing (selfHealIfNeeded). */
  pool: Pool;
  client: RunningHubClient;
  /** The LISTEN connection, opened by start(). */
  listener: NotificationListener | undefined;
  readonly startedAt: Date;
  readonly counters: ProcessorCounters;
  lastError: string | null;
  /**
   * The account's limit this processor writes to runninghub_accounts.max_running: RUNNINGHUB_MAX_RUNNING,
   * or (source `runninghub`) the last limit RunningHub reported, capped by it (follow-limit.ts).
   */
  accountLimit: number;
  /** The last queue/status read failed or was unusable: the next failures are logged at debug only. */
  accountLimitReadFailing: boolean;
  /** Set by start(); stop() waits for the loop only when it was started. */
  started: boolean;
  /** Set by stop(): no new claims, the loop ends, idle waits end at once. */
  stopping: boolean;
  /** Work is waiting: set by notifications and by our own releases, consumed by the loop. */
  claimWanted: boolean;
  /** A pass is wanted for the loop's other work (outputs to keep), not a claim: set by wakeLoop. */
  passWanted: boolean;
  /** Set by the loop once the account row exists (and again after an error): claims may run beside it. */
  accountReady: boolean;
  /** The claim under way (submit.ts claimSoon): one at a time per processor, the loop's or a notification's. */
  claiming: Promise<void> | undefined;
  /** Another claim was asked for while one was under way: it runs right after. */
  claimAgain: boolean;
  housekeepingWanted: boolean;
  /** Ends the loop's current idle wait early (set while it waits). */
  wake: (() => void) | undefined;
  /** False during an error backoff: notifications must not cut it short (stop() still does). */
  wakeOnKick: boolean;
  /** consecutiveErrors when the pool and client were last re-created. */
  errorsAtLastHeal: number;
  /**
   * What the last error came from (noteError): a pass of the loop without errors shows the database
   * works again, but not RunningHub, which only a call that succeeds shows (noteWorking).
   */
  troubleWith: 'database' | 'runninghub' | 'other' | undefined;
  /** While RunningHub fails (network, timeout, 5xx), no claim before this time (ms): the error backoff. */
  claimsPausedUntil: number;
  heartbeatTimer: NodeJS.Timeout | undefined;
  /** The beat under way, if any: shutdown waits for it, so that it cannot land after markProcessorStopped. */
  beating: Promise<void> | undefined;
  /** Submissions running beside the loop (a slow create never delays claiming). */
  readonly submissions: Set<Promise<void>>;
  /** Tasks whose outputs are being kept beside the loop (keep.ts), by task id: a keeping lease of ours on any
   *  other task is stale (its attempt died, e.g. with the database) and is taken again at once. */
  readonly keepings: Map<string, Promise<void>>;
  /** The runs (task id and RunningHub id) whose end was noted lately (noteTaskEnded), oldest first: each is logged once. */
  readonly endsNoted: Set<string>;
  /**
   * Tasks this processor submitted whose end it has not logged yet, with their RunningHub ids: an end
   * recorded elsewhere (the api's webhook route, another processor's poll) is looked up for them, whoever
   * holds the row's claim by then (a keeper of another processor takes it to keep the outputs).
   */
  readonly submittedTasks: Map<string, string>;
  /** Reference images being uploaded to RunningHub, by SHA-256: concurrent submissions share one upload. */
  readonly uploadsInFlight: Map<string, Promise<string>>;
  /** Aborted by stop(): downloads under way end at once and their tasks are given back. */
  readonly stopSignal: AbortController;
  /** The shutdown under way (stop() called twice returns the same promise). */
  shutdown: Promise<void> | undefined;
  /** Set by stop(): until then a failed record of a RunningHub id is retried; what is left of the shutdown timeout goes to cancelling the orphan and closing down. */
  recordingDeadline: number | undefined;
}

/** The state and what every part of the processor needs with it. */
export interface ProcessorContext {
  deps: ProcessorDeps;
  settings: ProcessorSettings;
  log: Logger;
  state: ProcessorState;
  /** Time kept for cancelling an orphaned RunningHub task during shutdown. */
  cancelReserveMs: number;
  /** Slot-handover marks for the benchmark (TASK_PROCESSOR_TIMELINE_FILE); a no-op otherwise. */
  timeline: Timeline;
}

export function createProcessorContext(deps: ProcessorDeps): ProcessorContext {
  const { settings } = deps;
  return {
    deps,
    settings,
    log: deps.logger.child({ processorId: settings.processorId }),
    cancelReserveMs: Math.min(3_000, Math.floor(settings.shutdownTimeoutMs / 3)),
    timeline: createTimeline(settings.timelineFile),
    state: {
      pool: deps.createPool(),
      client: deps.createClient(),
      listener: undefined,
      startedAt: new Date(),
      accountLimit: settings.maxRunning,
      accountLimitReadFailing: false,
      counters: {
        submitted: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        retried: 0,
        requeuedForCapacity: 0,
        recovered: 0,
        orphaned: 0,
        orphanCancelFailures: 0,
        consecutiveErrors: 0,
        selfHeals: 0,
        outputsKept: 0,
        imagesUploaded: 0,
      },
      lastError: null,
      started: false,
      stopping: false,
      claimWanted: true,
      passWanted: false,
      accountReady: false,
      claiming: undefined,
      claimAgain: false,
      housekeepingWanted: true,
      wake: undefined,
      wakeOnKick: true,
      errorsAtLastHeal: 0,
      troubleWith: undefined,
      claimsPausedUntil: 0,
      heartbeatTimer: undefined,
      beating: undefined,
      submissions: new Set(),
      keepings: new Map(),
      uploadsInFlight: new Map(),
      endsNoted: new Set(),
      submittedTasks: new Map(),
      stopSignal: new AbortController(),
      shutdown: undefined,
      recordingDeadline: undefined,
    },
  };
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Ask the loop for a claim pass (and a housekeeping pass), now unless it is in an error backoff. */
export function kick({ state }: ProcessorContext, housekeeping = false): void {
  state.claimWanted = true;
  if (housekeeping) state.housekeepingWanted = true;
  if (state.wakeOnKick) state.wake?.();
}

/** Wake the loop for its other work (outputs to keep) without asking it for a claim. */
export function wakeLoop({ state }: ProcessorContext): void {
  state.passWanted = true;
  if (state.wakeOnKick) state.wake?.();
}

export function noteError({ state, settings, log }: ProcessorContext, code: string, error: unknown): void {
  state.counters.consecutiveErrors++;
  state.lastError = `${code}: ${errorText(error)}`;
  state.troubleWith = code.startsWith('RUNNINGHUB_') ? 'runninghub' : code === 'DATABASE' ? 'database' : 'other';
  // RunningHub unreachable or failing: claims wait (3 s, 6 s, 9 s … ≤ 30 s), as the loop does after a
  // database error, rather than spend the backlog's attempts against it at the retry backoff.
  const pauseMs = state.troubleWith === 'runninghub' ? errorBackoffMs(state.counters.consecutiveErrors, settings.errorBackoffMs, settings.errorBackoffMaxMs) : undefined;
  if (pauseMs !== undefined) state.claimsPausedUntil = Math.max(state.claimsPausedUntil, Date.now() + pauseMs);
  log.error(
    { event: 'processor.error', code, err: errorText(error), consecutiveErrors: state.counters.consecutiveErrors, ...(pauseMs === undefined ? {} : { claimsPausedMs: pauseMs }) },
    'processor error',
  );
  // Best effort: when the database is the problem this fails too, and that is fine.
  recordProcessorError(state.pool, code, errorText(error)).catch(() => undefined);
}

/**
 * `what` just worked (a pass of the loop: the database; a RunningHub call that answered): if the errors
 * counted came from it, they are over. RunningHub's are not ended by a pass that did not call it.
 */
export function noteWorking({ state, log }: ProcessorContext, what: 'database' | 'runninghub'): void {
  const { counters } = state;
  if (counters.consecutiveErrors === 0) return;
  if (what === 'database' ? state.troubleWith === 'runninghub' : state.troubleWith !== 'runninghub') return;
  log.info({ event: 'processor.recovered', after: counters.consecutiveErrors, what }, 'working again');
  counters.consecutiveErrors = 0;
  state.errorsAtLastHeal = 0;
  state.troubleWith = undefined;
  state.claimsPausedUntil = 0;
}

/** After maxConsecutiveErrors more errors: re-create the database pool and the RunningHub client. */
export async function selfHealIfNeeded({ state, settings, deps, log }: ProcessorContext): Promise<void> {
  if (state.counters.consecutiveErrors - state.errorsAtLastHeal < settings.maxConsecutiveErrors) return;
  state.errorsAtLastHeal = state.counters.consecutiveErrors;
  state.counters.selfHeals++;
  log.warn({ event: 'processor.self_heal', consecutiveErrors: state.counters.consecutiveErrors }, 're-creating the database pool and RunningHub client');
  const old = state.pool;
  state.pool = deps.createPool();
  state.client = deps.createClient();
  await old.end().catch(() => undefined);
}

/** An end this processor counts and logs (noteTaskEnded). */
export interface TaskEnd {
  taskId: string;
  result: TaskResult['kind'];
  runninghubTaskId: string | null;
  via: ResultSource;
  /** RunningHub's failure (its code and message), when known. */
  code?: string | null | undefined;
  err?: string | null | undefined;
}

/** How many runs a processor remembers (ended, or submitted and not yet ended): each is logged once. */
const RUNS_REMEMBERED = 10_000;

/** Adds `key` (the oldest goes past RUNS_REMEMBERED): ends that never reach us are forgotten in time. */
function remember<K, V>(collection: Map<K, V> | Set<K>, key: K, value?: V): void {
  if (collection instanceof Map) collection.set(key, value as V);
  else collection.add(key);
  if (collection.size > RUNS_REMEMBERED) collection.delete(collection.keys().next().value as K);
}

/** A task of ours is at RunningHub: its end, however it is recorded, goes into our log (noteTaskEnded). */
export function noteSubmitted({ state }: ProcessorContext, taskId: string, runninghubTaskId: string): void {
  remember(state.submittedTasks, taskId, runninghubTaskId);
}

/**
 * The processor's side of a result that ended a task (applied by us, or found applied: by the api's
 * webhook route, or early): count it, log it once, and claim the freed slot. Every result source goes
 * through here (`via` says which).
 */
export function noteTaskEnded(ctx: ProcessorContext, end: TaskEnd, taskLog: Logger): void {
  const { counters, endsNoted, submittedTasks } = ctx.state;
  submittedTasks.delete(end.taskId);
  // Per run: a retried task ends again under another RunningHub id.
  const key = `${end.taskId} ${end.runninghubTaskId ?? ''}`;
  if (endsNoted.has(key)) return;
  remember(endsNoted, key);
  const { runninghubTaskId, via } = end;
  switch (end.result) {
    case 'success':
      counters.succeeded++;
      taskLog.info({ event: 'task.succeeded', runninghubTaskId, via }, 'task succeeded');
      break;
    case 'failed':
      counters.failed++;
      taskLog.warn(
        { event: 'task.failed', runninghubTaskId, via, ...(end.code ? { code: end.code } : {}), ...(end.err ? { err: end.err } : {}) },
        'task failed at RunningHub',
      );
      break;
    case 'cancelled':
      counters.cancelled++;
      taskLog.info({ event: 'task.cancelled', runninghubTaskId, via }, 'task cancelled');
      break;
    case 'timed-out':
      counters.failed++;
      taskLog.warn({ event: 'task.timed_out' }, 'task timed out');
      break;
  }
  kick(ctx);
}

/** The result kind that leads to an end status found in the database (a webhook applied early or late). */
export function resultKindOf(status: 'SUCCESS' | 'FAILED' | 'CANCELLED'): TaskResult['kind'] {
  return status === 'SUCCESS' ? 'success' : status === 'FAILED' ? 'failed' : 'cancelled';
}
