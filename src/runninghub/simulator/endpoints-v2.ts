// RunningHub's v2 endpoints as the simulator answers them (reference §0, §2.1, §4, §5.2): Bearer auth,
// flat task objects `{taskId, status, errorCode, errorMessage, results, usage, failedReason, …}`, errors
// as `{errorCode, errorMessage}` with HTTP 200. The same engine as v1: a task created through one
// generation can be followed through the other.
import { z } from 'zod';
import type { Logger } from '../../shared/logger.js';
import { parseJsonKeepingBigIntegers } from '../json.js';
import { failureMessageOf, type BusinessError, type SimTask, type SimulatorEngine } from './engine.js';
import { idInput, instanceTypeInput, keyOf, netWssUrlOf, nodeInfoInput } from './endpoints.js';
import { envelope, HttpReply, numericIds } from './http.js';
import type { SimulatorEndpoint } from './options.js';

export type V2Endpoint = Extract<SimulatorEndpoint, `v2${string}`>;

const runBody = z.looseObject({
  nodeInfoList: z.array(nodeInfoInput).optional(),
  webhookUrl: z.string().nullish(),
  instanceType: instanceTypeInput,
});
const queryBody = z.looseObject({ taskId: idInput });

const INVALID_PARAMS: BusinessError = { code: 1007, msg: 'invalid params' };
const NOT_FOUND: BusinessError = { code: 1004, msg: 'task not found or expired' };

export class RunningHubV2Endpoints {
  constructor(
    private readonly engine: SimulatorEngine,
    private readonly publicUrl: () => string,
    private readonly logger: Logger | undefined,
  ) {}

  api(endpoint: V2Endpoint, path: string, text: string, authorization: string | undefined): HttpReply {
    // v2 reads the key from the Authorization header only.
    const apiKey = keyOf({}, authorization);
    if (!apiKey) return this.error({ code: 1002, msg: 'invalid API key' });
    const keyError = this.engine.checkKey(apiKey);

    if (endpoint === 'v2QueueStatus') {
      if (keyError) return envelope(200, { code: keyError.code, msg: keyError.msg, data: null });
      const { queued, running } = this.engine.statusCountsOf(apiKey);
      return envelope(200, {
        code: 0,
        msg: 'success',
        data: {
          apiKeyType: this.engine.options.keys[apiKey]?.apiType ?? 'NORMAL',
          concurrentLimit: this.engine.options.reportedConcurrentLimit ?? this.engine.limitOf(apiKey),
          runningCount: String(running),
          queuedCount: String(queued),
          totalCurrentTasks: String(queued + running),
        },
      });
    }

    let raw: unknown;
    try {
      raw = text === '' ? {} : parseJsonKeepingBigIntegers(text);
    } catch {
      return this.error(INVALID_PARAMS);
    }
    if (endpoint === 'v2Query') {
      if (keyError) return this.error(keyError);
      const parsed = queryBody.safeParse(raw);
      if (!parsed.success) return this.error(INVALID_PARAMS);
      const task = this.engine.find(apiKey, parsed.data.taskId);
      return task ? this.reply(this.taskObject(task)) : this.error(NOT_FOUND);
    }

    const kind = endpoint === 'v2RunWorkflow' ? 'workflow' : 'app';
    const targetId = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    const parsed = runBody.safeParse(raw);
    if (!/^\d+$/.test(targetId) || !parsed.success) return this.error(INVALID_PARAMS);
    const result = this.engine.create({
      apiKey,
      kind,
      api: 'v2',
      targetId,
      instanceType: parsed.data.instanceType ?? null,
      nodeInfoList: parsed.data.nodeInfoList ?? [],
      webhookUrl: parsed.data.webhookUrl || null,
      // The path's id is part of what was asked for: the same body for two workflows is no duplicate.
      fingerprintSource: { ...(raw as Record<string, unknown>), [kind === 'workflow' ? 'workflowId' : 'webappId']: targetId },
    });
    if (!result.ok) return this.error(result.error);
    this.logger?.debug({ event: 'task.created', taskId: result.task.taskId, kind, targetId }, 'task created (v2)');
    return this.reply(this.taskObject(result.task));
  }

  /** The v2 query object of a task: the submit and query replies, and the webhook body of a v2 task. */
  taskObject(task: SimTask): Record<string, unknown> {
    const seconds = Math.max(0, Math.round(((task.endedAt ?? Date.now()) - (task.startedAt ?? task.createdAt)) / 1000));
    const failed = task.status === 'FAILED';
    const outputsToExecute = [...new Set(task.outputs.map((o) => o.nodeId))];
    return {
      taskId: task.taskId,
      status: task.status === 'CANCELLED' ? 'CANCEL' : task.status,
      errorCode: failed ? '805' : '',
      errorMessage: failed ? failureMessageOf(task) : '',
      failedReason: failed
        ? { node_id: '3', node_name: 'KSampler', exception_type: 'RuntimeError', exception_message: failureMessageOf(task), traceback: '[]' }
        : {},
      usage: {
        consumeMoney: null,
        consumeCoins: task.status === 'SUCCESS' ? String(task.coinsPerRun) : null,
        taskCostTime: String(task.status === 'SUCCESS' || failed ? seconds : 0),
        thirdPartyConsumeMoney: null,
      },
      results: task.status === 'SUCCESS' ? task.outputs.map((o) => ({ url: o.fileUrl, outputType: o.fileType, text: null })) : null,
      netWssUrl: task.status === 'RUNNING' ? netWssUrlOf(this.publicUrl(), task) : null,
      clientId: task.clientId,
      promptTips: JSON.stringify({ result: true, error: null, outputs_to_execute: outputsToExecute, node_errors: {} }),
    };
  }

  json(value: unknown): string {
    return numericIds(JSON.stringify(value), this.engine.options.numericTaskIds);
  }

  private reply(value: Record<string, unknown>): HttpReply {
    return new HttpReply(200, this.json(value), 'application/json');
  }

  /** v2's refusal: HTTP 200, `errorCode` as a string (the documented 421 form). */
  private error(error: BusinessError): HttpReply {
    return new HttpReply(200, JSON.stringify({ errorCode: String(error.code), errorMessage: error.msg }), 'application/json');
  }
}
