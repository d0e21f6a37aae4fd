// The v2 generation and `auto` against the simulator over real HTTP: the same values as v1 come out,
// whichever generation the client speaks; v2's flat errors, statuses and webhook body are read.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunningHubError, createRunningHubClient, parseWebhookEvent, type RunningHubClient, type TaskOutcome } from '../../src/runninghub/index.js';
import { LENIENT_SIMULATOR, startSimulator, type RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { AUTO_V1_FOR_MS, createAutoClient } from '../../src/runninghub/client-v2.js';

const API_KEY = 'sk-v2-test-0123456789abcdef012345';
const WORKFLOW = '1904136902449209346';

let simulator: RunningSimulator;
let v2: RunningHubClient;

beforeAll(async () => {
  simulator = await startSimulator({ keys: { [API_KEY]: {} }, queuedMs: [10, 20], runningMs: [30, 60] });
  v2 = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 10_000, api: 'v2' });
});
afterAll(async () => {
  await simulator.stop();
});
afterEach(() => {
  simulator.reset();
  simulator.setOptions({ faults: {}, queuedMs: [10, 20], runningMs: [30, 60], concurrency: 3, nextOutcomes: [] });
});

async function finalOutcome(client: RunningHubClient, taskId: string): Promise<TaskOutcome> {
  return waitFor(`task ${taskId} to end`, async () => {
    const outcome = await client.getOutputs(taskId);
    return outcome.status === 'SUCCESS' || outcome.status === 'FAILED' ? outcome : undefined;
  });
}

async function rejection(promise: Promise<unknown>): Promise<RunningHubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RunningHubError)) throw new Error(`expected a RunningHubError, got ${String(error)}`);
  return error;
}

describe('RunningHub v2 client', () => {
  it('submits to /openapi/v2/run/workflow/{id} and follows the task with /openapi/v2/query to SUCCESS', async () => {
    const created = await v2.createTask({ workflowId: WORKFLOW, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a cat' }], instanceType: 'plus' });
    expect(created.taskId).toMatch(/^\d{19}$/);
    expect(created.taskStatus).toBe('QUEUED');
    const outcome = await finalOutcome(v2, created.taskId);
    if (outcome.status !== 'SUCCESS') throw new Error(`expected SUCCESS, got ${outcome.status}`);
    expect(outcome.outputs).toHaveLength(1);
    expect(outcome.outputs[0]?.fileUrl.startsWith(`${simulator.url}/files/${created.taskId}/`)).toBe(true);
    expect(outcome.outputs[0]?.fileType).toBe('png');
    expect(await v2.getStatus(created.taskId)).toBe('SUCCESS');
    const counters = simulator.counters();
    expect(counters.callsByEndpoint.v2RunWorkflow).toBe(1);
    expect(counters.callsByEndpoint.v2Query ?? 0).toBeGreaterThanOrEqual(2);
    expect(counters.callsByEndpoint.create ?? 0).toBe(0);
    expect(counters.callsByEndpoint.outputs ?? 0).toBe(0);
    expect(simulator.tasks()[0]).toMatchObject({ api: 'v2', kind: 'workflow', targetId: WORKFLOW, instanceType: 'plus' });
  });

  it('runs an AI app through /openapi/v2/run/ai-app/{id}, reporting QUEUED and RUNNING with a netWssUrl', async () => {
    const manual = await startSimulator({ ...LENIENT_SIMULATOR, manualClock: true, queuedMs: [1000, 1000], runningMs: [1000, 1000] });
    try {
      const client = createRunningHubClient({ baseUrl: manual.url, apiKey: API_KEY, api: 'v2' });
      const created = await client.createTask({ webappId: '1877265245566922753', nodeInfoList: [{ nodeId: '122', fieldName: 'prompt', fieldValue: 'x' }] });
      expect(await client.getOutputs(created.taskId)).toEqual({ status: 'QUEUED' });
      manual.advance(1000);
      const running = await client.getOutputs(created.taskId);
      if (running.status !== 'RUNNING') throw new Error(`expected RUNNING, got ${running.status}`);
      expect(new URL(running.netWssUrl ?? '').pathname).toBe('/ws/c_instance');
      manual.advance(1000);
      expect((await client.getOutputs(created.taskId)).status).toBe('SUCCESS');
      expect(manual.tasks()[0]).toMatchObject({ kind: 'app', api: 'v2', targetId: '1877265245566922753' });
    } finally {
      await manual.stop();
    }
  });

  it('reports a failed task with its code and failedReason, and a cancelled one as CANCELLED', async () => {
    simulator.setOptions({ nextOutcomes: ['FAILED'] });
    const failed = await v2.createTask({ workflowId: WORKFLOW });
    const outcome = await finalOutcome(v2, failed.taskId);
    if (outcome.status !== 'FAILED') throw new Error(`expected FAILED, got ${outcome.status}`);
    expect(outcome.error.code).toBe('805');
    expect(outcome.error.failedReason?.exceptionMessage).toBe('simulated failure');

    simulator.setOptions({ runningMs: [60_000, 60_000] });
    const long = await v2.createTask({ workflowId: WORKFLOW });
    await v2.cancelTask(long.taskId);
    const cancelled = await v2.getOutputs(long.taskId);
    expect(cancelled).toMatchObject({ status: 'FAILED', error: { code: 'CANCELLED' } });
  });

  it("reads v2's flat refusals: 421 is capacity, 1004 is v1's 807 (lost), a wallet message is a balance refusal", async () => {
    simulator.setOptions({ concurrency: 1, runningMs: [60_000, 60_000] });
    await v2.createTask({ workflowId: WORKFLOW });
    const full = await rejection(v2.createTask({ workflowId: WORKFLOW }));
    expect(full).toMatchObject({ code: '421', capacity: true, kind: 'retryable' });

    const lost = await rejection(v2.getOutputs('1910246754753896450'));
    expect(lost.code).toBe('807');
    expect(lost.remoteMessage).toMatch(/1004/);

    simulator.setOptions({ faults: { v2RunWorkflow: { kind: 'code', code: 1015, msg: 'insufficient balance, please recharge | 余额不足' } } });
    const broke = await rejection(v2.createTask({ workflowId: WORKFLOW }));
    expect(broke).toMatchObject({ code: '1015', balance: true, capacity: false });
  });

  it('a v2 body that is not a task object is MALFORMED_REPLY; an HTML 502 is retryable', async () => {
    simulator.setOptions({ faults: { v2Query: { kind: 'malformed', times: 1 }, v2RunWorkflow: { kind: 'http', status: 502, times: 1 } } });
    expect(await rejection(v2.getOutputs('1910246754753896450'))).toMatchObject({ code: 'MALFORMED_REPLY', kind: 'retryable' });
    expect(await rejection(v2.createTask({ workflowId: WORKFLOW }))).toMatchObject({ code: 'HTTP_502', kind: 'retryable' });
  });

  it('GET /openapi/v2/queue/status reports the limit and the counts, with Bearer auth', async () => {
    simulator.setOptions({ runningMs: [60_000, 60_000], queuedMs: [0, 0] });
    const created = await v2.createTask({ workflowId: WORKFLOW });
    await waitFor('RUNNING', async () => ((await v2.getStatus(created.taskId)) === 'RUNNING' ? true : undefined));
    const reply = await fetch(`${simulator.url}/openapi/v2/queue/status`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(await reply.json()).toEqual({
      code: 0,
      msg: 'success',
      data: { apiKeyType: 'NORMAL', concurrentLimit: 3, runningCount: '1', queuedCount: '0', totalCurrentTasks: '1' },
    });
    const anonymous = await fetch(`${simulator.url}/openapi/v2/query`, { method: 'POST', body: JSON.stringify({ taskId: created.taskId }) });
    expect(await anonymous.json()).toEqual({ errorCode: '1002', errorMessage: 'invalid API key' });
  });

  it("delivers a v2 task's webhook as the v2 task object, which parseWebhookEvent reads", async () => {
    const bodies: string[] = [];
    const receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        bodies.push(text);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const created = await v2.createTask({ workflowId: WORKFLOW, webhookUrl: url });
      const body = await waitFor('the webhook', () => bodies[0]);
      expect(JSON.parse(body)).toMatchObject({ taskId: created.taskId, status: 'SUCCESS' });
      const event = parseWebhookEvent(body);
      expect(event.taskId).toBe(created.taskId);
      expect(event.outcome.status).toBe('SUCCESS');
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

describe('RUNNINGHUB_API=auto', () => {
  it('speaks v2, and falls back to v1 for an operation whose v2 path answers 404, remembering it', async () => {
    const auto = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, api: 'auto' });
    const first = await auto.createTask({ workflowId: WORKFLOW });
    expect(simulator.counters().callsByEndpoint.v2RunWorkflow).toBe(1);

    simulator.setOptions({ faults: { v2RunWorkflow: { kind: 'http', status: 404 } } });
    const second = await auto.createTask({ workflowId: WORKFLOW });
    const third = await auto.createTask({ workflowId: WORKFLOW });
    const counters = simulator.counters();
    // The 404 was seen once; from then on creates go to v1 directly.
    expect(counters.callsByEndpoint.v2RunWorkflow).toBe(2);
    expect(counters.callsByEndpoint.create).toBe(2);
    expect(simulator.tasks().map((t) => t.api)).toEqual(['v2', 'v1', 'v1']);
    // Following still speaks v2 (its query path is there), for tasks of either generation.
    for (const task of [first, second, third]) expect((await finalOutcome(auto, task.taskId)).status).toBe('SUCCESS');
    expect(simulator.counters().callsByEndpoint.outputs ?? 0).toBe(0);
  });

  it('asks v2 again once the fallback has lasted AUTO_V1_FOR_MS (a 404 may be a gateway passing by)', async () => {
    const clock = { now: () => 1_000_000 };
    const auto = createAutoClient(
      createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, api: 'v2' }),
      createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, api: 'v1' }),
      undefined,
      clock,
    );
    simulator.setOptions({ faults: { v2RunWorkflow: { kind: 'http', status: 404, times: 1 } } });
    await auto.createTask({ workflowId: WORKFLOW });
    await auto.createTask({ workflowId: WORKFLOW });
    expect(simulator.tasks().map((t) => t.api)).toEqual(['v1', 'v1']);
    // The gateway's 404 is long gone: after the fallback's time, creates are v2's again.
    clock.now = () => 1_000_000 + AUTO_V1_FOR_MS + 1;
    await auto.createTask({ workflowId: WORKFLOW });
    expect(simulator.tasks().map((t) => t.api)).toEqual(['v1', 'v1', 'v2']);
    expect(simulator.counters().callsByEndpoint.v2RunWorkflow).toBe(2);
  });

  it('does not fall back on a v2 answer that is not "missing" (421 stays 421)', async () => {
    const auto = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, api: 'auto' });
    simulator.setOptions({ faults: { v2RunWorkflow: { kind: 'code', code: 421, times: 1 } } });
    expect(await rejection(auto.createTask({ workflowId: WORKFLOW }))).toMatchObject({ code: '421', capacity: true });
    expect(simulator.counters().callsByEndpoint.create ?? 0).toBe(0);
  });
});

describe('envelopes without data', () => {
  let server: Server;
  let url: string;
  const replies: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(replies.shift() ?? '{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads {"code":813,"msg":…} and {"code":804,…} as the task in progress, and only a non-envelope as malformed', async () => {
    const client = createRunningHubClient({ baseUrl: url, apiKey: API_KEY });
    replies.push('{"code":813,"msg":"APIKEY_TASK_IS_QUEUED"}', '{"code":804,"msg":"APIKEY_TASK_IS_RUNNING"}', '{"code":421,"msg":"TASK_QUEUE_MAXED"}', '{"msg":"no code"}');
    expect(await client.getOutputs('1')).toEqual({ status: 'QUEUED' });
    expect(await client.getOutputs('1')).toEqual({ status: 'RUNNING', netWssUrl: null });
    expect(await rejection(client.createTask({ workflowId: WORKFLOW }))).toMatchObject({ code: '421', capacity: true });
    expect(await rejection(client.getOutputs('1'))).toMatchObject({ code: 'MALFORMED_REPLY' });
  });
});
