import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { parseJsonKeepingBigIntegers } from '../json.js';
import { SimulatorEngine, isTerminal, type BusinessError, type SimTask, type SimulatorCounters } from './engine.js';
import { simulatorOptionsSchema, type SimulatorEndpoint, type SimulatorFault, type SimulatorOptions } from './options.js';
import { ManualClock, realClock } from './clock.js';
import { colourFor, solidPng } from './png.js';
import { WebhookSender } from './webhooks.js';
import type { SimulatorTaskView as TaskView } from './views.js';

// HTTP face of the simulator: RunningHub's v1 paths and envelopes (reference §7), plus /__sim/* for
// tests and benchmarks. Business errors are HTTP 200 with {code, msg, data: null}, like the real one.

const MAX_BODY_BYTES = 1024 * 1024;

const idInput = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);
const nodeInfoInput = z.looseObject({
  nodeId: z.union([z.string(), z.number()]).transform(String),
  fieldName: z.string(),
  fieldValue: z.unknown(),
});
const createBodies = {
  create: z.looseObject({
    workflowId: idInput.optional(),
    workflow: z.string().optional(),
    nodeInfoList: z.array(nodeInfoInput).optional(),
    webhookUrl: z.string().nullish(),
  }),
  aiAppRun: z.looseObject({
    webappId: idInput,
    nodeInfoList: z.array(nodeInfoInput).optional(),
    webhookUrl: z.string().nullish(),
  }),
};
const taskIdBody = z.looseObject({ taskId: idInput });
const occupyBody = z.strictObject({ apiKey: z.string().min(1), n: z.number().int().min(1).max(10_000), durationMs: z.number().int().min(0).optional() });
const advanceBody = z.strictObject({ ms: z.number().int().min(0) });
const releaseBody = z.strictObject({ apiKey: z.string().min(1).optional() });

class HttpReply {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string,
  ) {}
}

export class SimulatorServer {
  readonly engine: SimulatorEngine;
  private readonly server: Server;
  private readonly webhooks: WebhookSender;
  private readonly pngs = new Map<string, Buffer>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private port = 0;
  private readonly manualClock: ManualClock | undefined;

  constructor(
    options: SimulatorOptions,
    private readonly logger: Logger | undefined,
  ) {
    this.manualClock = options.manualClock ? new ManualClock() : undefined;
    this.engine = new SimulatorEngine(
      options,
      {
        publicUrl: () => this.publicUrl(),
        onTerminal: (task) => this.onTerminal(task),
      },
      this.manualClock ?? realClock,
    );
    this.webhooks = new WebhookSender(
      () => this.engine.options.webhook,
      () => this.engine.counters,
      logger,
    );
    this.server = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.logger?.error({ event: 'simulator.error', err: error }, 'request handler failed');
        if (!res.headersSent) this.write(res, new HttpReply(500, JSON.stringify({ code: 500, msg: 'UNKNOWN_ERROR', data: null }), 'application/json'));
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<void> {
    const { host, port } = this.engine.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get listeningPort(): number {
    return this.port;
  }

  get url(): string {
    const host = this.engine.options.host;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${this.port}`;
  }

  publicUrl(): string {
    return (this.engine.options.publicUrl ?? this.url).replace(/\/+$/, '');
  }

  async stop(): Promise<void> {
    this.webhooks.stop();
    this.engine.stopTimers();
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  setOptions(patch: Record<string, unknown>): SimulatorOptions {
    const current = this.engine.options;
    const merged: Record<string, unknown> = { ...current, ...patch };
    if (patch.webhook && typeof patch.webhook === 'object') merged.webhook = { ...current.webhook, ...patch.webhook };
    // Where we listen cannot change while listening.
    merged.host = current.host;
    merged.port = current.port;
    if (merged.manualClock !== current.manualClock) throw new Error('manualClock can only be chosen when the simulator starts');
    this.engine.options = simulatorOptionsSchema.parse(merged);
    return this.engine.options;
  }

  /** Manual clock only: move simulated time forward, running the task transitions that fall due. */
  advance(ms: number): void {
    if (!this.manualClock) throw new Error('advance() needs a simulator started with manualClock: true');
    this.manualClock.advance(ms);
  }

  reset(): void {
    this.webhooks.clear();
    this.engine.reset();
    this.pngs.clear();
  }

  counters(): SimulatorCounters {
    return structuredClone(this.engine.counters);
  }

  tasks(): TaskView[] {
    return [...this.engine.tasks.values()].map((t) => ({
      taskId: t.taskId,
      kind: t.kind,
      targetId: t.targetId,
      status: t.status,
      fingerprint: t.fingerprint,
      createdAt: t.createdAt,
      startedAt: t.startedAt,
      endedAt: t.endedAt,
      webhookUrl: t.webhookUrl,
      webhookAttempts: [...t.webhookAttempts],
      outputs: t.status === 'SUCCESS' ? t.outputs.map((o) => o.fileUrl) : [],
    }));
  }

  // ---- request handling ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    if (path.startsWith('/__sim/')) {
      this.write(res, await this.control(req, path));
      return;
    }
    const endpoint = endpointOf(req.method ?? 'GET', path);
    this.engine.count(endpoint ?? 'unknown');
    if (!endpoint) {
      await readBody(req).catch(() => undefined);
      this.write(res, envelope(404, { code: 412, msg: 'TOKEN_INVALID', data: null }));
      return;
    }

    const fault = this.takeFault(endpoint);
    if (fault && fault.kind !== 'delay' && !(fault.kind === 'drop' && fault.afterHandling)) {
      this.engine.counters.faultsInjected++;
      await readBody(req).catch(() => undefined);
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      this.write(res, faultReply(fault));
      return;
    }

    let reply: HttpReply;
    if (endpoint === 'files') {
      reply = this.file(path);
    } else {
      let text: string;
      try {
        text = await readBody(req);
      } catch {
        this.write(res, envelope(200, { code: 301, msg: 'PARAMS_INVALID', data: null }));
        return;
      }
      reply = this.api(endpoint, text, req.headers.authorization);
    }

    if (fault) {
      this.engine.counters.faultsInjected++;
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'delay') {
        const timer = setTimeout(() => {
          this.delayTimers.delete(timer);
          if (!res.destroyed) this.write(res, reply);
        }, fault.ms);
        timer.unref();
        this.delayTimers.add(timer);
        return;
      }
    }
    this.write(res, reply);
  }

  /** The endpoint's fault, counting down `times`. */
  private takeFault(endpoint: SimulatorEndpoint): SimulatorFault | undefined {
    const faults = this.engine.options.faults;
    const fault = faults[endpoint];
    if (!fault) return undefined;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) delete faults[endpoint];
    }
    return fault;
  }

  private api(endpoint: Exclude<SimulatorEndpoint, 'files'>, text: string, authorization: string | undefined): HttpReply {
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
          remainMoney: null,
          currency: null,
          apiType: config?.apiType ?? 'NORMAL',
        });
      }
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
        if (endpoint === 'webhookDetail') return this.webhookDetail(task);
        if (endpoint === 'status') {
          return envelope(200, { code: 0, msg: '', data: task.status === 'CANCELLED' ? 'FAILED' : task.status });
        }
        return envelope(200, this.outputsEnvelope(task, 'outputs'));
      }
    }
  }

  /** A create from a key that may not use the API: refused with its code, and counted as refused. */
  private refusedCreate(endpoint: 'create' | 'aiAppRun', apiKey: string, body: Record<string, unknown>): HttpReply {
    const result = this.engine.create({
      apiKey,
      kind: endpoint === 'create' ? 'workflow' : 'app',
      targetId: '',
      nodeInfoList: [],
      webhookUrl: null,
      fingerprintSource: body,
    });
    return result.ok ? this.businessError({ code: 500, msg: 'UNKNOWN_ERROR' }) : this.businessError(result.error);
  }

  private create(endpoint: 'create' | 'aiAppRun', apiKey: string, body: Record<string, unknown>): HttpReply {
    let targetId: string;
    let nodeInfoList: { nodeId: string; fieldName: string; fieldValue: unknown }[];
    let webhookUrl: string | null;
    if (endpoint === 'create') {
      const parsed = createBodies.create.safeParse(body);
      if (!parsed.success || (parsed.data.workflowId === undefined && parsed.data.workflow === undefined)) {
        return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
      }
      // A full workflow JSON replaces workflowId; strict mode knows it only if "inline" is configured.
      targetId = parsed.data.workflow !== undefined ? 'inline' : (parsed.data.workflowId ?? '');
      nodeInfoList = parsed.data.nodeInfoList ?? [];
      webhookUrl = parsed.data.webhookUrl ?? null;
    } else {
      const parsed = createBodies.aiAppRun.safeParse(body);
      if (!parsed.success) return this.businessError({ code: 301, msg: 'PARAMS_INVALID' });
      targetId = parsed.data.webappId;
      nodeInfoList = parsed.data.nodeInfoList ?? [];
      webhookUrl = parsed.data.webhookUrl ?? null;
    }
    const result = this.engine.create({
      apiKey,
      kind: endpoint === 'create' ? 'workflow' : 'app',
      targetId,
      nodeInfoList,
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
    return this.ok({
      netWssUrl: null,
      taskId: task.taskId,
      clientId: task.clientId,
      taskStatus: 'QUEUED',
      promptTips: JSON.stringify({ result: true, error: null, outputs_to_execute: outputsToExecute, node_errors: nodeErrors }),
    });
  }

  /** The outputs reply for a task (also the webhook's eventData, where taskCostTime is a number). */
  private outputsEnvelope(task: SimTask, form: 'outputs' | 'webhook'): { code: number; msg: string; data: unknown } {
    switch (task.status) {
      case 'QUEUED':
        return { code: 813, msg: 'APIKEY_TASK_IS_QUEUED', data: null };
      case 'RUNNING':
        return {
          code: 804,
          msg: 'APIKEY_TASK_IS_RUNNING',
          data: this.engine.options.runningOutputsDataMode === 'wss' ? { netWssUrl: `${this.publicUrl().replace(/^http/, 'ws')}/ws/${task.taskId}` } : null,
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
              exception_message: cancelled ? 'task was cancelled' : 'simulated failure',
              traceback: '[]',
              current_inputs: '{}',
              current_outputs: '{}',
            },
          },
        };
      }
    }
  }

  /** The reference's getWebhookDetail record (without `userApiKey`: the simulator does not echo keys). */
  private webhookDetail(task: SimTask): HttpReply {
    if (!task.webhookUrl) return this.businessError({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND' });
    const last = task.webhookAttempts.at(-1);
    const iso = (ms: number) => new Date(ms).toISOString();
    return this.ok({
      id: task.taskId,
      taskId: task.taskId,
      webhookUrl: task.webhookUrl,
      eventData: task.webhookBody,
      callbackStatus: last === undefined ? 'PENDING' : last.ok ? 'SUCCESS' : 'FAILED',
      callbackResponse: last?.result ?? null,
      retryCount: Math.max(0, task.webhookAttempts.length - 1),
      createTime: iso(task.createdAt),
      updateTime: iso(last?.at ?? task.createdAt),
    });
  }

  private onTerminal(task: SimTask): void {
    this.logger?.debug({ event: 'task.finished', taskId: task.taskId, status: task.status }, 'task finished');
    if (!task.webhookUrl || !isTerminal(task.status) || task.status === 'CANCELLED') return;
    task.webhookBody = this.json({ event: 'TASK_END', taskId: task.taskId, eventData: JSON.stringify(this.outputsEnvelope(task, 'webhook')) });
    this.webhooks.send(task, task.webhookBody);
  }

  private file(path: string): HttpReply {
    const match = /^\/files\/(\d+)\/([^/]+)$/.exec(path);
    const task = match?.[1] ? this.engine.tasks.get(match[1]) : undefined;
    const output = task?.status === 'SUCCESS' ? task.outputs.find((o) => o.fileName === match?.[2]) : undefined;
    if (!task || !output) return new HttpReply(404, 'not found', 'text/plain');
    let png = this.pngs.get(task.taskId);
    if (!png) {
      png = solidPng(8, colourFor(task.taskId));
      this.pngs.set(task.taskId, png);
    }
    return new BinaryReply(png, output.fileType === 'png' ? 'image/png' : 'application/octet-stream');
  }

  private async control(req: IncomingMessage, path: string): Promise<HttpReply> {
    const method = req.method ?? 'GET';
    const text = await readBody(req).catch(() => '');
    const json = (status: number, value: unknown) => new HttpReply(status, JSON.stringify(value), 'application/json');
    const parseBody = (): unknown => {
      try {
        return text === '' ? {} : JSON.parse(text);
      } catch {
        return undefined;
      }
    };
    const badRequest = (error: z.ZodError | string) => json(400, { error: typeof error === 'string' ? error : z.prettifyError(error) });

    if (method === 'GET' && path === '/__sim/counters') return json(200, this.counters());
    if (method === 'GET' && path === '/__sim/tasks') return json(200, this.tasks());
    if (method === 'GET' && path === '/__sim/config') return json(200, this.engine.options);
    if (method === 'GET' && path === '/__sim/health') return json(200, { ok: true });
    if (method === 'POST' && path === '/__sim/reset') {
      this.reset();
      return json(200, { ok: true });
    }
    if (method === 'POST' && path === '/__sim/config') {
      const patch = parseBody();
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return badRequest('body must be a JSON object of options');
      try {
        return json(200, this.setOptions(patch as Record<string, unknown>));
      } catch (error) {
        return badRequest(error instanceof z.ZodError ? error : String((error as Error).message));
      }
    }
    if (method === 'POST' && path === '/__sim/advance') {
      const parsed = advanceBody.safeParse(parseBody());
      if (!parsed.success) return badRequest(parsed.error);
      try {
        this.advance(parsed.data.ms);
      } catch (error) {
        return badRequest(String((error as Error).message));
      }
      return json(200, { now: this.engine.clock.now() });
    }
    if (method === 'POST' && path === '/__sim/occupy') {
      const parsed = occupyBody.safeParse(parseBody());
      if (!parsed.success) return badRequest(parsed.error);
      const tasks = this.engine.occupy(parsed.data.apiKey, parsed.data.n, parsed.data.durationMs ?? null);
      return json(200, { taskIds: tasks.map((t) => t.taskId) });
    }
    if (method === 'POST' && path === '/__sim/release') {
      const parsed = releaseBody.safeParse(parseBody());
      if (!parsed.success) return badRequest(parsed.error);
      return json(200, { released: this.engine.release(parsed.data.apiKey ?? null) });
    }
    return json(404, { error: `no control endpoint ${method} ${path}` });
  }

  private ok(data: unknown): HttpReply {
    return envelope(200, { code: 0, msg: 'success', data }, this.engine.options.numericTaskIds);
  }

  private businessError(error: BusinessError): HttpReply {
    return envelope(200, { code: error.code, msg: error.msg, data: null });
  }

  /** JSON text, with task ids as bare numbers when `numericTaskIds` is on. */
  private json(value: unknown): string {
    return numericIds(JSON.stringify(value), this.engine.options.numericTaskIds);
  }

  private write(res: ServerResponse, reply: HttpReply): void {
    if (res.destroyed) return;
    const body = reply instanceof BinaryReply ? reply.bytes : reply.body;
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

class BinaryReply extends HttpReply {
  constructor(
    readonly bytes: Buffer,
    contentType: string,
  ) {
    super(200, '', contentType);
  }
}

function envelope(status: number, value: { code: number; msg: string; data: unknown }, numericTaskIds = false): HttpReply {
  return new HttpReply(status, numericIds(JSON.stringify(value), numericTaskIds), 'application/json');
}

function numericIds(json: string, on: boolean): string {
  return on ? json.replace(/"taskId":"(\d+)"/g, '"taskId":$1') : json;
}

function faultReply(fault: Exclude<SimulatorFault, { kind: 'delay' } | { kind: 'drop' }>): HttpReply {
  switch (fault.kind) {
    case 'http':
      return new HttpReply(fault.status, `<html><head><title>${fault.status}</title></head><body><center><h1>${fault.status} simulated</h1></center><hr><center>nginx</center></body></html>`, 'text/html');
    case 'code':
      return envelope(200, { code: fault.code, msg: fault.msg ?? defaultMessage(fault.code), data: null });
    case 'malformed':
      return new HttpReply(200, '{"code":0,"msg":"success","data":{"taskId":', 'application/json');
  }
}

const MESSAGES: Record<number, string> = {
  301: 'PARAMS_INVALID',
  380: 'WORKFLOW_NOT_EXISTS',
  412: 'TOKEN_INVALID',
  415: 'TASK_INSTANCE_MAXED',
  416: 'TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET',
  421: 'TASK_QUEUE_MAXED',
  433: 'VALIDATE_PROMPT_FAILED',
  500: 'UNKNOWN_ERROR',
  801: 'APIKEY_UNSUPPORTED_FREE_USER',
  802: 'APIKEY_UNAUTHORIZED',
  803: 'APIKEY_INVALID_NODE_INFO',
  804: 'APIKEY_TASK_IS_RUNNING',
  805: 'APIKEY_TASK_STATUS_ERROR',
  807: 'APIKEY_TASK_NOT_FOUND',
  810: 'WORKFLOW_NOT_SAVED_OR_NOT_RUNNING',
  813: 'APIKEY_TASK_IS_QUEUED',
  814: 'PERSONAL_QUEUE_COUNT_LIMIT',
  901: 'WEBAPP_NOT_EXISTS',
  1003: 'Rate limit exceeded',
  1520: 'TASK_USER_CONCURRENT_LIMIT',
};

function defaultMessage(code: number): string {
  return MESSAGES[code] ?? 'SIMULATED_ERROR';
}

function endpointOf(method: string, path: string): SimulatorEndpoint | undefined {
  if (method === 'GET' && path.startsWith('/files/')) return 'files';
  if (method !== 'POST') return undefined;
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
    case '/task/openapi/getWebhookDetail':
      return 'webhookDetail';
    default:
      return undefined;
  }
}

/** The reference's order: body `apiKey`, body `apikey`, then `Authorization: Bearer`. */
function keyOf(body: Record<string, unknown>, authorization: string | undefined): string | undefined {
  for (const candidate of [body.apiKey, body.apikey]) if (typeof candidate === 'string' && candidate !== '') return candidate;
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return bearer?.[1]?.trim() || undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
