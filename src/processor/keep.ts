// Keeping outputs: tasks RunningHub finished with SUCCESS wait in keepingOutputs (src/db/tasks/life.ts)
// until a processor has downloaded every output into the output store (OUTPUT_DIR). Downloads run
// beside the loop, stream to disk, and are retried with backoff; a task whose outputs cannot be kept
// after OUTPUT_KEEP_ATTEMPTS ends FAILED with OUTPUTS_NOT_KEPT, never SUCCESS with missing images.
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
import { commitFile, discardFile, DownloadError, downloadToTemporary, outputContentType, outputFilePath, removeTaskOutputs } from '../store/index.js';
import { retryBackoffMs } from './policy.js';
import { errorText, noteError, type ProcessorContext } from './state.js';

/** How long a keeper holds a task before another processor may take it over (pushed on per output). */
export const KEEP_LEASE_MS = 10 * 60_000;

/** The URL our copy is served at (GET /api/tasks/:id/outputs/:n, the api's route). */
export function keptOutputUrl(taskId: string, n: number): string {
  return `/api/tasks/${taskId}/outputs/${n}`;
}

/** Take due tasks in keepingOutputs, up to outputKeepConcurrency at once, and keep them beside the loop. */
export async function keepDueOutputs(ctx: ProcessorContext): Promise<void> {
  const { state, settings } = ctx;
  if (state.stopping) return;
  const free = settings.outputKeepConcurrency - state.keepings.size;
  const tasks = await takeOutputsToKeep(state.pool, {
    processorId: settings.processorId,
    limit: free,
    leaseMs: KEEP_LEASE_MS,
    keeping: [...state.keepings.keys()],
  });
  for (const task of tasks) {
    const running: Promise<void> = keepTask(ctx, task)
      .catch((error: unknown) => noteError(ctx, 'KEEP_OUTPUTS', error))
      .finally(() => state.keepings.delete(task.id));
    state.keepings.set(task.id, running);
  }
}

class OutputNotKept extends Error {
  override name = 'OutputNotKept';
}

async function keepTask(ctx: ProcessorContext, task: TaskToKeep): Promise<void> {
  const { state } = ctx;
  const taskLog = ctx.log.child({ taskId: task.id, entityName: task.entityName, runninghubTaskId: task.runninghubTaskId });
  const started = performance.now();
  const kept: KeptOutput[] = [];
  // Time spent in the successful downloads alone (stream, hash, write, rename): the benchmark's throughput.
  const downloading = { ms: 0 };
  try {
    if (task.outputsProblem !== null) throw new OutputNotKept(task.outputsProblem);
    for (const [n, output] of task.outputs.entries()) {
      if (n > 0 && !(await extendKeepingLease(state.pool, task, KEEP_LEASE_MS))) {
        taskLog.warn({ event: 'outputs.lease_lost' }, 'another processor took over keeping these outputs');
        return;
      }
      kept.push(await keepOutput(ctx, task, n, output, taskLog, downloading));
    }
  } catch (error) {
    if (state.stopping && !(error instanceof OutputNotKept)) {
      // Shutting down: give the task back at once (lease 0) so that the next processor keeps it.
      await extendKeepingLease(state.pool, task, 0).catch(() => undefined);
      return;
    }
    const message = errorText(error);
    if (await failKeepingOutputs(state.pool, task, message)) {
      // The outputs kept before the one that failed belong to no task that reads SUCCESS: removed, not orphaned.
      await removeTaskOutputs(ctx.settings.outputDir, [task.id]).catch((error: unknown) =>
        taskLog.warn({ event: 'outputs.remove_failed', err: errorText(error) }, 'could not remove the outputs of a task that failed'),
      );
      state.counters.failed++;
      taskLog.error({ event: 'task.failed', code: OUTPUTS_NOT_KEPT, err: message }, 'outputs could not be kept');
    }
    return;
  }
  if (await finishKeepingOutputs(state.pool, task, kept)) {
    state.counters.outputsKept += kept.length;
    taskLog.info(
      { event: 'outputs.kept', count: kept.length, bytes: kept.reduce((sum, k) => sum + k.size, 0), ms: Math.round((performance.now() - started) * 10) / 10, downloadMs: Math.round(downloading.ms * 10) / 10 },
      'outputs kept',
    );
  } else {
    taskLog.warn({ event: 'outputs.lease_lost' }, 'another processor took over keeping these outputs');
  }
}

/** One output, with OUTPUT_KEEP_ATTEMPTS tries; throws OutputNotKept when they are used up. */
async function keepOutput(ctx: ProcessorContext, task: TaskToKeep, n: number, output: TaskOutput, taskLog: Logger, downloading: { ms: number }): Promise<KeptOutput> {
  const { settings, state } = ctx;
  const finalPath = outputFilePath(settings.outputDir, task.id, n);
  for (let attempt = 1; ; attempt++) {
    try {
      const attemptStarted = performance.now();
      const file = await downloadToTemporary(output.fileUrl, {
        dir: path.dirname(finalPath),
        idleTimeoutMs: settings.outputDownloadIdleTimeoutMs,
        allowHttp: true,
        signal: state.stopSignal.signal,
      });
      try {
        await commitFile(file.temporaryPath, finalPath);
      } catch (error) {
        await discardFile(file.temporaryPath);
        throw error;
      }
      downloading.ms += performance.now() - attemptStarted;
      const kept: KeptOutput = {
        ...output,
        url: keptOutputUrl(task.id, n),
        size: file.size,
        contentType: outputContentType(file.head, file.headerContentType),
        sha256: file.sha256,
      };
      // Live progress (GET /api/events): a frame is on our disk before the task reads SUCCESS. Best effort:
      // the file is kept whatever happens to the announcement.
      await recordTaskEvent(state.pool, task.id, 'output_kept', { n, url: kept.url, size: kept.size, contentType: kept.contentType, sha256: kept.sha256 }).catch(
        (error: unknown) => taskLog.warn({ event: 'outputs.event_failed', n, err: errorText(error) }, 'could not announce the kept output'),
      );
      return kept;
    } catch (error) {
      if (state.stopping) throw error;
      const retryable = !(error instanceof DownloadError) || error.retryable;
      const reason = `output ${n} (${output.fileUrl}): ${errorText(error)}`;
      if (!retryable || attempt >= settings.outputKeepAttempts) {
        throw new OutputNotKept(`${reason}; ${attempt} attempt${attempt === 1 ? '' : 's'}`);
      }
      const backoffMs = retryBackoffMs(attempt, settings.outputKeepBackoffMs, settings.outputKeepBackoffMaxMs);
      taskLog.warn({ event: 'outputs.download_failed', n, attempt, retryInMs: backoffMs, err: errorText(error) }, 'output download failed; retrying');
      await sleep(backoffMs, state.stopSignal.signal);
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
