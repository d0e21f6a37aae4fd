// Keeping outputs: tasks RunningHub finished with SUCCESS wait in keepingOutputs (src/db/tasks/life.ts)
// until a processor has downloaded every output into the output store (OUTPUT_DIR). Downloads run
// beside the loop, stream to disk, and are retried with backoff; a task whose outputs cannot be kept
// after OUTPUT_KEEP_ATTEMPTS ends FAILED with OUTPUTS_NOT_KEPT, never SUCCESS with missing images.
// Up to OUTPUT_KEEP_CONCURRENCY downloads run at once, the outputs of one task side by side and those of
// several tasks; twice as many tasks are taken, so that one task's fsyncs and commits overlap another's
// download, and a finished keeping takes the next due task at once rather than at the loop's next pass.
import path from 'node:path';
import {
  extendKeepingLease,
  failKeepingOutputs,
  finishKeepingOutputs,
  OUTPUTS_NOT_KEPT,
  recordTaskEvent,
  takeOutputsToKeep,
  type KeptOutput,
  type TaskOutput,
  type TaskToKeep,
} from '../db/index.js';
import type { Logger } from '../shared/logger.js';
import {
  commitFile,
  createDir,
  discardFile,
  DownloadError,
  downloadToTemporary,
  outputContentType,
  outputFilePath,
  removeTaskOutputs,
  syncDir,
} from '../store/index.js';
import { retryBackoffMs } from './policy.js';
import { errorText, noteError, type ProcessorContext, type ProcessorState } from './state.js';

/** How long a keeper holds a task before another processor may take it over (pushed on as downloads start). */
export const KEEP_LEASE_MS = 10 * 60_000;
/** A download starting this long after the lease was last pushed pushes it again (one UPDATE, not one per output). */
const LEASE_REFRESH_AFTER_MS = KEEP_LEASE_MS / 10;

/** The URL our copy is served at (GET /api/tasks/:id/outputs/:n, the api's route). */
export function keptOutputUrl(taskId: string, n: number): string {
  return `/api/tasks/${taskId}/outputs/${n}`;
}

/** Bounded number of downloads under way: waiters go in order as downloads end. */
class DownloadSlots {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  /** Resolves with the release function once a slot is free (at once if one is), or rejects when `signal` aborts. */
  acquire(signal: AbortSignal): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.inUse--;
    };
    if (this.inUse < this.limit) {
      this.inUse++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        signal.removeEventListener('abort', aborted);
        resolve(release);
      };
      const aborted = () => {
        const at = this.waiting.indexOf(granted);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) {
        aborted();
        return;
      }
      signal.addEventListener('abort', aborted, { once: true });
      this.waiting.push(granted);
    });
  }
}

/** Keeping's own bookkeeping per processor state (the download slots, and one take of due tasks at a time). */
interface Keeper {
  slots: DownloadSlots;
  taking: Promise<void> | undefined;
  takeAgain: boolean;
}
const keepers = new WeakMap<ProcessorState, Keeper>();

function keeperOf({ state, settings }: ProcessorContext): Keeper {
  let keeper = keepers.get(state);
  if (!keeper) {
    keeper = { slots: new DownloadSlots(settings.outputKeepConcurrency), taking: undefined, takeAgain: false };
    keepers.set(state, keeper);
  }
  return keeper;
}

/**
 * Tasks kept at once per download slot: their waits on the disk and the database overlap the downloads.
 * (4 was tried, bench (6) under load 6-9: no faster; the per-task waits grew with the tasks in flight.)
 */
const TASKS_PER_DOWNLOAD_SLOT = 2;

/**
 * Take due tasks in keepingOutputs, up to 2 x outputKeepConcurrency at once, and keep them beside the loop.
 * One take runs at a time (the loop's and a finished keeping's could otherwise take more than the limit);
 * a call during a take makes it look once more.
 */
export function keepDueOutputs(ctx: ProcessorContext): Promise<void> {
  const keeper = keeperOf(ctx);
  if (keeper.taking) {
    keeper.takeAgain = true;
    return keeper.taking;
  }
  keeper.taking = (async () => {
    do {
      keeper.takeAgain = false;
      await takeDueTasks(ctx);
    } while (keeper.takeAgain && !ctx.state.stopping);
  })().finally(() => {
    keeper.taking = undefined;
  });
  return keeper.taking;
}

async function takeDueTasks(ctx: ProcessorContext): Promise<void> {
  const { state, settings } = ctx;
  if (state.stopping) return;
  const free = TASKS_PER_DOWNLOAD_SLOT * settings.outputKeepConcurrency - state.keepings.size;
  const tasks = await takeOutputsToKeep(state.pool, {
    processorId: settings.processorId,
    limit: free,
    leaseMs: KEEP_LEASE_MS,
    keeping: [...state.keepings.keys()],
  });
  for (const task of tasks) {
    ctx.timeline.mark('keep-taken', { taskId: task.id });
    const running: Promise<void> = keepTask(ctx, task)
      .catch((error: unknown) => noteError(ctx, 'KEEP_OUTPUTS', error))
      .finally(() => {
        state.keepings.delete(task.id);
        // The next due task now, not at the loop's next pass (a wake-up or the poll interval away).
        if (!state.stopping) keepDueOutputs(ctx).catch((error: unknown) => noteError(ctx, 'KEEP_OUTPUTS', error));
      });
    state.keepings.set(task.id, running);
  }
}

class OutputNotKept extends Error {
  override name = 'OutputNotKept';
}
class KeepingLeaseLost extends Error {
  override name = 'KeepingLeaseLost';
}

/** One task's keeping: its lease, and a signal that stops its other downloads when one of them has failed for good. */
interface Keeping {
  task: TaskToKeep;
  log: Logger;
  signal: AbortSignal;
  leasePushedAt: number;
  /** Epoch ms of the first request and of the last file durable on disk (the bench's wall clock). */
  firstRequestAt: number | undefined;
  lastOnDiskAt: number;
  /**
   * The task's folder, made by the first download (again by the next try if that failed); its fsync in
   * OUTPUT_DIR runs beside the downloads and is awaited with the folder's own fsync, before SUCCESS.
   */
  folder: Promise<{ durable: Promise<void> }> | undefined;
}

async function keepTask(ctx: ProcessorContext, task: TaskToKeep): Promise<void> {
  const { state, settings } = ctx;
  const taskLog = ctx.log.child({ taskId: task.id, entityName: task.entityName, runninghubTaskId: task.runninghubTaskId });
  const started = performance.now();
  const stopSiblings = new AbortController();
  const keeping: Keeping = {
    task,
    log: taskLog,
    signal: AbortSignal.any([state.stopSignal.signal, stopSiblings.signal]),
    leasePushedAt: Date.now(),
    firstRequestAt: undefined,
    lastOnDiskAt: 0,
    folder: undefined,
  };
  let kept: KeptOutput[];
  try {
    if (task.outputsProblem !== null) throw new OutputNotKept(task.outputsProblem);
    // Every output at once (bounded by the download slots); the first that fails for good stops the others,
    // and each of them removes its temporary file before this goes on.
    let firstFailure: { error: unknown } | undefined;
    const announcements: Promise<unknown>[] = [];
    const results = await Promise.all(
      task.outputs.map((output, n) =>
        keepOutput(ctx, keeping, n, output, announcements).catch((error: unknown) => {
          if (!firstFailure) {
            firstFailure = { error };
            stopSiblings.abort(error);
          }
          return undefined;
        }),
      ),
    );
    if (firstFailure) throw firstFailure.error;
    kept = results.filter((k): k is KeptOutput => k !== undefined);
    // Every file's data was fdatasync'ed before its rename; one fsync of the folder makes the names durable
    // (beside the outputs' live events, which need not wait for it).
    const folderDurable = keeping.folder ? (await keeping.folder).durable : undefined;
    await Promise.all([...(kept.length > 0 ? [syncDir(path.dirname(outputFilePath(settings.outputDir, task.id, 0)))] : []), folderDurable, ...announcements]);
    keeping.lastOnDiskAt = Date.now();
    ctx.timeline.mark('keep-dir-synced', { taskId: task.id });
  } catch (error) {
    if (error instanceof KeepingLeaseLost) {
      taskLog.warn({ event: 'outputs.lease_lost' }, 'another processor took over keeping these outputs');
      return;
    }
    if (state.stopping && !(error instanceof OutputNotKept)) {
      // Shutting down: give the task back at once (lease 0) so that the next processor keeps it.
      await extendKeepingLease(state.pool, task, 0).catch(() => undefined);
      return;
    }
    const message = errorText(error);
    if (await failKeepingOutputs(state.pool, task, message)) {
      state.counters.failed++;
      taskLog.error({ event: 'task.failed', code: OUTPUTS_NOT_KEPT, err: message }, 'outputs could not be kept');
      // The outputs kept before the failure are served by nobody (only SUCCESS tasks' are): none stays behind.
      await removeTaskOutputs(settings.outputDir, [task.id]).catch((removeError: unknown) => noteError(ctx, 'KEEP_OUTPUTS', removeError));
    }
    return;
  }
  // Every file is durable under its final name (fdatasync, rename, the folder's fsync) before the task reads SUCCESS here.
  if (await finishKeepingOutputs(state.pool, task, kept)) {
    ctx.timeline.mark('keep-committed', { taskId: task.id });
    state.counters.outputsKept += kept.length;
    taskLog.info(
      {
        event: 'outputs.kept',
        count: kept.length,
        bytes: kept.reduce((sum, k) => sum + k.size, 0),
        ms: Math.round((performance.now() - started) * 10) / 10,
        firstRequestAt: keeping.firstRequestAt,
        lastOnDiskAt: keeping.lastOnDiskAt,
      },
      'outputs kept',
    );
  } else {
    taskLog.warn({ event: 'outputs.lease_lost' }, 'another processor took over keeping these outputs');
  }
}

/** One output, with OUTPUT_KEEP_ATTEMPTS tries; throws OutputNotKept when they are used up. */
async function keepOutput(ctx: ProcessorContext, keeping: Keeping, n: number, output: TaskOutput, announcements: Promise<unknown>[]): Promise<KeptOutput> {
  const { settings, state } = ctx;
  const { task, log: taskLog, signal } = keeping;
  const finalPath = outputFilePath(settings.outputDir, task.id, n);
  for (let attempt = 1; ; attempt++) {
    try {
      const releaseSlot = await keeperOf(ctx).slots.acquire(signal);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        releaseSlot();
      };
      let file;
      try {
        // A task that waited for a slot, or downloads for long: its lease is pushed before the next download.
        if (Date.now() - keeping.leasePushedAt > LEASE_REFRESH_AFTER_MS) {
          keeping.leasePushedAt = Date.now();
          if (!(await extendKeepingLease(state.pool, task, KEEP_LEASE_MS))) throw new KeepingLeaseLost('another processor took over keeping these outputs');
        }
        keeping.folder ??= createDir(path.dirname(finalPath)).catch((error: unknown) => {
          keeping.folder = undefined;
          throw error;
        });
        // Not awaited before the request: the download creates the folder too when it is first (mkdir -p either
        // way, and whichever created it fsyncs its parent before its file counts); keepTask awaits it at the end.
        keeping.folder.catch(() => undefined);
        keeping.firstRequestAt ??= Date.now();
        ctx.timeline.mark('keep-request', { taskId: task.id, n });
        // The slot is for the transfer: it is given back at the body's last byte, and the file's last writes
        // and fdatasync (in downloadToTemporary) run while the next download already streams.
        file = await downloadToTemporary(output.fileUrl, {
          dir: path.dirname(finalPath),
          idleTimeoutMs: settings.outputDownloadIdleTimeoutMs,
          allowHttp: true,
          signal,
          onHeaders: () => ctx.timeline.mark('keep-headers', { taskId: task.id, n }),
          onLastByte: () => {
            ctx.timeline.mark('keep-last-byte', { taskId: task.id, n });
            release();
          },
        });
        ctx.timeline.mark('keep-datasynced', { taskId: task.id, n });
      } finally {
        release();
      }
      try {
        // Data on disk (fdatasync'ed above), then the rename; the folder's fsync follows once for all of the task's outputs.
        await commitFile(file.temporaryPath, finalPath, { syncDir: false });
        ctx.timeline.mark('keep-renamed', { taskId: task.id, n });
      } catch (error) {
        await discardFile(file.temporaryPath);
        throw error;
      }
      const kept: KeptOutput = {
        ...output,
        url: keptOutputUrl(task.id, n),
        size: file.size,
        contentType: outputContentType(file.head, file.headerContentType),
        sha256: file.sha256,
      };
      // Live progress (GET /api/events): a frame is on our disk before the task reads SUCCESS (keepTask waits
      // for the announcement before finishing). Best effort: the file is kept whatever happens to it.
      const announced = recordTaskEvent(state.pool, task.id, 'output_kept', { n, url: kept.url, size: kept.size, contentType: kept.contentType, sha256: kept.sha256 }).catch(
        (error: unknown) => taskLog.warn({ event: 'outputs.event_failed', n, err: errorText(error) }, 'could not announce the kept output'),
      );
      announcements.push(announced);
      return kept;
    } catch (error) {
      // Shutting down, another output of the task failed for good, or the lease is gone: no more tries.
      if (state.stopping || signal.aborted || error instanceof KeepingLeaseLost) throw error;
      const retryable = !(error instanceof DownloadError) || error.retryable;
      const reason = `output ${n} (${output.fileUrl}): ${errorText(error)}`;
      if (!retryable || attempt >= settings.outputKeepAttempts) {
        throw new OutputNotKept(`${reason}; ${attempt} attempt${attempt === 1 ? '' : 's'}`);
      }
      const backoffMs = retryBackoffMs(attempt, settings.outputKeepBackoffMs, settings.outputKeepBackoffMaxMs);
      taskLog.warn({ event: 'outputs.download_failed', n, attempt, retryInMs: backoffMs, err: errorText(error) }, 'output download failed; retrying');
      await sleep(backoffMs, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
