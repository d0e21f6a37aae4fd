import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { RunningHubError } from './errors.js';
import { decodeUtf8Replacing } from '../shared/text.js';
import { parseRunningHubJson } from './json.js';
import {
  accountDataSchema,
  createDataSchema,
  envelopeSchema,
  nodeErrorsOf,
  outcomeOfEnvelope,
  statusDataSchema,
  type Envelope,
} from './schemas.js';
import type { AccountStatus, CreateTaskRequest, CreatedTask, TaskOutcome, TaskStatus } from './types.js';

export interface RunningHubClientOptions {
  /** e.g. https://www.runninghub.cn, or the simulator's url. */
  baseUrl: string;
  apiKey: string;
  /** Per request, connect to last byte of the reply. Default 15 s. */
  timeoutMs?: number | undefined;
  /** Debug line per call (operation, code, duration). Never the key or the body. */
  logger?: Logger | undefined;
}

export interface RequestOptions {
  /** Abort the call early (e.g. on shutdown); the error is retryable with code ABORTED. */
  signal?: AbortSignal | undefined;
}

export interface RunningHubClient {
  /** Workflow (`/task/openapi/create`) or AI app (`/task/openapi/ai-app/run`), by which id is set. */
  createTask(request: CreateTaskRequest, options?: RequestOptions): Promise<CreatedTask>;
  /** The real status source: QUEUED | RUNNING | SUCCESS (+ outputs) | FAILED (+ RunningHub's code, message, reason). */
  getOutputs(taskId: string, options?: RequestOptions): Promise<TaskOutcome>;
  getStatus(taskId: string, options?: RequestOptions): Promise<TaskStatus>;
  /** Resolves when RunningHub accepted the cancel (also for an already finished task). */
  cancelTask(taskId: string, options?: RequestOptions): Promise<void>;
  getAccountStatus(options?: RequestOptions): Promise<AccountStatus>;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function createRunningHubClient(options: RunningHubClientOptions): RunningHubClient {
  if (!URL.canParse(options.baseUrl)) throw new Error(`RunningHub client: baseUrl is not a URL: ${JSON.stringify(options.baseUrl)}`);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const { apiKey } = options;
  if (!apiKey) throw new Error('RunningHub client: apiKey is empty');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const logger = options.logger;

  // Anything RunningHub (or a proxy in between) sends back may echo the request; the key must not
  // travel on into our errors and logs.
  const scrub = (text: string): string => text.split(apiKey).join('[redacted]');

  const fail = (operation: string, code: string, remoteMessage: string, extra: { httpStatus?: number; cause?: unknown } = {}) =>
    new RunningHubError({ operation, code, remoteMessage: scrub(remoteMessage), ...extra });

  /** POST a JSON body and parse the `{code, msg, data}` envelope. Business codes are left to the caller. */
  async function call(operation: string, path: string, body: Record<string, unknown>, request: RequestOptions | undefined): Promise<Envelope> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request?.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    let status: number;
    let bytes: Uint8Array;
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          // Newer docs list the Bearer header for v1 too; the body key is what v1 reads.
          authorization: `Bearer ${apiKey}`,
        },
        body: JSON.stringify(body),
        signal,
      });
      status = response.status;
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      const failure = transportFailure(operation, error, timeout, timeoutMs);
      logger?.debug({ event: 'runninghub.call', operation, code: failure.code, ms: elapsed(started) }, 'RunningHub call failed');
      throw failure;
    }

    // Text we cannot store is replaced, not refused: the reply still says what happened to the task.
    const { text, repaired: undecodable } = decodeUtf8Replacing(bytes);
    const repairedFields: string[] = undecodable ? ['(bytes that are not UTF-8)'] : [];
    let envelope: Envelope | undefined;
    let problem: string | undefined;
    try {
      const parsed = envelopeSchema.safeParse(parseRunningHubJson(text, (paths) => repairedFields.push(...paths)));
      if (parsed.success) envelope = parsed.data;
      else problem = `not a RunningHub envelope: ${z.prettifyError(parsed.error)}`;
    } catch {
      problem = `not JSON: ${JSON.stringify(text.slice(0, 200))}`;
    }

    if (repairedFields.length > 0) {
      logger?.warn(
        { event: 'runninghub.text_replaced', operation, httpStatus: status, fields: repairedFields },
        'RunningHub reply held text that cannot be stored (NUL, lone surrogates or bytes that are not UTF-8): replaced with U+FFFD',
      );
    }
    const done = (code: string) => logger?.debug({ event: 'runninghub.call', operation, httpStatus: status, code, ms: elapsed(started) }, 'RunningHub call');
    if (status < 200 || status > 299) {
      // A business error may come with a non-2xx status (unknown path: 404 + 412); keep its code.
      if (envelope && envelope.code !== '0') {
        done(envelope.code);
        throw fail(operation, envelope.code, envelope.msg, { httpStatus: status });
      }
      done(`HTTP_${status}`);
      throw fail(operation, `HTTP_${status}`, `HTTP ${status}: ${JSON.stringify(text.slice(0, 200))}`, { httpStatus: status });
    }
    if (!envelope) {
      done('MALFORMED_REPLY');
      throw fail(operation, 'MALFORMED_REPLY', problem ?? 'unreadable reply', { httpStatus: status });
    }
    done(envelope.code);
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

  return {
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
  };
}

function transportFailure(operation: string, error: unknown, timeout: AbortSignal, timeoutMs: number): RunningHubError {
  const name = error instanceof Error ? error.name : '';
  if (timeout.aborted && (name === 'TimeoutError' || name === 'AbortError')) {
    return new RunningHubError({ operation, code: 'TIMEOUT', remoteMessage: `no complete reply within ${timeoutMs} ms`, cause: error });
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new RunningHubError({ operation, code: 'ABORTED', remoteMessage: 'aborted by the caller', cause: error });
  }
  // undici reports "fetch failed" and puts the socket error (ECONNREFUSED, ECONNRESET, "other side closed") in `cause`.
  const cause = error instanceof Error ? error.cause : undefined;
  const detail =
    cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}` : error instanceof Error ? error.message : String(error);
  return new RunningHubError({ operation, code: 'NETWORK', remoteMessage: detail, cause: error });
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
