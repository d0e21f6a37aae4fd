// RunningHub's v1 endpoints as the simulator answers them (reference §7): paths, envelopes, the
// key checks and their business errors (HTTP 200 with {code, msg, data: null}, like the real one),
// and the generated output files.
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { parseJsonKeepingBigIntegers } from '../json.js';
import { failureMessageOf, type BusinessError, type SimOutputFile, type SimTask, type SimulatorEngine } from './engine.js';
import { BinaryReply, envelope, HttpReply, numericIds, PartsReply } from './http.js';
import type { SimulatorEndpoint } from './options.js';
import { apiCallDemoData, webhookDetailData } from './endpoints-debug.js';
import { colourFor, paddedPngParts, solidPng } from './png.js';
import type { SimulatorUploads } from './uploads.js';
import { apiFormatOfSpec } from './workflows.js';

export const idInput = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);
export const nodeInfoInput = z.looseObject({
  nodeId: z.union([z.string(), z.number()]).transform(String),
  fieldName: z.string(),
  fieldValue: z.unknown(),
});
/** "default" (24 GB) or "plus" (48 GB); anything else is a bad parameter. */
export const instanceTypeInput = z.enum(['default', 'plus']).nullish();
const createBodies = {
  create: z.looseObject({
    workflowId: idInput.optional(),
    workflow: z.string().optional(),
    nodeInfoList: z.array(nodeInfoInput).optional(),
    webhookUrl: z.string().nullish(),
    instanceType: instanceTypeInput,
  }),
  aiAppRun: z.looseObject({
    webappId: idInput,
    nodeInfoList: z.array(nodeInfoInput).optional(),
    webhookUrl: z.string().nullish(),
    instanceType: instanceTypeInput,
  }),
};
const taskIdBody = z.looseObject({ taskId: idInput });
const retryWebhookBody = z.looseObject({ webhookId: idInput, webhookUrl: z.string().nullish() });
const apiCallDemoQuery = z.looseObject({ webappId: idInput });

export type V1Endpoint = Exclude<SimulatorEndpoint, 'files' | 'upload' | 'uploadV2' | `v2${string}`>;

/** The documented RUNNING netWssUrl (reference §2.4): the ComfyUI instance's socket, with query parameters. */
export function netWssUrlOf(publicUrl: string, task: SimTask): string {
  const url = new URL('/ws/c_instance', publicUrl.replace(/^http/, 'ws'));
  url.searchParams.set('c_host', '127.0.0.1');
  url.searchParams.set('c_port', '8188');
  url.searchParams.set('clientId', task.clientId);
  url.searchParams.set('workflowId', task.targetId ?? '');
  url.searchParams.set('Rh-Comfy-Auth', task.taskId);
  return url.toString();
}

export class RunningHubEndpoints {
  private readonly pngs = new Map<string, Buffer>();
  private readonly paddings = new Map<number, Buffer>();

  constructor(
    private readonly engine: SimulatorEngine,
    private readonly publicUrl: () => string,
    private readonly logger: Logger | undefined,
    private readonly uploads: SimulatorUploads,
    /** retryWebhook: send a finished task's event again, to this URL. */
    private readonly resendWebhook: (task: SimTask, url: string) => void,
  ) {}

  /** Forget the generated files (with the tasks they belong to). */
  reset(): void {
    this.pngs.clear();
  }

  api(endpoint: V1Endpoint, text: string, authorization: string | undefined): HttpReply {
    let raw: unknown;
    try {
      raw = text === '' ? {} : parseJsonKeepingBigIntegers(text);
    } catch {
      return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
    }
    const body = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const apiKey = keyOf(body, authorization);
    if (!apiKey) {
      return this.businessError(endpoint === 'accountStatus' ? { code: 1601, msg: 'param apiKey is required' } : { code: 301, msg: 'PARAMS_INVALID' });
    }
    const keyError = this.engine.checkKey(apiKey);
    if (keyError) {
      if (endpoint === 'create' || endpoint === 'aiAppRun') return this.refusedCreate(endpoint, apiKey, body);
      return this.businessError(keyError);
    }

    switch (endpoint) {
      case 'create':
      case 'aiAppRun':
        return this.create(endpoint, apiKey, body);
      case 'accountStatus': {
        const config = this.engine.options.keys[apiKey];
        return this.ok({
          remainCoins: String(Math.max(0, this.engine.coinsOf(apiKey))),
          currentTaskCounts: String(this.engine.inFlightOf(apiKey)),
          remainMoney: config?.remainMoney === undefined ? null : String(config.remainMoney),
          currency: config?.remainMoney === undefined ? null : config.currency,
          apiType: config?.apiType ?? 'NORMAL',
        });
      }
      case 'getJsonApiFormat':
        return this.apiFormat(body);
      case 'apiCallDemo': {
        const parsed = apiCallDemoQuery.safeParse(body);
        if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
        const data = apiCallDemoData(this.engine, parsed.data.webappId, this.publicUrl());
        return data ? this.ok(data) : this.businessError({ code: 901, msg: 'WEBAPP_NOT_EXISTS' });
      }
      case 'retryWebhook':
        return this.retryWebhook(apiKey, body);
      case 'status':
      case 'outputs':
      case 'cancel':
      case 'webhookDetail': {
        const parsed = taskIdBody.safeParse(body);
        if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
        const taskId = parsed.data.taskId;
        if (/^0+$/.test(taskId)) return this.businessError({ code: 301, msg: 'taskId must be positive' });
        if (endpoint === 'cancel') {
          return this.engine.cancel(apiKey, taskId) ? this.ok(null) : this.businessError({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND' });
        }
        const task = this.engine.find(apiKey, taskId);
        if (!task) return this.businessError({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND' });
        if (endpoint === 'webhookDetail') {
          const detail = webhookDetailData(task);
          return detail ? this.ok(detail) : this.businessError({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND' });
        }
        if (endpoint === 'status') {
          return envelope(200, { code: 0, msg: '', data: task.status === 'CANCELLED' ? 'FAILED' : task.status });
        }
        return envelope(200, this.outputsEnvelope(task, 'outputs'));
      }
    }
  }

  /** getJsonApiFormat: the workflow's API-format JSON as a string in `data.prompt` (reference §5.5). */
  private apiFormat(body: Record<string, unknown>): HttpReply {
    const parsed = z.looseObject({ workflowId: idInput }).safeParse(body);
    if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
    const id = parsed.data.workflowId;
    const configured = this.engine.options.workflows[id];
    const prompt = configured ? apiFormatOfSpec(configured) : this.engine.folderWorkflows.get(id)?.apiFormat;
    if (prompt === undefined) return this.businessError({ code: 380, msg: 'WORKFLOW_NOT_EXISTS' });
    return envelope(200, { code: 0, msg: 'SUCCESS', data: { prompt } });
  }

  /** A create from a key that may not use the API: refused with its code, and counted as refused. */
  private refusedCreate(endpoint: 'create' | 'aiAppRun', apiKey: string, body: Record<string, unknown>): HttpReply {
    const result = this.engine.create({
      apiKey,
      kind: endpoint === 'create' ? 'workflow' : 'app',
      api: 'v1',
      targetId: '',
      nodeInfoList: [],
      instanceType: null,
      webhookUrl: null,
      fingerprintSource: body,
    });
    return result.ok ? this.businessError({ code: 500, msg: 'UNKNOWN_ERROR' }) : this.businessError(result.error);
  }

  private create(endpoint: 'create' | 'aiAppRun', apiKey: string, body: Record<string, unknown>): HttpReply {
    let targetId: string;
    let nodeInfoList: { nodeId: string; fieldName: string; fieldValue: unknown }[];
    let webhookUrl: string | null;
    let instanceType: string | null;
    if (endpoint === 'create') {
      const parsed = createBodies.create.safeParse(body);
      if (!parsed.success || (parsed.data.workflowId === undefined && parsed.data.workflow === undefined)) {
        return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
      }
      // A full workflow JSON replaces workflowId; strict mode knows it only if "inline" is configured.
      targetId = parsed.data.workflow !== undefined ? 'inline' : (parsed.data.workflowId ?? '');
      nodeInfoList = parsed.data.nodeInfoList ?? [];
      webhookUrl = parsed.data.webhookUrl ?? null;
      instanceType = parsed.data.instanceType ?? null;
    } else {
      const parsed = createBodies.aiAppRun.safeParse(body);
      if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
      targetId = parsed.data.webappId;
      nodeInfoList = parsed.data.nodeInfoList ?? [];
      webhookUrl = parsed.data.webhookUrl ?? null;
      instanceType = parsed.data.instanceType ?? null;
    }
    if (this.engine.options.requireUploadedImages && this.uploads.unknownImage(apiKey, nodeInfoList) !== undefined) {
      return this.businessError({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO' });
    }
    const result = this.engine.create({
      apiKey,
      kind: endpoint === 'create' ? 'workflow' : 'app',
      api: 'v1',
      targetId,
      nodeInfoList,
      instanceType,
      webhookUrl: webhookUrl || null,
      fingerprintSource: body,
    });
    if (!result.ok) return this.businessError(result.error);
    const task = result.task;
    this.logger?.debug({ event: 'task.created', taskId: task.taskId, kind: task.kind, targetId }, 'task created');
    const outputsToExecute = [...new Set(task.outputs.map((o) => o.nodeId))];
    const nodeErrors = this.engine.options.promptNodeErrors
      ? { '3': { errors: [{ type: 'value_not_in_list', message: 'simulated node error' }], class_type: 'KSampler' } }
      : {};
    // QUEUED with netWssUrl null, or (started at once) RUNNING with the instance's socket: the docs' two examples.
    const running = task.status === 'RUNNING';
    return this.ok({
      netWssUrl: running ? netWssUrlOf(this.publicUrl(), task) : null,
      taskId: task.taskId,
      clientId: task.clientId,
      taskStatus: running ? 'RUNNING' : 'QUEUED',
      promptTips: JSON.stringify({ result: true, error: null, outputs_to_execute: outputsToExecute, node_errors: nodeErrors }),
    });
  }

  /** The outputs reply for a task (also the webhook's eventData, where taskCostTime is a number). */
  outputsEnvelope(task: SimTask, form: 'outputs' | 'webhook'): { code: number; msg: string; data: unknown } {
    switch (task.status) {
      case 'QUEUED':
        return { code: 813, msg: 'APIKEY_TASK_IS_QUEUED', data: null };
      case 'RUNNING':
        return {
          code: 804,
          msg: 'APIKEY_TASK_IS_RUNNING',
          data: this.engine.options.runningOutputsDataMode === 'wss' ? { netWssUrl: netWssUrlOf(this.publicUrl(), task) } : null,
        };
      case 'SUCCESS': {
        const seconds = Math.max(0, Math.round(((task.endedAt ?? Date.now()) - (task.startedAt ?? task.createdAt)) / 1000));
        const data = task.outputs.map((o) =>
          form === 'outputs'
            ? {
                fileUrl: o.fileUrl,
                fileType: o.fileType,
                taskCostTime: String(seconds),
                nodeId: o.nodeId,
                thirdPartyConsumeMoney: null,
                consumeMoney: null,
                consumeCoins: String(task.coinsPerRun),
              }
            : { fileUrl: o.fileUrl, fileType: o.fileType, taskCostTime: seconds, nodeId: o.nodeId },
        );
        return { code: 0, msg: 'success', data };
      }
      case 'FAILED':
      case 'CANCELLED': {
        const cancelled = task.status === 'CANCELLED';
        return {
          code: 805,
          msg: 'APIKEY_TASK_STATUS_ERROR',
          data: {
            failedReason: {
              node_id: '3',
              node_name: 'KSampler',
              exception_type: cancelled ? 'TaskCancelled' : 'RuntimeError',
              exception_message: cancelled ? 'task was cancelled' : failureMessageOf(task),
              traceback: '[]',
              current_inputs: '{}',
              current_outputs: '{}',
            },
          },
        };
      }
    }
  }

  /**
   * retryWebhook `{apiKey, webhookId, webhookUrl?}` (reference §5.4): the finished task's event again, to
   * `webhookUrl` or the one it was created with; `{code: 0, msg: "", data: null}` as the docs show it.
   */
  private retryWebhook(apiKey: string, body: Record<string, unknown>): HttpReply {
    const parsed = retryWebhookBody.safeParse(body);
    if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
    const task = this.engine.findByWebhookId(apiKey, parsed.data.webhookId);
    if (!task?.webhookUrl) return this.businessError({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND' });
    // No event before the task ends: answered as outputs would answer (813 queued, 804 running).
    if (task.webhookBody === null) return this.businessError(this.outputsEnvelope(task, 'outputs'));
    this.resendWebhook(task, parsed.data.webhookUrl || task.webhookUrl);
    return envelope(200, { code: 0, msg: '', data: null });
  }

  /** The output a `/files/<taskId>/<fileName>` path names, once its task succeeded. */
  outputAt(path: string): SimOutputFile | undefined {
    const match = /^\/files\/(\d+)\/([^/]+)$/.exec(path);
    const task = match?.[1] ? this.engine.tasks.get(match[1]) : undefined;
    return task?.status === 'SUCCESS' ? task.outputs.find((o) => o.fileName === match?.[2]) : undefined;
  }

  file(path: string): HttpReply {
    const output = this.outputAt(path);
    if (!output) return new HttpReply(404, 'not found', 'text/plain');
    const contentType = output.fileType === 'png' ? 'image/png' : 'application/octet-stream';
    // A colour per output (not per task): a copy kept under the wrong output number shows in its checksum.
    const seed = path.slice('/files/'.length);
    if (this.engine.options.outputBytes > 0) return new PartsReply(paddedPngParts(colourFor(seed), this.engine.options.outputBytes, this.paddings), contentType);
    let png = this.pngs.get(seed);
    if (!png) {
      png = solidPng(8, colourFor(seed));
      this.pngs.set(seed, png);
    }
    return new BinaryReply(png, contentType);
  }

  private ok(data: unknown): HttpReply {
    return envelope(200, { code: 0, msg: 'success', data }, this.engine.options.numericTaskIds);
  }

  private businessError(error: BusinessError): HttpReply {
    return envelope(200, { code: error.code, msg: error.msg, data: null });
  }

  /** JSON text, with task ids as bare numbers when `numericTaskIds` is on. */
  json(value: unknown): string {
    return numericIds(JSON.stringify(value), this.engine.options.numericTaskIds);
  }
}

export function endpointOf(method: string, path: string): SimulatorEndpoint | undefined {
  if (method === 'GET' && path.startsWith('/files/')) return 'files';
  if (method === 'GET' && path === '/openapi/v2/queue/status') return 'v2QueueStatus';
  if (method === 'GET' && path === '/api/webapp/apiCallDemo') return 'apiCallDemo';
  if (method !== 'POST') return undefined;
  if (/^\/openapi\/v2\/run\/workflow\/[^/]+$/.test(path)) return 'v2RunWorkflow';
  if (/^\/openapi\/v2\/run\/ai-app\/[^/]+$/.test(path)) return 'v2RunAiApp';
  switch (path) {
    case '/task/openapi/create':
      return 'create';
    case '/task/openapi/ai-app/run':
      return 'aiAppRun';
    case '/task/openapi/status':
      return 'status';
    case '/task/openapi/outputs':
      return 'outputs';
    case '/task/openapi/cancel':
      return 'cancel';
    case '/uc/openapi/accountStatus':
      return 'accountStatus';
    case '/task/openapi/upload':
      return 'upload';
    case '/openapi/v2/media/upload/binary':
      return 'uploadV2';
    case '/task/openapi/getWebhookDetail':
      return 'webhookDetail';
    case '/task/openapi/retryWebhook':
      return 'retryWebhook';
    case '/api/openapi/getJsonApiFormat':
      return 'getJsonApiFormat';
    case '/openapi/v2/query':
      return 'v2Query';
    default:
      return undefined;
  }
}

/** The reference's order: body `apiKey`, body `apikey`, then `Authorization: Bearer`. */
export function keyOf(body: Record<string, unknown>, authorization: string | undefined): string | undefined {
  for (const candidate of [body.apiKey, body.apikey]) if (typeof candidate === 'string' && candidate !== '') return candidate;
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return bearer?.[1]?.trim() || undefined;
}
