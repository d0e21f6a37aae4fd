// HTTP face of the simulator: one server for RunningHub's v1 endpoints (endpoints.ts), the
// /__sim/* control routes (control-routes.ts) and the faults injected into the endpoints (faults.ts).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { ManualClock, realClock } from './clock.js';
import { controlRoute } from './control-routes.js';
import { endpointOf, RunningHubEndpoints } from './endpoints.js';
import { RunningHubV2Endpoints, type V2Endpoint } from './endpoints-v2.js';
import { SimulatorEngine, isTerminal, type SimTask, type SimulatorCounters } from './engine.js';
import { FaultInjector } from './faults.js';
import { BinaryReply, envelope, HttpReply, PartsReply, readBody, readRawBody, writeReply } from './http.js';
import { RUNNINGHUB_UPLOAD_MAX_BYTES, SimulatorUploads } from './uploads.js';
import { simulatorOptionsSchema, type SimulatorEndpoint, type SimulatorOptions } from './options.js';
import type { ServedOutput, SimulatorTaskView as TaskView } from './views.js';
import { WebhookSender } from './webhooks.js';
import type { FolderWorkflow } from './workflows.js';

export class SimulatorServer {
  readonly engine: SimulatorEngine;
  private readonly server: Server;
  private readonly webhooks: WebhookSender;
  private readonly endpoints: RunningHubEndpoints;
  private readonly endpointsV2: RunningHubV2Endpoints;
  private readonly faults: FaultInjector;
  readonly uploads = new SimulatorUploads();
  private port = 0;
  private readonly manualClock: ManualClock | undefined;

  constructor(
    options: SimulatorOptions,
    private readonly logger: Logger | undefined,
    folderWorkflows: ReadonlyMap<string, FolderWorkflow> = new Map(),
  ) {
    this.manualClock = options.manualClock ? new ManualClock() : undefined;
    this.engine = new SimulatorEngine(
      options,
      {
        publicUrl: () => this.publicUrl(),
        onTerminal: (task) => this.onTerminal(task),
      },
      this.manualClock ?? realClock,
      folderWorkflows,
    );
    this.webhooks = new WebhookSender(
      () => this.engine.options.webhook,
      () => this.engine.counters,
      logger,
    );
    this.endpoints = new RunningHubEndpoints(this.engine, () => this.publicUrl(), logger, this.uploads, (task, url) => {
      if (task.webhookBody !== null) this.webhooks.resend(task, task.webhookBody, url);
    });
    this.endpointsV2 = new RunningHubV2Endpoints(this.engine, () => this.publicUrl(), logger);
    this.faults = new FaultInjector(
      () => this.engine.options,
      () => this.engine.counters,
    );
    this.server = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.logger?.error({ event: 'simulator.error', err: error }, 'request handler failed');
        if (!res.headersSent) writeReply(res, new HttpReply(500, JSON.stringify({ code: 500, msg: 'UNKNOWN_ERROR', data: null }), 'application/json'));
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
    this.faults.stop();
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
    this.endpoints.reset();
    this.uploads.reset();
  }

  /** What the simulator serves at an output's fileUrl (its SHA-256 and size) and how often it went out whole. */
  servedOutput(fileUrl: string): ServedOutput | undefined {
    const path = new URL(fileUrl, this.publicUrl()).pathname;
    const output = this.endpoints.outputAt(path);
    const reply = output ? this.endpoints.file(path) : undefined;
    if (!output || !reply) return undefined;
    const parts = reply instanceof PartsReply ? reply.parts : [reply instanceof BinaryReply ? reply.bytes : Buffer.from(reply.body)];
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return { sha256: hash.digest('hex'), size: parts.reduce((sum, part) => sum + part.length, 0), servedInFull: output.servedInFull };
  }

  counters(): SimulatorCounters {
    return structuredClone(this.engine.counters);
  }

  tasks(): TaskView[] {
    return [...this.engine.tasks.values()].map((t) => ({
      taskId: t.taskId,
      kind: t.kind,
      api: t.api,
      instanceType: t.instanceType,
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
      writeReply(res, await controlRoute(this, req, path));
      return;
    }
    const endpoint = endpointOf(req.method ?? 'GET', path);
    this.engine.count(endpoint ?? 'unknown');
    if (!endpoint) {
      await readBody(req).catch(() => undefined);
      writeReply(res, envelope(404, { code: 412, msg: 'TOKEN_INVALID', data: null }));
      return;
    }

    const fault = this.faults.take(endpoint);
    if (await this.faults.instead(fault, req, res, isV2(endpoint))) return;

    let reply: HttpReply;
    if (endpoint === 'files') {
      reply = this.endpoints.file(path);
      const output = this.endpoints.outputAt(path);
      if (output) res.once('finish', () => output.servedInFull++);
    } else if (endpoint === 'upload' || endpoint === 'uploadV2') {
      let body: Buffer;
      try {
        body = await readRawBody(req, RUNNINGHUB_UPLOAD_MAX_BYTES + 64 * 1024);
      } catch {
        writeReply(res, envelope(200, { code: 809, msg: 'APIKEY_FILE_SIZE_EXCEEDED', data: null }));
        return;
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
      reply = this.uploads.handle(this.engine, endpoint === 'upload' ? 'v1' : 'v2', body, req.headers['content-type'], bearer, this.publicUrl());
    } else {
      let text: string;
      try {
        text = await readBody(req);
        // apiCallDemo is a GET with the key and the app in the query: read them as the body.
        if (endpoint === 'apiCallDemo') text = JSON.stringify(Object.fromEntries(url.searchParams));
      } catch {
        writeReply(res, envelope(200, { code: 301, msg: 'PARAMS_INVALID', data: null }));
        return;
      }
      reply = isV2(endpoint)
        ? this.endpointsV2.api(endpoint, path, text, req.headers.authorization)
        : this.endpoints.api(endpoint, text, req.headers.authorization);
    }
    this.faults.deliver(fault, req, res, reply);
  }

  private onTerminal(task: SimTask): void {
    this.logger?.debug({ event: 'task.finished', taskId: task.taskId, status: task.status }, 'task finished');
    if (!task.webhookUrl || !isTerminal(task.status) || task.status === 'CANCELLED') return;
    // A v2-submitted task's webhook is the v2 query object (reference §5.4), a v1 task's the TASK_END event.
    task.webhookBody =
      task.api === 'v2'
        ? this.endpointsV2.json(this.endpointsV2.taskObject(task))
        : this.endpoints.json({
            event: 'TASK_END',
            taskId: task.taskId,
            eventData: JSON.stringify(this.endpoints.outputsEnvelope(task, 'webhook')),
          });
    this.webhooks.send(task, task.webhookBody);
  }
}

function isV2(endpoint: SimulatorEndpoint): endpoint is V2Endpoint {
  return endpoint.startsWith('v2');
}
