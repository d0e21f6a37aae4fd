import { createHash, randomBytes } from 'node:crypto';
import { realClock, type CancelTimer, type SimulatorClock } from './clock.js';
import type { SimulatorOptions, SimulatorTargetSpec } from './options.js';
import type { FolderWorkflow } from './workflows.js';
import type { SimulatorCounters } from './views.js';

export type { SimulatorCounters } from './views.js';

// The simulated RunningHub account state: keys, tasks and their state machine, counters. No HTTP here;
// server.ts translates requests into these calls and results into envelopes.

export type SimTaskStatus = 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLED';
/** FAILED_BALANCE: FAILED with the message RunningHub gives a task that ran out of coins (`[sim:fail-balance]`). */
export type PlannedOutcome = 'SUCCESS' | 'FAILED' | 'FAILED_BALANCE' | 'NO_OUTPUT';

/** The failure message of a task: RunningHub's words for an empty wallet (v2, reference §2.5), or ours. */
export function failureMessageOf(task: { planned: PlannedOutcome }): string {
  return task.planned === 'FAILED_BALANCE' ? 'Insufficient balance: not enough coins to run this task' : 'simulated failure';
}

export interface SimOutputFile {
  nodeId: string;
  fileType: string;
  fileName: string;
  fileUrl: string;
  /** How many times the file went out whole (the last byte handed to the socket). */
  servedInFull: number;
}

export interface SimWebhookAttempt {
  at: number;
  /** When the POST was handed to the operating system (epoch ms, sub-millisecond), if it got that far. */
  sentAt?: number;
  ok: boolean;
  /** HTTP status, or the transport error. */
  result: string;
  /** What getWebhookDetail shows as `callbackResponse`: the receiver's reply, or the error (reference §5.4). */
  response: string;
}

export interface SimTask {
  taskId: string;
  clientId: string;
  apiKey: string;
  kind: 'workflow' | 'app' | 'external';
  /** The API generation it was created through: its webhook has that generation's shape. */
  api: 'v1' | 'v2';
  instanceType: string | null;
  targetId: string | null;
  fingerprint: string | null;
  status: SimTaskStatus;
  planned: PlannedOutcome;
  /** Epoch ms. */
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  outputs: SimOutputFile[];
  coinsPerRun: number;
  webhookUrl: string | null;
  /** The webhook event's own id (getWebhookDetail `id`, retryWebhook `webhookId`); null without a webhookUrl. */
  webhookId: string | null;
  /** The TASK_END body, once there is one to send. */
  webhookBody: string | null;
  webhookAttempts: SimWebhookAttempt[];
  cancelTimer: CancelTimer | null;
}

export function emptyCounters(): SimulatorCounters {
  return {
    tasksCreated: 0,
    createsRefused421: 0,
    createsRefusedByCode: {},
    inFlight: 0,
    inFlightByKey: {},
    maxInFlight: 0,
    maxInFlightByKey: {},
    createsByFingerprint: {},
    duplicateCreates: 0,
    callsByEndpoint: {},
    tasksByStatus: { QUEUED: 0, RUNNING: 0, SUCCESS: 0, FAILED: 0, CANCELLED: 0 },
    cancels: 0,
    faultsInjected: 0,
    webhookAttempts: 0,
    webhooksDelivered: 0,
    webhooksAbandoned: 0,
  };
}

export interface BusinessError {
  code: number;
  msg: string;
}

export type CreateResult = { ok: true; task: SimTask } | { ok: false; error: BusinessError };

export interface CreateInput {
  apiKey: string;
  kind: 'workflow' | 'app';
  api: 'v1' | 'v2';
  targetId: string;
  /** As sent ("default", "plus"), or null when the create did not say. */
  instanceType: string | null;
  nodeInfoList: { nodeId: string; fieldName: string; fieldValue: unknown }[];
  webhookUrl: string | null;
  fingerprintSource: unknown;
}

const TERMINAL: ReadonlySet<SimTaskStatus> = new Set(['SUCCESS', 'FAILED', 'CANCELLED']);

export function isTerminal(status: SimTaskStatus): boolean {
  return TERMINAL.has(status);
}

/** Stable JSON (sorted keys), so the fingerprint does not depend on property order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprintOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 16);
}

export class SimulatorEngine {
  options: SimulatorOptions;
  counters: SimulatorCounters = emptyCounters();
  readonly tasks = new Map<string, SimTask>();
  private coins = new Map<string, number>();
  private lastId = 0n;
  private fileSeq = 0;
  /** Tasks waiting for a RUNNING slot when QUEUED tasks do not count toward the limit. */
  private waiting: SimTask[] = [];
  /** Terminal tasks still in `tasks`. */
  private finishedCount = 0;

  constructor(
    options: SimulatorOptions,
    private readonly hooks: { publicUrl: () => string; onTerminal: (task: SimTask) => void },
    readonly clock: SimulatorClock = realClock,
    /** Workflows of `workflowsDir`, read at start; `options.workflows` wins for the same id. */
    readonly folderWorkflows: ReadonlyMap<string, FolderWorkflow> = new Map(),
  ) {
    this.options = options;
  }

  /**
   * Snowflake-like: milliseconds shifted left by 20 bits, plus a sequence from 1: 19 digits, increasing. From 1,
   * not 0: an id whose low 8 bits are zero is exactly a double, and then a client that parses a numeric id as a
   * JSON number would get it right by chance (the numericTaskIds test needs an id that plain JSON.parse rounds;
   * a millisecond's first 255 ids are such ids).
   */
  private nextTaskId(): string {
    const candidate = (BigInt(Date.now()) << 20n) | 1n;
    this.lastId = candidate > this.lastId ? candidate : this.lastId + 1n;
    return this.lastId.toString();
  }

  limitOf(apiKey: string): number {
    return this.options.keys[apiKey]?.concurrency ?? this.options.concurrency;
  }

  coinsOf(apiKey: string): number {
    return this.coins.get(apiKey) ?? this.options.keys[apiKey]?.remainCoins ?? this.options.remainCoins;
  }

  /** Set a key's wallet (the control route /__sim/balance): 0 makes creates answer 416 until topped up. */
  setCoins(apiKey: string, coins: number): void {
    this.coins.set(apiKey, coins);
  }

  /** QUEUED and RUNNING tasks of a key, for v2's queue/status. */
  statusCountsOf(apiKey: string): { queued: number; running: number } {
    let queued = 0;
    let running = 0;
    for (const task of this.tasks.values()) {
      if (task.apiKey !== apiKey) continue;
      if (task.status === 'QUEUED') queued++;
      else if (task.status === 'RUNNING') running++;
    }
    return { queued, running };
  }

  inFlightOf(apiKey: string): number {
    return this.counters.inFlightByKey[apiKey] ?? 0;
  }

  private runningOf(apiKey: string): number {
    let n = 0;
    for (const task of this.tasks.values()) if (task.apiKey === apiKey && task.status === 'RUNNING') n++;
    return n;
  }

  /** 802 / 801 for a key, or null when it may use the API. */
  checkKey(apiKey: string): BusinessError | null {
    const config = this.options.keys[apiKey];
    if (!config && !this.options.acceptAnyKey) return { code: 802, msg: 'APIKEY_UNAUTHORIZED' };
    if (config?.free) return { code: 801, msg: 'APIKEY_UNSUPPORTED_FREE_USER' };
    return null;
  }

  spec(kind: 'workflow' | 'app', targetId: string): SimulatorTargetSpec | undefined {
    if (kind === 'app') return this.options.webapps[targetId];
    return this.options.workflows[targetId] ?? this.folderWorkflows.get(targetId)?.spec;
  }

  /** The reference's validation order: auth, params (done by the caller), target, nodes, balance, concurrency. */
  create(input: CreateInput): CreateResult {
    const refuse = (error: BusinessError): CreateResult => {
      if (error.code === 421) this.counters.createsRefused421++;
      else this.counters.createsRefusedByCode[String(error.code)] = (this.counters.createsRefusedByCode[String(error.code)] ?? 0) + 1;
      return { ok: false, error };
    };
    const keyError = this.checkKey(input.apiKey);
    if (keyError) return refuse(keyError);

    const spec = this.spec(input.kind, input.targetId);
    if (this.options.strict) {
      if (!spec) return refuse(input.kind === 'workflow' ? { code: 380, msg: 'WORKFLOW_NOT_EXISTS' } : { code: 901, msg: 'WEBAPP_NOT_EXISTS' });
      for (const node of input.nodeInfoList) {
        const fields = spec.nodes[node.nodeId];
        if (!fields || !fields.includes(node.fieldName) || typeof node.fieldValue !== 'string') {
          return refuse({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO' });
        }
      }
    }
    if (this.coinsOf(input.apiKey) <= 0) return refuse({ code: 416, msg: 'TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET' });
    if (this.options.countQueuedTowardLimit && this.inFlightOf(input.apiKey) >= this.limitOf(input.apiKey)) {
      return refuse({ code: 421, msg: 'TASK_QUEUE_MAXED' });
    }

    const fingerprint = fingerprintOf(input.fingerprintSource);
    const seen = this.counters.createsByFingerprint[fingerprint] ?? 0;
    this.counters.createsByFingerprint[fingerprint] = seen + 1;
    if (seen > 0) this.counters.duplicateCreates++;
    this.counters.tasksCreated++;

    const task = this.addTask({
      apiKey: input.apiKey,
      kind: input.kind,
      api: input.api,
      instanceType: input.instanceType,
      targetId: input.targetId,
      fingerprint,
      planned: this.planOutcome(input.nodeInfoList),
      coinsPerRun: spec?.coinsPerRun ?? this.options.coinsPerRun,
      webhookUrl: input.webhookUrl,
      outputSpecs: spec?.outputs ?? this.options.defaultOutputs,
    });
    const queuedFor = randomIn(this.options.queuedMs);
    // No time in the queue: RUNNING at once, so the create reply already says RUNNING with its
    // netWssUrl, as the docs' second create example shows.
    if (queuedFor === 0) this.promote(task);
    else this.schedule(task, queuedFor, () => this.promote(task));
    return { ok: true, task };
  }

  /** Tasks started "elsewhere" (the web UI): they hold slots until released or `durationMs` passes. */
  occupy(apiKey: string, n: number, durationMs: number | null): SimTask[] {
    const created: SimTask[] = [];
    for (let i = 0; i < n; i++) {
      const task = this.addTask({
        apiKey,
        kind: 'external',
        api: 'v1',
        instanceType: null,
        targetId: null,
        fingerprint: null,
        planned: 'SUCCESS',
        coinsPerRun: 0,
        webhookUrl: null,
        outputSpecs: this.options.defaultOutputs,
      });
      this.setStatus(task, 'RUNNING');
      task.startedAt = this.clock.now();
      if (durationMs !== null) this.schedule(task, durationMs, () => this.finish(task));
      created.push(task);
    }
    return created;
  }

  /** End external tasks of a key (or of all keys) as SUCCESS. */
  release(apiKey: string | null): number {
    let n = 0;
    for (const task of this.tasks.values()) {
      if (task.kind === 'external' && !isTerminal(task.status) && (apiKey === null || task.apiKey === apiKey)) {
        this.finish(task);
        n++;
      }
    }
    return n;
  }

  private addTask(init: {
    apiKey: string;
    kind: SimTask['kind'];
    api: SimTask['api'];
    instanceType: string | null;
    targetId: string | null;
    fingerprint: string | null;
    planned: PlannedOutcome;
    coinsPerRun: number;
    webhookUrl: string | null;
    outputSpecs: { nodeId: string; fileType: string; count: number }[];
  }): SimTask {
    const taskId = this.nextTaskId();
    const epoch = Math.floor(Date.now() / 1000);
    const outputs: SimOutputFile[] = [];
    if (init.planned === 'SUCCESS') {
      for (const spec of init.outputSpecs) {
        for (let i = 0; i < spec.count; i++) {
          this.fileSeq = (this.fileSeq % 99_999) + 1;
          const fileName = `ComfyUI_${String(this.fileSeq).padStart(5, '0')}_${randomBytes(3).toString('hex').slice(0, 5)}_${epoch}.${spec.fileType}`;
          outputs.push({ nodeId: spec.nodeId, fileType: spec.fileType, fileName, fileUrl: `${this.hooks.publicUrl()}/files/${taskId}/${fileName}`, servedInFull: 0 });
        }
      }
    }
    const task: SimTask = {
      taskId,
      clientId: randomBytes(16).toString('hex'),
      apiKey: init.apiKey,
      kind: init.kind,
      api: init.api,
      instanceType: init.instanceType,
      targetId: init.targetId,
      fingerprint: init.fingerprint,
      status: 'QUEUED',
      planned: init.planned,
      createdAt: this.clock.now(),
      startedAt: null,
      endedAt: null,
      outputs,
      coinsPerRun: init.coinsPerRun,
      webhookUrl: init.webhookUrl,
      webhookId: init.webhookUrl ? this.nextTaskId() : null,
      webhookBody: null,
      webhookAttempts: [],
      cancelTimer: null,
    };
    this.tasks.set(taskId, task);
    this.forgetOldTasks();
    this.counters.tasksByStatus.QUEUED++;
    const inFlight = this.inFlightOf(init.apiKey) + 1;
    this.counters.inFlightByKey[init.apiKey] = inFlight;
    this.counters.inFlight++;
    if (inFlight > (this.counters.maxInFlightByKey[init.apiKey] ?? 0)) this.counters.maxInFlightByKey[init.apiKey] = inFlight;
    if (inFlight > this.counters.maxInFlight) this.counters.maxInFlight = inFlight;
    return task;
  }

  /** Drop the oldest finished tasks beyond `maxFinishedTasks` (a Map iterates in insertion order). */
  private forgetOldTasks(): void {
    const excess = this.finishedCount - this.options.maxFinishedTasks;
    if (excess <= 0) return;
    let dropped = 0;
    for (const [taskId, task] of this.tasks) {
      if (dropped >= excess) break;
      if (isTerminal(task.status)) {
        this.tasks.delete(taskId);
        dropped++;
      }
    }
    this.finishedCount -= dropped;
  }

  private planOutcome(nodes: CreateInput['nodeInfoList']): PlannedOutcome {
    // Markers in a field value make one task's fate independent of creation order.
    for (const node of nodes) {
      if (typeof node.fieldValue !== 'string') continue;
      if (node.fieldValue.includes('[sim:fail]')) return 'FAILED';
      if (node.fieldValue.includes('[sim:fail-balance]')) return 'FAILED_BALANCE';
      if (node.fieldValue.includes('[sim:no-output]')) return 'NO_OUTPUT';
    }
    const forced = this.options.nextOutcomes.shift();
    if (forced) return forced;
    return Math.random() < this.options.failureRate ? 'FAILED' : 'SUCCESS';
  }

  private schedule(task: SimTask, ms: number, then: () => void): void {
    task.cancelTimer?.();
    task.cancelTimer = this.clock.after(ms, () => {
      task.cancelTimer = null;
      then();
    });
  }

  private setStatus(task: SimTask, status: SimTaskStatus): void {
    this.counters.tasksByStatus[task.status]--;
    this.counters.tasksByStatus[status]++;
    const wasInFlight = !isTerminal(task.status);
    task.status = status;
    if (wasInFlight && isTerminal(status)) {
      this.finishedCount++;
      this.counters.inFlightByKey[task.apiKey] = this.inFlightOf(task.apiKey) - 1;
      this.counters.inFlight--;
    }
  }

  /** QUEUED → RUNNING, unless (with QUEUED not counted toward the limit) no slot is free. */
  private promote(task: SimTask): void {
    if (task.status !== 'QUEUED') return;
    if (!this.options.countQueuedTowardLimit && this.runningOf(task.apiKey) >= this.limitOf(task.apiKey)) {
      this.waiting.push(task);
      return;
    }
    this.setStatus(task, 'RUNNING');
    task.startedAt = this.clock.now();
    this.schedule(task, randomIn(this.options.runningMs), () => this.finish(task));
  }

  private finish(task: SimTask): void {
    if (isTerminal(task.status)) return;
    if (task.planned === 'FAILED' || task.planned === 'FAILED_BALANCE') {
      this.setStatus(task, 'FAILED');
    } else {
      this.setStatus(task, 'SUCCESS');
      this.coins.set(task.apiKey, this.coinsOf(task.apiKey) - task.coinsPerRun);
    }
    task.endedAt = this.clock.now();
    this.freeSlot(task.apiKey);
    this.hooks.onTerminal(task);
  }

  private freeSlot(apiKey: string): void {
    const next = this.waiting.findIndex((t) => t.apiKey === apiKey && t.status === 'QUEUED');
    if (next >= 0) {
      const [task] = this.waiting.splice(next, 1);
      if (task) this.promote(task);
    }
    this.waiting = this.waiting.filter((t) => t.status === 'QUEUED');
  }

  /** Cancel a task of this key: false if there is no such task. Finished tasks stay as they are. */
  cancel(apiKey: string, taskId: string): boolean {
    const task = this.tasks.get(taskId);
    if (!task || task.apiKey !== apiKey) return false;
    if (!isTerminal(task.status)) {
      task.cancelTimer?.();
      task.cancelTimer = null;
      this.setStatus(task, 'CANCELLED');
      task.endedAt = this.clock.now();
      this.counters.cancels++;
      this.freeSlot(task.apiKey);
    }
    return true;
  }

  /** The task of this key whose webhook event has this id (retryWebhook). */
  findByWebhookId(apiKey: string, webhookId: string): SimTask | undefined {
    for (const task of this.tasks.values()) if (task.webhookId === webhookId && task.apiKey === apiKey) return task;
    return undefined;
  }

  /** The task if it belongs to this key. */
  find(apiKey: string, taskId: string): SimTask | undefined {
    const task = this.tasks.get(taskId);
    return task && task.apiKey === apiKey ? task : undefined;
  }

  count(endpoint: string): void {
    this.counters.callsByEndpoint[endpoint] = (this.counters.callsByEndpoint[endpoint] ?? 0) + 1;
  }

  /** Forget every task and counter (options stay). */
  reset(): void {
    this.stopTimers();
    this.tasks.clear();
    this.coins.clear();
    this.waiting = [];
    this.finishedCount = 0;
    this.counters = emptyCounters();
  }

  stopTimers(): void {
    for (const task of this.tasks.values()) {
      task.cancelTimer?.();
      task.cancelTimer = null;
    }
  }
}

function randomIn([min, max]: readonly [number, number]): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
