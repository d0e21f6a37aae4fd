// RunningHub's v2 API (`/openapi/v2/*`, Bearer auth, flat task objects) behind the same interface as
// v1, and `auto`, which speaks v2 and falls back to v1 for an operation v2 does not serve.
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import type { RunningHubClient } from './client.js';
import { RunningHubError } from './errors.js';
import { parseRunningHubJson } from './json.js';
import { envelopeSchema, nodeErrorsOf } from './schemas.js';
import { outcomeOfV2Task, v2TaskSchema, type V2Task } from './schemas-v2.js';
import type { Transport } from './transport.js';
import type { TaskStatus } from './types.js';

/**
 * RUNNINGHUB_API. `v1`: `/task/openapi/*` (the default: the generation the reference confirms in most
 * detail, with the 421 envelope, 804/813/805 and the TASK_END webhook). `v2`: `/openapi/v2/run/*` and
 * `/openapi/v2/query`. `auto`: v2, and v1 for each operation v2 turns out not to serve.
 */
export type RunningHubApi = 'v1' | 'v2' | 'auto';
export const RUNNINGHUB_APIS = ['v1', 'v2', 'auto'] as const;

export interface V2Context {
  post: Transport;
  fail: (operation: string, code: string, remoteMessage: string, extra?: { httpStatus?: number; cause?: unknown }) => RunningHubError;
}

/** Keys of a v2 task object: a reply with one of them is read as v2 even if it also has `code`. */
const V2_KEYS = ['taskId', 'status', 'errorCode'];

function isEndedBadly(task: V2Task): boolean {
  return task.status === 'FAILED' || task.status === 'CANCEL' || task.status === 'CANCELLED';
}

function isEnvelopeShaped(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || !('code' in value)) return false;
  const object = value;
  return !V2_KEYS.some((key) => key in object);
}

/**
 * v2 has no documented cancel or account endpoint, so those go to v1's (`/task/openapi/cancel`,
 * `/uc/openapi/accountStatus`), which the official v2 clients use too.
 */
export function createV2Client(ctx: V2Context, v1: RunningHubClient): RunningHubClient {
  const { post, fail } = ctx;

  async function call(operation: string, path: string, body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<V2Task> {
    const reply = await post(operation, path, body, { signal });
    let value = reply.json;
    // Some v2 answers come in v1's envelope (`{code, msg, data}`): errors such as 412 on a wrong path.
    if (isEnvelopeShaped(value)) {
      const envelope = envelopeSchema.safeParse(value);
      if (envelope.success) {
        if (envelope.data.code !== '0') {
          reply.done(envelope.data.code);
          throw fail(operation, envelope.data.code, envelope.data.msg, { httpStatus: reply.status });
        }
        value = envelope.data.data;
      }
    }
    const parsed = value === undefined ? undefined : v2TaskSchema.safeParse(value);
    const task = parsed?.success ? parsed.data : undefined;
    // A failed task's object carries its errorCode too: that is the task's failure, not a refusal.
    if (task?.errorCode && !isEndedBadly(task)) {
      reply.done(task.errorCode);
      throw fail(operation, task.errorCode, task.errorMessage ?? '', { httpStatus: reply.status });
    }
    if (reply.status < 200 || reply.status > 299) {
      reply.done(`HTTP_${reply.status}`);
      throw fail(operation, `HTTP_${reply.status}`, `HTTP ${reply.status}: ${JSON.stringify(reply.text.slice(0, 200))}`, { httpStatus: reply.status });
    }
    if (!task) {
      reply.done('MALFORMED_REPLY');
      const problem = parsed && !parsed.success ? `not a RunningHub v2 reply: ${z.prettifyError(parsed.error)}` : (reply.problem ?? 'empty reply');
      throw fail(operation, 'MALFORMED_REPLY', problem, { httpStatus: reply.status });
    }
    reply.done('0');
    return task;
  }

  const query = async (taskId: string, signal: AbortSignal | undefined) => {
    let task: V2Task;
    try {
      task = await call('query', '/openapi/v2/query', { taskId }, signal);
    } catch (error) {
      // v2's "task not found or expired" is v1's 807, which callers treat as "lost at RunningHub".
      if (error instanceof RunningHubError && error.code === '1004') throw fail('query', '807', `1004 ${error.remoteMessage}`);
      throw error;
    }
    const outcome = outcomeOfV2Task(task);
    if (!outcome) throw fail('query', 'MALFORMED_REPLY', `v2 query reply without a status for task ${taskId}`);
    return outcome;
  };

  return {
    async createTask(request, options) {
      const isApp = request.webappId !== undefined;
      const operation = isApp ? 'v2/run/ai-app' : 'v2/run/workflow';
      const path = isApp ? `/openapi/v2/run/ai-app/${encodeURIComponent(request.webappId)}` : `/openapi/v2/run/workflow/${encodeURIComponent(request.workflowId)}`;
      const body: Record<string, unknown> = {
        nodeInfoList: (request.nodeInfoList ?? []).map((n) => ({ nodeId: n.nodeId, fieldName: n.fieldName, fieldValue: n.fieldValue })),
      };
      if (request.webhookUrl !== undefined) body.webhookUrl = request.webhookUrl;
      if (request.instanceType !== undefined) body.instanceType = request.instanceType;
      if (request.addMetadata !== undefined) body.addMetadata = request.addMetadata;
      if (request.usePersonalQueue !== undefined) body.usePersonalQueue = request.usePersonalQueue;
      const task = await call(operation, path, body, options?.signal);
      if (!task.taskId) throw fail(operation, 'MALFORMED_REPLY', 'v2 submit reply without a taskId');
      const status: TaskStatus = task.status === 'RUNNING' || task.status === 'SUCCESS' || task.status === 'FAILED' ? task.status : 'QUEUED';
      return {
        taskId: task.taskId,
        clientId: task.clientId || null,
        taskStatus: status,
        netWssUrl: task.netWssUrl ?? null,
        nodeErrors: nodeErrorsOf(task.promptTips ?? null, (tips) => parseRunningHubJson(tips)),
      };
    },
    getOutputs: (taskId, options) => query(taskId, options?.signal),
    async getStatus(taskId, options) {
      return (await query(taskId, options?.signal)).status;
    },
    cancelTask: (taskId, options) => v1.cancelTask(taskId, options),
    getAccountStatus: (options) => v1.getAccountStatus(options),
    getQueueStatus: (options) => v1.getQueueStatus(options),
    getWorkflowApiFormat: (workflowId, options) => v1.getWorkflowApiFormat(workflowId, options),
  };
}

/**
 * "v2 is missing" for an operation: RunningHub answers a path it does not serve with HTTP 404 (the
 * simulator and the real service add 412 TOKEN_INVALID, "API path misspelt"). Then that operation
 * uses v1 for a while (AUTO_V1_FOR_MS); any other failure (5xx, 421, a timeout) is v2's answer and is
 * passed on.
 */
export function isMissingPath(error: unknown): boolean {
  return error instanceof RunningHubError && (error.httpStatus === 404 || error.code === '412');
}

type Operation = 'createWorkflow' | 'createApp' | 'query';

/**
 * How long an operation v2 answered "missing" for stays on v1 before v2 is asked again: a 404 can be a
 * gateway's passing fault, and v1's status and outputs are the generation RunningHub no longer maintains.
 */
export const AUTO_V1_FOR_MS = 10 * 60_000;

export function createAutoClient(
  v2: RunningHubClient,
  v1: RunningHubClient,
  logger: Logger | undefined,
  clock: { now: () => number } = { now: Date.now },
): RunningHubClient {
  /** Per operation on v1: until when, and whether that was logged (once per operation, at warn). */
  const onV1 = new Map<Operation, number>();
  const warned = new Set<Operation>();
  async function either<T>(operation: Operation, viaV2: () => Promise<T>, viaV1: () => Promise<T>): Promise<T> {
    if ((onV1.get(operation) ?? 0) > clock.now()) return viaV1();
    try {
      const result = await viaV2();
      onV1.delete(operation);
      return result;
    } catch (error) {
      if (!isMissingPath(error)) throw error;
      onV1.set(operation, clock.now() + AUTO_V1_FOR_MS);
      const line = { event: 'runninghub.v2_missing', operation, code: (error as RunningHubError).code, retryInMs: AUTO_V1_FOR_MS };
      if (warned.has(operation)) logger?.debug(line, 'RunningHub v2 still does not serve this operation; using v1 for it');
      else logger?.warn(line, 'RunningHub v2 does not serve this operation; using v1 for it');
      warned.add(operation);
      return viaV1();
    }
  }
  return {
    createTask: (request, options) =>
      either(request.webappId !== undefined ? 'createApp' : 'createWorkflow', () => v2.createTask(request, options), () => v1.createTask(request, options)),
    getOutputs: (taskId, options) => either('query', () => v2.getOutputs(taskId, options), () => v1.getOutputs(taskId, options)),
    getStatus: (taskId, options) => either('query', () => v2.getStatus(taskId, options), () => v1.getStatus(taskId, options)),
    cancelTask: (taskId, options) => v1.cancelTask(taskId, options),
    getAccountStatus: (options) => v1.getAccountStatus(options),
    getQueueStatus: (options) => v1.getQueueStatus(options),
    getWorkflowApiFormat: (workflowId, options) => v1.getWorkflowApiFormat(workflowId, options),
  };
}
