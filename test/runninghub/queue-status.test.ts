// v2 `GET /openapi/v2/queue/status` through every generation's client, against the simulator over real
// HTTP: the account's limit and its tasks in flight, parsed; refusals and bad replies as named errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunningHubError, createRunningHubClient } from '../../src/runninghub/index.js';
import { startSimulator, type RunningSimulator } from '../../src/runninghub/simulator/index.js';

const API_KEY = 'sk-queue-status-0123456789abcdef0123';

let simulator: RunningSimulator;

beforeAll(async () => {
  simulator = await startSimulator({ keys: { [API_KEY]: { concurrency: 4 } } });
});
afterAll(async () => {
  await simulator.stop();
});
afterEach(() => {
  simulator.reset();
  simulator.setOptions({ faults: {}, reportedConcurrentLimit: undefined });
});

async function rejection(promise: Promise<unknown>): Promise<RunningHubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RunningHubError)) throw new Error(`expected a RunningHubError, got ${String(error)}`);
  return error;
}

describe.each(['v1', 'v2', 'auto'] as const)('queue/status with RUNNINGHUB_API=%s', (api) => {
  const client = () => createRunningHubClient({ baseUrl: simulator.url, apiKey: API_KEY, timeoutMs: 5_000, api });

  it("reads the key's limit and its tasks in flight", async () => {
    // Slots held as if from the web UI: RUNNING at RunningHub.
    simulator.occupy(API_KEY, 2);
    expect(await client().getQueueStatus()).toEqual({
      apiKeyType: 'NORMAL',
      concurrentLimit: 4,
      runningCount: 2,
      queuedCount: 0,
      totalCurrentTasks: 2,
    });
  });

  it('reads the limit the simulator is told to report', async () => {
    simulator.setOptions({ reportedConcurrentLimit: 7 });
    expect((await client().getQueueStatus()).concurrentLimit).toBe(7);
  });

  it('an HTTP error is a RunningHubError with the status as its code', async () => {
    simulator.setOptions({ faults: { v2QueueStatus: { kind: 'http', status: 503, times: 1 } } });
    const error = await rejection(client().getQueueStatus());
    expect(error.code).toBe('HTTP_503');
    expect(error.operation).toBe('queueStatus');
  });
});

it('an unknown key gets RunningHub refusal code, not a limit', async () => {
  const client = createRunningHubClient({ baseUrl: simulator.url, apiKey: 'sk-unknown-key-000000000000000000', timeoutMs: 5_000, api: 'v2' });
  const error = await rejection(client.getQueueStatus());
  expect(error.code).not.toBe('0');
  expect(error.code).not.toMatch(/^HTTP_|MALFORMED/);
});

describe('a reply that is not queue/status', () => {
  let server: Server;
  let body = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const client = () => createRunningHubClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: API_KEY, timeoutMs: 5_000 });

  it('data of the wrong shape is MALFORMED_REPLY naming the field', async () => {
    body = JSON.stringify({ code: 0, msg: 'success', data: { concurrentLimit: { n: 2 } } });
    const error = await rejection(client().getQueueStatus());
    expect(error.code).toBe('MALFORMED_REPLY');
    expect(error.remoteMessage).toMatch(/concurrentLimit/);
  });

  it('a limit sent as text is handed on as text, for the processor to judge', async () => {
    body = JSON.stringify({ code: '0', msg: 'success', data: { apiKeyType: 'NORMAL', concurrentLimit: '5', runningCount: '1', queuedCount: '0', totalCurrentTasks: '1' } });
    expect(await client().getQueueStatus()).toMatchObject({ concurrentLimit: '5', runningCount: 1, totalCurrentTasks: 1 });
  });
});
