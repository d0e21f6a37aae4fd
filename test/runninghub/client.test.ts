import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunningHubError, createRunningHubClient, type RunningHubClient, type TaskOutcome } from '../../src/runninghub/index.js';
import { LENIENT_SIMULATOR, startSimulator, type RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { waitFor } from '../support/wait.js';

const API_KEY = 'sk-test-0123456789abcdef0123456789ab';

let simulator: RunningSimulator;
let client: RunningHubClient;

beforeAll(async () => {
  // Lenient: these tests use arbitrary workflow and app ids (strict mode has its own tests below).
  simulator = await startSimulator({ ...LENIENT_SIMULATOR, queuedMs: [10, 20], runningMs: [30, 60] });
  client = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 10_000 });
});
afterAll(async () => {
  await simulator.stop();
});
afterEach(() => {
  simulator.reset();
  simulator.setOptions({ faults: {}, strict: false, numericTaskIds: false, queuedMs: [10, 20], runningMs: [30, 60], concurrency: 3, nextOutcomes: [] });
});

/** Poll outputs until the task is terminal. */
async function finalOutcome(taskId: string, c: RunningHubClient = client): Promise<TaskOutcome> {
  return waitFor(`task ${taskId} to end`, async () => {
    const outcome = await c.getOutputs(taskId);
    return outcome.status === 'SUCCESS' || outcome.status === 'FAILED' ? outcome : undefined;
  });
}

async function rejection(promise: Promise<unknown>): Promise<RunningHubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunningHubError);
  return error as RunningHubError;
}

describe('RunningHub client against the simulator', () => {
  it('creates a workflow task and follows it QUEUED → RUNNING → SUCCESS with a downloadable PNG', async () => {
    const created = await client.createTask({
      workflowId: '1904136902449209346',
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a cat' }],
    });
    expect(created.taskId).toMatch(/^\d{19}$/);
    expect(created.taskStatus).toBe('QUEUED');
    expect(created.nodeErrors).toEqual([]);
    expect(created.clientId).toMatch(/^[0-9a-f]{32}$/);

    const outcome = await finalOutcome(created.taskId);
    if (outcome.status !== 'SUCCESS') throw new Error('unreachable');
    expect(outcome.outputs).toHaveLength(1);
    const [output] = outcome.outputs;
    expect(output).toMatchObject({ fileType: 'png', nodeId: '9', consumeCoins: 1 });
    expect(typeof output?.taskCostTime).toBe('number');
    expect(output?.fileUrl.startsWith(`${simulator.url}/files/${created.taskId}/`)).toBe(true);

    const file = await fetch(output!.fileUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    expect(await client.getStatus(created.taskId)).toBe('SUCCESS');
  });

  it('runs an AI app (ai-app/run) and reports QUEUED and RUNNING while in progress', async () => {
    // A manual clock holds each phase for as long as the test needs, however loaded the machine is.
    const manual = await startSimulator({ ...LENIENT_SIMULATOR, manualClock: true, queuedMs: [1000, 1000], runningMs: [1000, 1000], runningOutputsDataMode: 'null' });
    try {
      const appClient = createRunningHubClient({ baseUrl: manual.url, apiKey: API_KEY, timeoutMs: 10_000 });
      const created = await appClient.createTask({ webappId: '1877265245566922753', nodeInfoList: [{ nodeId: '122', fieldName: 'prompt', fieldValue: 'x' }] });
      expect(await appClient.getOutputs(created.taskId)).toEqual({ status: 'QUEUED' });
      expect(await appClient.getStatus(created.taskId)).toBe('QUEUED');
      manual.advance(1000);
      expect(await appClient.getStatus(created.taskId)).toBe('RUNNING');
      expect(await appClient.getOutputs(created.taskId)).toEqual({ status: 'RUNNING', netWssUrl: null });
      manual.advance(1000);
      expect((await appClient.getOutputs(created.taskId)).status).toBe('SUCCESS');
      expect(manual.tasks()[0]).toMatchObject({ taskId: created.taskId, kind: 'app', targetId: '1877265245566922753' });
      expect(manual.counters().callsByEndpoint.aiAppRun).toBe(1);
    } finally {
      await manual.stop();
    }
  });

  it('reports FAILED with RunningHub code, message and failedReason', async () => {
    const created = await client.createTask({ workflowId: '1', nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'boom [sim:fail]' }] });
    const outcome = await finalOutcome(created.taskId);
    expect(outcome).toEqual({
      status: 'FAILED',
      error: {
        code: '805',
        message: 'APIKEY_TASK_STATUS_ERROR',
        failedReason: { nodeId: '3', nodeName: 'KSampler', exceptionType: 'RuntimeError', exceptionMessage: 'simulated failure', traceback: '[]' },
      },
    });
    expect(await client.getStatus(created.taskId)).toBe('FAILED');
  });

  it('reports SUCCESS with no outputs for a workflow without output nodes', async () => {
    simulator.setOptions({ nextOutcomes: ['NO_OUTPUT'] });
    const created = await client.createTask({ workflowId: '1' });
    expect(await finalOutcome(created.taskId)).toEqual({ status: 'SUCCESS', outputs: [] });
  });

  it('cancels a task: the slot is freed and the task ends FAILED (TaskCancelled)', async () => {
    simulator.setOptions({ queuedMs: [10_000, 10_000] });
    const created = await client.createTask({ workflowId: '1' });
    expect((await client.getAccountStatus()).currentTaskCounts).toBe(1);
    await client.cancelTask(created.taskId);
    expect((await client.getAccountStatus()).currentTaskCounts).toBe(0);
    const outcome = await client.getOutputs(created.taskId);
    expect(outcome.status).toBe('FAILED');
    if (outcome.status === 'FAILED') expect(outcome.error.failedReason?.exceptionType).toBe('TaskCancelled');
    expect(await client.getStatus(created.taskId)).toBe('FAILED');
    // Cancelling again (a finished task) is accepted and changes nothing.
    await client.cancelTask(created.taskId);
    expect(simulator.counters().cancels).toBe(1);
  });

  it('gets 421 TASK_QUEUE_MAXED when the key has 3 tasks in flight, classified as capacity', async () => {
    simulator.setOptions({ queuedMs: [10_000, 10_000] });
    for (let i = 0; i < 3; i++) await client.createTask({ workflowId: '1', nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `t${i}` }] });
    const error = await rejection(client.createTask({ workflowId: '1' }));
    expect(error).toMatchObject({ code: '421', remoteMessage: 'TASK_QUEUE_MAXED', kind: 'retryable', capacity: true, operation: 'create' });
    const account = await client.getAccountStatus();
    expect(account).toMatchObject({ currentTaskCounts: 3, apiType: 'NORMAL' });
    expect(account.remainCoins).toBeGreaterThan(0);
    const counters = simulator.counters();
    expect(counters).toMatchObject({ tasksCreated: 3, createsRefused421: 1, maxInFlight: 3, inFlight: 3 });
    expect(counters.maxInFlightByKey[API_KEY]).toBe(3);
  });

  it('counts slots taken from outside (occupy) toward the limit', async () => {
    simulator.occupy(API_KEY, 3);
    expect((await client.getAccountStatus()).currentTaskCounts).toBe(3);
    expect((await rejection(client.createTask({ workflowId: '1' }))).code).toBe('421');
    expect(simulator.release(API_KEY)).toBe(3);
    expect((await client.createTask({ workflowId: '1' })).taskId).toMatch(/^\d{19}$/);
  });

  describe('faults are classified', () => {
    it.each([
      [{ kind: 'http', status: 503 } as const, 'HTTP_503', 'retryable'],
      [{ kind: 'http', status: 502 } as const, 'HTTP_502', 'retryable'],
      [{ kind: 'http', status: 404 } as const, 'HTTP_404', 'permanent'],
      [{ kind: 'drop', afterHandling: false } as const, 'NETWORK', 'retryable'],
      [{ kind: 'malformed' } as const, 'MALFORMED_REPLY', 'retryable'],
      [{ kind: 'code', code: 415 } as const, '415', 'retryable'],
      [{ kind: 'code', code: 814 } as const, '814', 'retryable'],
      [{ kind: 'code', code: 500 } as const, '500', 'retryable'],
      [{ kind: 'code', code: 802 } as const, '802', 'permanent'],
      [{ kind: 'code', code: 416 } as const, '416', 'permanent'],
    ])('create fault %j → %s (%s)', async (fault, code, kind) => {
      simulator.setOptions({ faults: { create: { ...fault, times: 1 } } });
      const error = await rejection(client.createTask({ workflowId: '1' }));
      expect(error.code).toBe(code);
      expect(error.kind).toBe(kind);
      // `times: 1`: the next create goes through, and the faulted one created nothing.
      await client.createTask({ workflowId: '1' });
      expect(simulator.counters()).toMatchObject({ tasksCreated: 1, faultsInjected: 1 });
    });

    it('a reply slower than the timeout is a retryable TIMEOUT, and the slow create did create a task', async () => {
      const quick = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 150 });
      simulator.setOptions({ faults: { create: { kind: 'delay', ms: 1500, times: 1 } } });
      const error = await rejection(quick.createTask({ workflowId: '1' }));
      expect(error).toMatchObject({ code: 'TIMEOUT', kind: 'retryable' });
      // This is how duplicates happen: RunningHub accepted it, the client never heard.
      expect(simulator.counters().tasksCreated).toBe(1);
    });

    it('a connection dropped after handling is NETWORK, with the task created', async () => {
      simulator.setOptions({ faults: { create: { kind: 'drop', afterHandling: true, times: 1 } } });
      expect((await rejection(client.createTask({ workflowId: '1' }))).code).toBe('NETWORK');
      expect(simulator.counters().tasksCreated).toBe(1);
    });

    it('faults on outputs, status, cancel and accountStatus', async () => {
      const created = await client.createTask({ workflowId: '1' });
      simulator.setOptions({
        faults: {
          outputs: { kind: 'http', status: 500, times: 1 },
          status: { kind: 'drop', afterHandling: false, times: 1 },
          cancel: { kind: 'malformed', times: 1 },
          accountStatus: { kind: 'code', code: 1003, times: 1 },
        },
      });
      expect((await rejection(client.getOutputs(created.taskId))).code).toBe('HTTP_500');
      expect((await rejection(client.getStatus(created.taskId))).code).toBe('NETWORK');
      expect((await rejection(client.cancelTask(created.taskId))).code).toBe('MALFORMED_REPLY');
      const account = await rejection(client.getAccountStatus());
      expect(account).toMatchObject({ code: '1003', capacity: true });
      expect(simulator.counters().faultsInjected).toBe(4);
    });

    it('a refused connection is NETWORK, and a caller abort is ABORTED', async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const nobody = createRunningHubClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY, timeoutMs: 10_000 });
      expect(await rejection(nobody.getAccountStatus())).toMatchObject({ code: 'NETWORK', kind: 'retryable' });

      simulator.setOptions({ faults: { accountStatus: { kind: 'delay', ms: 2000, times: 1 } } });
      const controller = new AbortController();
      const call = client.getAccountStatus({ signal: controller.signal });
      controller.abort();
      expect(await rejection(call)).toMatchObject({ code: 'ABORTED', kind: 'retryable' });
    });
  });

  it('keeps task ids exact when RunningHub sends them as JSON numbers beyond 2^53', async () => {
    simulator.setOptions({ numericTaskIds: true });
    const raw = await fetch(`${simulator.url}/task/openapi/create`, {
      method: 'POST',
      body: JSON.stringify({ apiKey: API_KEY, workflowId: '1' }),
    }).then((r) => r.text());
    const rawId = /"taskId":(\d+)/.exec(raw)?.[1];
    expect(rawId).toMatch(/^\d{19}$/);
    expect(BigInt(rawId!)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    // Plain JSON.parse would round it: the reason the client parses the text itself.
    expect(BigInt((JSON.parse(raw) as { data: { taskId: number } }).data.taskId)).not.toBe(BigInt(rawId!));

    const created = await client.createTask({ workflowId: '1' });
    expect(typeof created.taskId).toBe('string');
    expect(simulator.tasks().map((t) => t.taskId)).toContain(created.taskId);
    // The exact id still addresses the task.
    expect((await finalOutcome(created.taskId)).status).toBe('SUCCESS');
  });

  it('passes the webhook URL on create', async () => {
    const created = await client.createTask({ workflowId: '1', webhookUrl: 'http://127.0.0.1:9/hook', instanceType: 'plus', addMetadata: false });
    expect(simulator.tasks().find((t) => t.taskId === created.taskId)?.webhookUrl).toBe('http://127.0.0.1:9/hook');
  });

  it('reports promptTips node_errors of an accepted create', async () => {
    simulator.setOptions({ promptNodeErrors: true });
    const created = await client.createTask({ workflowId: '1' });
    expect(created.nodeErrors).toHaveLength(1);
    expect(created.nodeErrors[0]).toMatch(/^3: .*simulated node error/);
  });

  describe('strict mode', () => {
    const strict = {
      strict: true,
      workflows: { '1904136902449209346': { nodes: { '6': ['text'], '3': ['seed', 'steps'] } } },
      webapps: { '1877265245566922753': { nodes: { '122': ['prompt'] } } },
    };

    it('accepts a configured workflow with its nodes', async () => {
      simulator.setOptions(strict);
      const created = await client.createTask({ workflowId: '1904136902449209346', nodeInfoList: [{ nodeId: '3', fieldName: 'seed', fieldValue: '42' }] });
      expect(created.taskId).toMatch(/^\d{19}$/);
    });

    it('380 for an unknown workflow, 901 for an unknown app, 803 for an unknown node or field', async () => {
      simulator.setOptions(strict);
      expect(await rejection(client.createTask({ workflowId: '999' }))).toMatchObject({ code: '380', remoteMessage: 'WORKFLOW_NOT_EXISTS', kind: 'permanent' });
      expect(await rejection(client.createTask({ webappId: '999' }))).toMatchObject({ code: '901', remoteMessage: 'WEBAPP_NOT_EXISTS', kind: 'permanent' });
      const badNode = await rejection(
        client.createTask({ workflowId: '1904136902449209346', nodeInfoList: [{ nodeId: '7', fieldName: 'text', fieldValue: 'x' }] }),
      );
      expect(badNode).toMatchObject({ code: '803', remoteMessage: 'APIKEY_INVALID_NODE_INFO', kind: 'permanent' });
      const badField = await rejection(
        client.createTask({ webappId: '1877265245566922753', nodeInfoList: [{ nodeId: '122', fieldName: 'image', fieldValue: 'x' }] }),
      );
      expect(badField.code).toBe('803');
      expect(simulator.counters()).toMatchObject({ tasksCreated: 0, createsRefusedByCode: { '380': 1, '901': 1, '803': 2 } });
    });
  });

  it('802 for an unknown key when only configured keys exist; 416 when the balance is gone', async () => {
    simulator.setOptions({ acceptAnyKey: false, keys: { [API_KEY]: { remainCoins: 0 } } });
    const stranger = createRunningHubClient({ baseUrl: simulator.url, apiKey: 'sk-someone-else', timeoutMs: 10_000 });
    expect(await rejection(stranger.createTask({ workflowId: '1' }))).toMatchObject({ code: '802', kind: 'permanent' });
    expect(await rejection(stranger.getAccountStatus())).toMatchObject({ code: '802' });
    expect(await rejection(client.createTask({ workflowId: '1' }))).toMatchObject({ code: '416', kind: 'permanent' });
    simulator.setOptions({ acceptAnyKey: true, keys: {} });
  });

  it('807 (permanent) for a task id RunningHub does not know', async () => {
    expect(await rejection(client.getOutputs('1910246754753896450'))).toMatchObject({ code: '807', kind: 'permanent' });
    expect(await rejection(client.cancelTask('1910246754753896450'))).toMatchObject({ code: '807' });
  });

  it('412 for a misspelt path (HTTP 404 with an envelope)', async () => {
    const wrong = createRunningHubClient({ baseUrl: `${simulator.url}/v9`, apiKey: API_KEY, timeoutMs: 10_000 });
    expect(await rejection(wrong.getStatus('1'))).toMatchObject({ code: '412', httpStatus: 404, kind: 'permanent' });
  });
});

describe('the API key stays secret', () => {
  let echo: Server;
  let echoUrl: string;
  beforeAll(async () => {
    // A proxy that echoes the request (headers and body) in its error page, the worst case.
    echo = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const page = `<pre>${JSON.stringify(req.headers)} ${Buffer.concat(chunks).toString()}</pre>`;
        if (req.url === '/uc/openapi/accountStatus') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 1601, msg: `param apiKey is required, got ${Buffer.concat(chunks).toString()}`, data: null }));
          return;
        }
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(page);
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('never appears in logs or error messages, even when the server echoes it', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const errors: string[] = [];
    const record = (e: unknown) => {
      const error = e as RunningHubError;
      errors.push(error.message, error.remoteMessage, JSON.stringify(error), String(error.stack));
      logger.error({ err: error }, 'call failed');
    };

    const viaEcho = createRunningHubClient({ baseUrl: echoUrl, apiKey: API_KEY, timeoutMs: 2000, logger });
    await viaEcho.createTask({ workflowId: '1' }).catch(record);
    await viaEcho.getAccountStatus().catch(record);
    const impatient = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 100, logger });
    simulator.setOptions({ faults: { create: { kind: 'delay', ms: 1000, times: 1 } } });
    await impatient.createTask({ workflowId: '1' }).catch(record);
    const viaSimulator = createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 5000, logger });
    const created = await viaSimulator.createTask({ workflowId: '1' });
    await viaSimulator.getOutputs(created.taskId);
    await viaSimulator.getOutputs('1910246754753896450').catch(record);

    expect(errors.length).toBe(16);
    // The echoed body did reach the error text, with the key taken out.
    expect(errors.some((text) => text.includes('[redacted]'))).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(9);
    const everything = [...errors, ...lines].join('\n');
    expect(everything).not.toContain(API_KEY);
  });

  it('an empty key or a base URL that is not a URL is refused up front', () => {
    expect(() => createRunningHubClient({ baseUrl: simulator.url, apiKey: '' })).toThrow(/apiKey is empty/);
    expect(() => createRunningHubClient({ baseUrl: 'www.runninghub.cn', apiKey: API_KEY })).toThrow(/baseUrl is not a URL/);
  });
});

/**
 * A RunningHub of scripted replies for the describe it is called in: each path answers the text or bytes
 * set for it in `replies`, any other an empty envelope. `url()` is its address once the describe started it.
 */
function scriptedRunningHub(): { replies: Map<string, string | Buffer>; url: () => string } {
  const replies = new Map<string, string | Buffer>();
  let server: Server | undefined;
  let url = '';
  beforeAll(async () => {
    const started = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(replies.get(req.url ?? '') ?? '{"code":0,"msg":"","data":null}');
      });
    });
    server = started;
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  return { replies, url: () => url };
}

describe('text in replies that cannot be stored', () => {
  /** The next reply's raw bytes, by path. */
  const { replies, url: hostileUrl } = scriptedRunningHub();

  function loggingClient(): { client: RunningHubClient; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { client: createRunningHubClient({ baseUrl: hostileUrl(), apiKey: API_KEY, logger: pino({ level: 'info' }, sink) }), lines };
  }

  it('keeps a failure whose message and traceback hold NUL, lone surrogates and bytes that are not UTF-8, with U+FFFD and a note', async () => {
    // JSON.stringify writes U+0000 and the lone surrogate as \u escapes; 0xFF is a raw byte in the message.
    const json = JSON.stringify({
      code: 805,
      msg: 'APIKEY_TASK_STATUS_ERROR XX',
      data: { failedReason: { node_id: '9', exception_type: 'Value\u0000Error', exception_message: 'bad \ud800 input', traceback: 'line 1\u0000' } },
    });
    const [before, after] = json.split('XX') as [string, string];
    replies.set('/task/openapi/outputs', Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]));
    const { client: c, lines } = loggingClient();
    const outcome = await c.getOutputs('1910246754753896450');
    expect(outcome).toEqual({
      status: 'FAILED',
      error: {
        code: '805',
        message: 'APIKEY_TASK_STATUS_ERROR \ufffd',
        failedReason: { nodeId: '9', nodeName: null, exceptionType: 'Value\ufffdError', exceptionMessage: 'bad \ufffd input', traceback: 'line 1\ufffd' },
      },
    });
    const notes = lines.filter((line) => line.event === 'runninghub.text_replaced');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      level: 40,
      operation: 'outputs',
      fields: ['(bytes that are not UTF-8)', 'data.failedReason.exception_type', 'data.failedReason.exception_message', 'data.failedReason.traceback'],
    });
  });

  it('keeps output names and promptTips node errors, repaired', async () => {
    replies.set(
      '/task/openapi/outputs',
      Buffer.from(JSON.stringify({ code: 0, msg: 'success', data: [{ fileUrl: 'http://h/a\u0000.png', fileType: 'p\udc00ng', nodeId: '9' }] })),
    );
    replies.set(
      '/task/openapi/create',
      Buffer.from(
        JSON.stringify({
          code: 0,
          msg: 'success',
          data: { taskId: '1910246754753896450', taskStatus: 'QUEUED', promptTips: JSON.stringify({ node_errors: { '6\u0000': { message: 'x' } } }) },
        }),
      ),
    );
    const { client: c, lines } = loggingClient();
    const outcome = await c.getOutputs('1910246754753896450');
    expect(outcome).toMatchObject({ status: 'SUCCESS', outputs: [{ fileUrl: 'http://h/a\ufffd.png', fileType: 'p\ufffdng', nodeId: '9' }] });
    const created = await c.createTask({ workflowId: '1' });
    expect(created.nodeErrors).toEqual(['6\ufffd: {"message":"x"}']);
    expect(lines.filter((line) => line.event === 'runninghub.text_replaced').map((line) => line.fields)).toEqual([
      ['data.0.fileUrl', 'data.0.fileType'],
      ['promptTips.node_errors.6\ufffd'],
    ]);
  });
});

// Replies as some RunningHub versions and clients in the wild show them, beside what the documentation shows.
describe('replies in shapes beside the documented ones', () => {
  const { replies, url } = scriptedRunningHub();

  it('takes a create whose taskId reads, whatever the fields beside it (a MALFORMED_REPLY would be retried: the task twice)', async () => {
    replies.set(
      '/task/openapi/create',
      JSON.stringify({ code: 0, msg: 'success', data: { taskId: '1910246754753896450', clientId: { odd: true }, taskStatus: 'PREPARING', netWssUrl: 7, promptTips: { node_errors: { '6': 'bad' } } } }),
    );
    const created = await createRunningHubClient({ baseUrl: url(), apiKey: API_KEY }).createTask({ workflowId: '1', nodeInfoList: [] });
    expect(created).toMatchObject({ taskId: '1910246754753896450', clientId: null, taskStatus: 'QUEUED', netWssUrl: null });
    expect(created.nodeErrors).toEqual(['6: "bad"']);
    // A reply without a readable taskId is still malformed.
    replies.set('/task/openapi/create', JSON.stringify({ code: 0, msg: 'success', data: { taskStatus: 'QUEUED' } }));
    const error = await rejection(createRunningHubClient({ baseUrl: url(), apiKey: API_KEY }).createTask({ workflowId: '1', nodeInfoList: [] }));
    expect(error.code).toBe('MALFORMED_REPLY');
  });

  it('leaves out an output without a fileUrl (a text output), as v2 does, rather than failing the whole reply', async () => {
    replies.set(
      '/task/openapi/outputs',
      JSON.stringify({ code: 0, msg: 'success', data: [{ fileUrl: null, fileType: 'txt', nodeId: '12' }, { fileUrl: '', nodeId: '13' }, { fileUrl: 'https://rh.example/o/a.PNG', nodeId: '9' }] }),
    );
    const outcome = await createRunningHubClient({ baseUrl: url(), apiKey: API_KEY }).getOutputs('1910246754753896450');
    expect(outcome).toEqual({ status: 'SUCCESS', outputs: [{ fileUrl: 'https://rh.example/o/a.PNG', fileType: 'png', nodeId: '9', taskCostTime: null, consumeCoins: null }] });
  });
});
