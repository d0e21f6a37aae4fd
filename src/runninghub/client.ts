import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { RunningHubError } from './errors.js';
import { parseRunningHubJson } from './json.js';
import { QUEUE_STATUS_PATH, queueStatusDataSchema, type QueueStatus } from './queue-status.js';
import { createTransport, type TransportRequest } from './transport.js';
import { createAutoClient, createV2Client, type RunningHubApi } from './client-v2.js';

export type { RunningHubApi } from './client-v2.js';
import {
  accountDataSchema,
  apiFormatDataSchema,
  apiFormatSchema,
  createDataSchema,
  envelopeSchema,
  nodeErrorsOf,
  outcomeOfEnvelope,
  statusDataSchema,
  type Envelope,
} from './schemas.js';
import type { AccountStatus, CreateTaskRequest, CreatedTask, TaskOutcome, TaskStatus, WorkflowApiFormat } from './types.js';

export interface RunningHubClientOptions {
  /** e.g. https://www.runninghub.cn, or the simulator's url. */
  baseUrl: string;
  apiKey: string;
  /** Per request, connect to last byte of the reply. Default 15 s. */
  timeoutMs?: number | undefined;
  /** Debug line per call (operation, code, duration). Never the key or the body. */
  logger?: Logger | undefined;
  /** Which API generation to speak (RUNNINGHUB_API); default v1. See `RunningHubApi`. */
  api?: RunningHubApi | undefined;
}

export interface RequestOptions {
  /** Abort the call early (e.g. on shutdown); the error is retryable with code ABORTED. */
  signal?: AbortSignal | undefined;
}

/**
 * What every generation offers; the processor does not know which one it speaks. v1 and v2 differ in
 * paths, auth and reply shapes only: the values handed out here are the same.
 */
export interface RunningHubClient {
  /** Workflow (v1 `/task/openapi/create`, v2 `/openapi/v2/run/workflow/{id}`) or AI app, by which id is set. */
  createTask(request: CreateTaskRequest, options?: RequestOptions): Promise<CreatedTask>;
  /** The real status source: QUEUED | RUNNING | SUCCESS (+ outputs) | FAILED (+ RunningHub's code, message, reason). */
  getOutputs(taskId: string, options?: RequestOptions): Promise<TaskOutcome>;
  getStatus(taskId: string, options?: RequestOptions): Promise<TaskStatus>;
  /** Resolves when RunningHub accepted the cancel (also for an already finished task). */
  cancelTask(taskId: string, options?: RequestOptions): Promise<void>;
  getAccountStatus(options?: RequestOptions): Promise<AccountStatus>;
  /** v2 `GET /openapi/v2/queue/status` in every generation: the account's limit and its tasks in flight. */
  getQueueStatus(options?: RequestOptions): Promise<QueueStatus>;
  /** getJsonApiFormat (v1's helper in every generation): the workflow's nodes and settable fields. */
  getWorkflowApiFormat(workflowId: string, options?: RequestOptions): Promise<WorkflowApiFormat>;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function createRunningHubClient(options: RunningHubClientOptions): RunningHubClient {
  if (!URL.canParse(options.baseUrl)) throw new Error(`RunningHub client: baseUrl is not a URL: ${JSON.stringify(options.baseUrl)}`);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const { apiKey } = options;
  if (!apiKey) throw new Error('RunningHub client: apiKey is empty');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const logger = options.logger;
  const api = options.api ?? 'v1';

  // Anything RunningHub (or a proxy in between) sends back may echo the request; the key must not
  // travel on into our errors and logs.
  const scrub = (text: string): string => text.split(apiKey).join('[redacted]');

  const fail = (operation: string, code: string, remoteMessage: string, extra: { httpStatus?: number; cause?: unknown } = {}) =>
    new RunningHubError({ operation, code, remoteMessage: scrub(remoteMessage), ...extra });

  const post = createTransport({ baseUrl, apiKey, timeoutMs, logger, scrub });

  /** POST a JSON body and parse the `{code, msg, data}` envelope. Business codes are left to the caller. */
  async function call(operation: string, path: string, body: Record<string, unknown>, request: TransportRequest | undefined): Promise<Envelope> {
    const reply = await post(operation, path, body, request);
    const parsed = reply.json === undefined ? undefined : envelopeSchema.safeParse(reply.json);
    const envelope = parsed?.success ? parsed.data : undefined;
    const problem = reply.json === undefined ? reply.problem : parsed && !parsed.success ? `not a RunningHub envelope: ${z.prettifyError(parsed.error)}` : undefined;
    if (reply.status < 200 || reply.status > 299) {
      // A business error may come with a non-2xx status (unknown path: 404 + 412); keep its code.
      if (envelope && envelope.code !== '0') {
        reply.done(envelope.code);
        throw fail(operation, envelope.code, envelope.msg, { httpStatus: reply.status });
      }
      reply.done(`HTTP_${reply.status}`);
      throw fail(operation, `HTTP_${reply.status}`, `HTTP ${reply.status}: ${JSON.stringify(reply.text.slice(0, 200))}`, { httpStatus: reply.status });
    }
    if (!envelope) {
      reply.done('MALFORMED_REPLY');
      throw fail(operation, 'MALFORMED_REPLY', problem ?? 'unreadable reply', { httpStatus: reply.status });
    }
    reply.done(envelope.code);
    return envelope;
  }

  function expectOk(operation: string, envelope: Envelope): void {
    if (envelope.code !== '0') throw fail(operation, envelope.code, envelope.msg);
  }

  function parseData<T>(operation: string, schema: z.ZodType<T>, data: unknown): T {
    const parsed = schema.safeParse(data);
    if (!parsed.success) throw fail(operation, 'MALFORMED_REPLY', `unexpected data: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  const v1: RunningHubClient = {
    async createTask(request, requestOptions) {
      const isApp = request.webappId !== undefined;
      const operation = isApp ? 'ai-app/run' : 'create';
      const body: Record<string, unknown> = { apiKey };
      if (isApp) body.webappId = request.webappId;
      else body.workflowId = request.workflowId;
      if (request.nodeInfoList) {
        body.nodeInfoList = request.nodeInfoList.map((n) => ({ nodeId: n.nodeId, fieldName: n.fieldName, fieldValue: n.fieldValue }));
      }
      if (request.webhookUrl !== undefined) body.webhookUrl = request.webhookUrl;
      if (request.instanceType !== undefined) body.instanceType = request.instanceType;
      if (request.addMetadata !== undefined) body.addMetadata = request.addMetadata;
      if (request.usePersonalQueue !== undefined) body.usePersonalQueue = request.usePersonalQueue;

      const envelope = await call(operation, isApp ? '/task/openapi/ai-app/run' : '/task/openapi/create', body, requestOptions);
      expectOk(operation, envelope);
      const data = parseData(operation, createDataSchema, envelope.data);
      return {
        taskId: data.taskId,
        clientId: data.clientId,
        taskStatus: data.taskStatus,
        netWssUrl: data.netWssUrl,
        nodeErrors: nodeErrorsOf(data.promptTips, (tips) =>
          parseRunningHubJson(tips, (paths) =>
            logger?.warn(
              { event: 'runninghub.text_replaced', operation, fields: paths.map((p) => `promptTips.${p}`) },
              'RunningHub promptTips held text that cannot be stored: replaced with U+FFFD',
            ),
          ),
        ),
      };
    },

    async getOutputs(taskId, requestOptions) {
      const envelope = await call('outputs', '/task/openapi/outputs', { apiKey, taskId }, requestOptions);
      const result = outcomeOfEnvelope(envelope);
      if ('error' in result) throw fail('outputs', result.error.code, result.error.msg);
      return result.outcome;
    },

    async getStatus(taskId, requestOptions) {
      const envelope = await call('status', '/task/openapi/status', { apiKey, taskId }, requestOptions);
      expectOk('status', envelope);
      return parseData('status', statusDataSchema, envelope.data);
    },

    async cancelTask(taskId, requestOptions) {
      const envelope = await call('cancel', '/task/openapi/cancel', { apiKey, taskId }, requestOptions);
      expectOk('cancel', envelope);
    },

    async getAccountStatus(requestOptions) {
      // This endpoint alone spells the field in lower case.
      const envelope = await call('accountStatus', '/uc/openapi/accountStatus', { apikey: apiKey }, requestOptions);
      expectOk('accountStatus', envelope);
      return parseData('accountStatus', accountDataSchema, envelope.data);
    },

    async getQueueStatus(requestOptions) {
      // A v2 endpoint with v1's `{code, msg, data}` envelope; the key goes in the Authorization header only.
      const envelope = await call('queueStatus', QUEUE_STATUS_PATH, {}, { signal: requestOptions?.signal, method: 'GET' });
      expectOk('queueStatus', envelope);
      const data = parseData('queueStatus', queueStatusDataSchema, envelope.data);
      return {
        apiKeyType: data.apiKeyType,
        concurrentLimit: data.concurrentLimit,
        runningCount: data.runningCount,
        queuedCount: data.queuedCount,
        totalCurrentTasks: data.totalCurrentTasks,
      };
    },

    async getWorkflowApiFormat(workflowId, requestOptions) {
      const envelope = await call('getJsonApiFormat', '/api/openapi/getJsonApiFormat', { apiKey, workflowId }, requestOptions);
      expectOk('getJsonApiFormat', envelope);
      const { prompt } = parseData('getJsonApiFormat', apiFormatDataSchema, envelope.data);
      let json: unknown;
      try {
        json = parseRunningHubJson(prompt);
      } catch {
        throw fail('getJsonApiFormat', 'MALFORMED_REPLY', 'data.prompt is not JSON');
      }
      return parseData('getJsonApiFormat', apiFormatSchema, json);
    },
  };
  if (api === 'v1') return v1;
  const v2 = createV2Client({ post, fail }, v1);
  return api === 'v2' ? v2 : createAutoClient(v2, v1, logger);
}
