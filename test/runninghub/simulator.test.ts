import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunningHubClient, parseWebhookEvent } from '../../src/runninghub/index.js';
import { LENIENT_SIMULATOR, startSimulator, type RunningSimulator, type SimulatorCounters } from '../../src/runninghub/simulator/index.js';
import { waitFor } from '../support/wait.js';

const KEY = 'sim-test-key';

let simulator: RunningSimulator;

beforeAll(async () => {
  // Lenient: these tests use arbitrary keys and workflow ids (strict mode has its own tests).
  simulator = await startSimulator({ ...LENIENT_SIMULATOR, queuedMs: [5, 10], runningMs: [20, 40], webhook: { backoffMs: [50, 100], timeoutMs: 1000 } });
});
afterAll(async () => {
  await simulator.stop();
});
afterEach(() => {
  simulator.reset();
  simulator.setOptions({
    faults: {},
    queuedMs: [5, 10],
    runningMs: [20, 40],
    countQueuedTowardLimit: true,
    concurrency: 3,
    failureRate: 0,
    acceptAnyKey: true,
    keys: {},
    runningOutputsDataMode: 'null',
    webhook: { maxRetries: 3, timeoutMs: 1000, backoffMs: [50, 100] },
  });
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${simulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** A webhook receiver that answers 500 to the first `failFirst` deliveries. */
async function startReceiver(failFirst: number): Promise<{ url: string; bodies: string[]; statuses: number[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const statuses: number[] = [];
  let calls = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      const status = calls <= failFirst ? 500 : 200;
      bodies.push(Buffer.concat(chunks).toString());
      statuses.push(status);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    statuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('simulator', () => {
  it('delivers the TASK_END webhook, retrying after a failed delivery', async () => {
    const receiver = await startReceiver(1);
    try {
      const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
      const created = await client.createTask({ workflowId: '1', webhookUrl: receiver.url });
      // The simulator records an attempt once it has the reply, just after the receiver saw it.
      await waitFor('a successful delivery', () => simulator.counters().webhooksDelivered === 1);
      expect(receiver.statuses).toEqual([500, 200]);
      // Both attempts carried the same event.
      expect(receiver.bodies[0]).toBe(receiver.bodies[1]);
      const event = parseWebhookEvent(receiver.bodies[1]!);
      expect(event.event).toBe('TASK_END');
      expect(event.taskId).toBe(created.taskId);
      expect(event.outcome.status).toBe('SUCCESS');
      if (event.outcome.status === 'SUCCESS') {
        expect(event.outcome.outputs).toHaveLength(1);
        expect(typeof event.outcome.outputs[0]?.taskCostTime).toBe('number');
      }
      const task = simulator.tasks().find((t) => t.taskId === created.taskId);
      expect(task?.webhookAttempts.map((a) => a.ok)).toEqual([false, true]);
      // Each POST's send is recorded (bench:processor's slot timeline starts our part there), never after its reply.
      for (const attempt of task?.webhookAttempts ?? []) expect(attempt.sentAt).toBeLessThanOrEqual(attempt.at + 1);
      expect(simulator.counters()).toMatchObject({ webhookAttempts: 2, webhooksDelivered: 1, webhooksAbandoned: 0 });
      // The docs' record: the event's own id, eventData as the event's eventData string, the receiver's
      // reply, times to the second without a zone.
      const detail = await post('/task/openapi/getWebhookDetail', { apiKey: KEY, taskId: created.taskId });
      const { eventData } = JSON.parse(receiver.bodies[1]!) as { eventData: string };
      expect(detail.json).toMatchObject({
        code: 0,
        data: { taskId: created.taskId, webhookUrl: receiver.url, callbackStatus: 'SUCCESS', callbackResponse: '', retryCount: 1, eventData, userApiKey: '*'.repeat(18) },
      });
      const data = (detail.json as { data: { id: string; createTime: string; updateTime: string } }).data;
      expect(data.id).toMatch(/^\d{19}$/);
      expect(data.id).not.toBe(created.taskId);
      expect(data.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      expect(data.updateTime >= data.createTime).toBe(true);
      expect(JSON.stringify(detail.json)).not.toContain(KEY);
    } finally {
      await receiver.close();
    }
  });

  it('sends the 805 payload for a failed task and gives up after maxRetries', async () => {
    simulator.setOptions({ webhook: { maxRetries: 2 } });
    const receiver = await startReceiver(100);
    try {
      const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
      await client.createTask({ workflowId: '1', webhookUrl: receiver.url, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: '[sim:fail]' }] });
      await waitFor('the webhook to be abandoned', () => simulator.counters().webhooksAbandoned === 1);
      expect(receiver.statuses).toEqual([500, 500, 500]);
      const event = parseWebhookEvent(receiver.bodies[0]!);
      expect(event.outcome).toMatchObject({ status: 'FAILED', error: { code: '805', failedReason: { exceptionMessage: 'simulated failure' } } });
    } finally {
      await receiver.close();
    }
  });

  it('retries a webhook whose receiver is unreachable or too slow', async () => {
    simulator.setOptions({ webhook: { maxRetries: 1, timeoutMs: 100 } });
    const slow = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
      const created = await client.createTask({ workflowId: '1', webhookUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/` });
      await waitFor('the webhook to be abandoned', () => simulator.counters().webhooksAbandoned === 1);
      const attempts = simulator.tasks().find((t) => t.taskId === created.taskId)?.webhookAttempts ?? [];
      expect(attempts.map((a) => a.result)).toEqual(['timeout after 100 ms', 'timeout after 100 ms']);
      const detail = await post('/task/openapi/getWebhookDetail', { apiKey: KEY, taskId: created.taskId });
      expect(detail.json).toMatchObject({ data: { callbackStatus: 'FAILED', retryCount: 1, callbackResponse: expect.stringMatching(/^I\/O error on POST request for "http:\/\/127\.0\.0\.1:\d+\/": timeout/) as string } });
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('counts duplicate create bodies by fingerprint, regardless of property order', async () => {
    await post('/task/openapi/create', { apiKey: KEY, workflowId: '1', nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'same' }] });
    await post('/task/openapi/create', { nodeInfoList: [{ fieldValue: 'same', fieldName: 'text', nodeId: '6' }], workflowId: '1', apiKey: KEY });
    await post('/task/openapi/create', { apiKey: KEY, workflowId: '1', nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'other' }] });
    const counters = simulator.counters();
    expect(counters.tasksCreated).toBe(3);
    expect(counters.duplicateCreates).toBe(1);
    expect(Object.values(counters.createsByFingerprint).sort()).toEqual([1, 2]);
  });

  it('tracks the highest number in flight per key while tasks come and go', async () => {
    // Runs long enough that all six creates overlap even on a loaded machine.
    simulator.setOptions({ concurrency: 50, queuedMs: [0, 0], runningMs: [800, 800] });
    const a = createRunningHubClient({ baseUrl: simulator.url, apiKey: 'key-a' });
    const b = createRunningHubClient({ baseUrl: simulator.url, apiKey: 'key-b' });
    await Promise.all([...Array.from({ length: 5 }, () => a.createTask({ workflowId: '1' })), b.createTask({ workflowId: '1' })]);
    await waitFor('all to finish', () => simulator.counters().inFlight === 0);
    const counters = simulator.counters();
    expect(counters.maxInFlightByKey).toEqual({ 'key-a': 5, 'key-b': 1 });
    expect(counters.maxInFlight).toBe(5);
    expect(counters.tasksByStatus).toMatchObject({ SUCCESS: 6, QUEUED: 0, RUNNING: 0 });
    // Timelines for benchmarks: created ≤ started ≤ ended.
    for (const task of simulator.tasks()) {
      expect(task.startedAt).not.toBeNull();
      expect(task.endedAt!).toBeGreaterThanOrEqual(task.startedAt!);
      expect(task.startedAt!).toBeGreaterThanOrEqual(task.createdAt);
    }
  });

  it('serves counters, tasks, config, reset, occupy and release over HTTP', async () => {
    await post('/task/openapi/create', { apiKey: KEY, workflowId: '1' });
    await waitFor('the task to finish', () => simulator.counters().inFlight === 0);
    const counters = (await (await fetch(`${simulator.url}/__sim/counters`)).json()) as SimulatorCounters;
    expect(counters.tasksCreated).toBe(1);
    expect(counters.callsByEndpoint.create).toBe(1);

    const config = await post('/__sim/config', { concurrency: 1, failureRate: 0.25 });
    expect(config.status).toBe(200);
    expect(config.json).toMatchObject({ concurrency: 1, failureRate: 0.25 });
    expect(simulator.options()).toMatchObject({ concurrency: 1, failureRate: 0.25 });

    const invalid = await post('/__sim/config', { failureRate: 2, bogus: true });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.json)).toMatch(/failureRate/);
    expect(JSON.stringify(invalid.json)).toMatch(/bogus/);
    expect(simulator.options().failureRate).toBe(0.25);

    const occupied = await post('/__sim/occupy', { apiKey: KEY, n: 2 });
    expect((occupied.json as { taskIds: string[] }).taskIds).toHaveLength(2);
    expect((await post('/uc/openapi/accountStatus', { apikey: KEY })).json).toMatchObject({ data: { currentTaskCounts: '2' } });
    expect((await post('/__sim/release', { apiKey: KEY })).json).toEqual({ released: 2 });

    const tasks = (await (await fetch(`${simulator.url}/__sim/tasks`)).json()) as unknown[];
    expect(tasks.length).toBe(3);

    expect((await post('/__sim/reset', {})).json).toEqual({ ok: true });
    expect(simulator.counters().tasksCreated).toBe(0);
    expect(simulator.tasks()).toEqual([]);
  });

  it('faults set over HTTP apply `times` times, then disappear', async () => {
    expect((await post('/__sim/config', { faults: { status: { kind: 'http', status: 503, times: 2 } } })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${simulator.url}/task/openapi/status`, { method: 'POST', body: '{}' })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(simulator.options().faults).toEqual({});
  });

  it('reads the key from apiKey, then apikey, then Authorization: Bearer; answers 301/1601 without one', async () => {
    simulator.setOptions({ acceptAnyKey: false, keys: { good: {} } });
    expect((await post('/uc/openapi/accountStatus', { apiKey: 'good' })).json).toMatchObject({ code: 0 });
    expect((await post('/uc/openapi/accountStatus', { apikey: 'good' })).json).toMatchObject({ code: 0 });
    expect((await post('/uc/openapi/accountStatus', {}, { authorization: 'Bearer good' })).json).toMatchObject({ code: 0 });
    expect((await post('/uc/openapi/accountStatus', { apiKey: 'bad' }, { authorization: 'Bearer good' })).json).toMatchObject({ code: 802, msg: 'APIKEY_UNAUTHORIZED', data: null });
    expect((await post('/uc/openapi/accountStatus', {})).json).toEqual({ code: 1601, msg: 'param apiKey is required', data: null });
    expect((await post('/task/openapi/status', { taskId: '1' })).json).toEqual({ code: 301, msg: 'PARAMS_INVALID', data: null });
    expect((await post('/task/openapi/status', { apiKey: 'good', taskId: 0 })).json).toEqual({ code: 301, msg: 'taskId must be positive', data: null });
    expect((await post('/task/openapi/create', 'not json')).json).toMatchObject({ code: 301 });
    expect((await post('/task/openapi/create', { apiKey: 'good' })).json).toMatchObject({ code: 301 });
  });

  it('801 for a key configured as a free user', async () => {
    simulator.setOptions({ keys: { free: { free: true } } });
    expect((await post('/task/openapi/create', { apiKey: 'free', workflowId: '1' })).json).toEqual({ code: 801, msg: 'APIKEY_UNSUPPORTED_FREE_USER', data: null });
  });

  it('accepts ids as JSON numbers, and a task is only visible to its own key', async () => {
    const created = (await post('/task/openapi/create', `{"apiKey":"${KEY}","workflowId":1904136902449209346}`)).json as { data: { taskId: string } };
    const taskId = created.data.taskId;
    expect(simulator.tasks().find((t) => t.taskId === taskId)?.targetId).toBe('1904136902449209346');
    const asNumber = `{"apiKey":"${KEY}","taskId":${taskId}}`;
    expect((await post('/task/openapi/status', asNumber)).json).toMatchObject({ code: 0 });
    expect((await post('/task/openapi/status', { apiKey: 'other', taskId })).json).toEqual({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND', data: null });
  });

  it('with countQueuedTowardLimit off, accepts more than the limit but runs at most `concurrency` at once', async () => {
    simulator.setOptions({ countQueuedTowardLimit: false, concurrency: 2, queuedMs: [0, 0], runningMs: [50, 50] });
    const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
    const ids = await Promise.all(Array.from({ length: 5 }, () => client.createTask({ workflowId: '1' })));
    expect(simulator.counters().createsRefused421).toBe(0);
    await waitFor('all five to finish', () => simulator.counters().tasksByStatus.SUCCESS === 5);
    // No instant had more than two RUNNING: check the timelines pairwise.
    const spans = simulator.tasks().map((t) => [t.startedAt!, t.endedAt!] as const);
    for (const [start] of spans) {
      const running = spans.filter(([s, e]) => s <= start && start < e).length;
      expect(running).toBeLessThanOrEqual(2);
    }
    expect(ids).toHaveLength(5);
  });

  it('wss mode puts a netWssUrl into the RUNNING outputs reply; a task that starts at once says so on create', async () => {
    simulator.setOptions({ runningOutputsDataMode: 'wss', queuedMs: [0, 0], runningMs: [5000, 5000] });
    const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
    const created = await client.createTask({ workflowId: '1' });
    // No queue time: the create reply is the docs' RUNNING example, with the instance's socket.
    expect(created.taskStatus).toBe('RUNNING');
    expect(created.netWssUrl).toMatch(/^ws:\/\/.+\/ws\/c_instance\?/);
    const running = await waitFor('RUNNING', async () => {
      const o = await client.getOutputs(created.taskId);
      return o.status === 'RUNNING' ? o : undefined;
    });
    // The documented shape: the instance's socket with c_host, c_port, clientId, workflowId and Rh-Comfy-Auth.
    const wss = new URL(running.netWssUrl ?? '');
    expect(wss.origin).toBe(`ws://127.0.0.1:${simulator.port}`);
    expect(wss.pathname).toBe('/ws/c_instance');
    expect([...wss.searchParams.keys()]).toEqual(['c_host', 'c_port', 'clientId', 'workflowId', 'Rh-Comfy-Auth']);
    expect(wss.searchParams.get('clientId')).toBe(created.clientId);
    expect(running.netWssUrl).toBe(created.netWssUrl);
  });

  it('a failed delivery shows in getWebhookDetail as FAILED with the status line; retryWebhook sends the event again', async () => {
    simulator.setOptions({ webhook: { maxRetries: 0 } });
    const receiver = await startReceiver(1);
    try {
      const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY });
      const created = await client.createTask({ workflowId: '1', webhookUrl: receiver.url });
      await waitFor('the webhook to be abandoned', () => simulator.counters().webhooksAbandoned === 1);
      const detail = await post('/task/openapi/getWebhookDetail', { apiKey: KEY, taskId: created.taskId });
      expect(detail.json).toMatchObject({ data: { callbackStatus: 'FAILED', callbackResponse: '500 Internal Server Error: []', retryCount: 0 } });
      const webhookId = (detail.json as { data: { id: string } }).data.id;
      expect((await post('/task/openapi/retryWebhook', { apiKey: KEY, webhookId, webhookUrl: receiver.url })).json).toEqual({ code: 0, msg: '', data: null });
      await waitFor('the second delivery', () => simulator.counters().webhooksDelivered === 1);
      expect(receiver.bodies[1]).toBe(receiver.bodies[0]);
      expect((await post('/task/openapi/getWebhookDetail', { apiKey: KEY, taskId: created.taskId })).json).toMatchObject({ data: { callbackStatus: 'SUCCESS', retryCount: 1 } });
      expect((await post('/task/openapi/retryWebhook', { apiKey: 'other', webhookId })).json).toEqual({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND', data: null });
      expect((await post('/task/openapi/retryWebhook', { apiKey: KEY })).json).toEqual({ code: 301, msg: 'PARAMS_INVALID', data: null });
    } finally {
      await receiver.close();
    }
  });

  it('apiCallDemo lists a configured AI app\'s fields; 901 for an app it does not know', async () => {
    simulator.setOptions({ webapps: { '1877265245566922753': { nodes: { '122': ['prompt'], '39': ['image'] } } } });
    const demo = await fetch(`${simulator.url}/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=1877265245566922753`);
    expect(await demo.json()).toMatchObject({
      code: 0,
      data: {
        webappName: expect.any(String) as string,
        nodeInfoList: [
          { nodeId: '39', nodeName: 'LoadImage', fieldName: 'image', fieldValue: '', fieldType: 'IMAGE' },
          { nodeId: '122', fieldName: 'prompt', fieldValue: '', fieldType: 'STRING' },
        ],
      },
    });
    expect(await (await fetch(`${simulator.url}/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=1`)).json()).toEqual({ code: 901, msg: 'WEBAPP_NOT_EXISTS', data: null });
    expect(await (await fetch(`${simulator.url}/api/webapp/apiCallDemo?webappId=1`)).json()).toEqual({ code: 301, msg: 'PARAMS_INVALID', data: null });
  });

  it('answers 404 for files it does not have', async () => {
    expect((await fetch(`${simulator.url}/files/123/nothing.png`)).status).toBe(404);
  });
});

describe('simulator retention', () => {
  it('forgets the oldest finished tasks beyond maxFinishedTasks, never unfinished ones', async () => {
    const small = await startSimulator({ ...LENIENT_SIMULATOR, maxFinishedTasks: 3, queuedMs: [0, 0], runningMs: [0, 0] });
    try {
      const client = createRunningHubClient({ baseUrl: small.url, apiKey: KEY });
      const first = await client.createTask({ workflowId: '1' });
      await waitFor('the first task to finish', () => small.counters().inFlight === 0);
      for (let i = 0; i < 4; i++) {
        await client.createTask({ workflowId: '1' });
        await waitFor('the task to finish', () => small.counters().inFlight === 0);
      }
      small.setOptions({ queuedMs: [60_000, 60_000] });
      const pending = await client.createTask({ workflowId: '1' });
      const kept = small.tasks().map((t) => t.taskId);
      expect(kept).toContain(pending.taskId);
      expect(kept).not.toContain(first.taskId);
      expect(kept.length).toBeLessThanOrEqual(4);
      await expect(client.getOutputs(first.taskId)).rejects.toMatchObject({ code: '807' });
      expect(small.counters().tasksCreated).toBe(6);
    } finally {
      await small.stop();
    }
  });
});

describe('simulator with a manual clock', () => {
  it('moves tasks only when told to, at exactly the configured times', async () => {
    const manual = await startSimulator({ ...LENIENT_SIMULATOR, manualClock: true, queuedMs: [1000, 1000], runningMs: [5000, 5000] });
    try {
      const client = createRunningHubClient({ baseUrl: manual.url, apiKey: KEY });
      const { taskId } = await client.createTask({ workflowId: '1' });
      manual.advance(999);
      expect(await client.getStatus(taskId)).toBe('QUEUED');
      manual.advance(1);
      expect(await client.getStatus(taskId)).toBe('RUNNING');
      manual.advance(4999);
      expect(await client.getStatus(taskId)).toBe('RUNNING');
      // Over HTTP, as a test driving a simulator process would.
      const response = await fetch(`${manual.url}/__sim/advance`, { method: 'POST', body: JSON.stringify({ ms: 1 }) });
      expect(response.status).toBe(200);
      const outcome = await client.getOutputs(taskId);
      expect(outcome.status).toBe('SUCCESS');
      if (outcome.status === 'SUCCESS') expect(outcome.outputs[0]?.taskCostTime).toBe(5);
      const [task] = manual.tasks();
      expect(task!.endedAt! - task!.createdAt).toBe(6000);
      expect(() => manual.setOptions({ manualClock: false })).toThrow(/only be chosen when the simulator starts/);
    } finally {
      await manual.stop();
    }
  });

  it('advance is refused on a real-time simulator', async () => {
    expect(() => simulator.advance(10)).toThrow(/manualClock/);
    const response = await fetch(`${simulator.url}/__sim/advance`, { method: 'POST', body: JSON.stringify({ ms: 10 }) });
    expect(response.status).toBe(400);
  });
});
