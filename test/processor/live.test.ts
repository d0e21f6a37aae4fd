// The processor's live work on real sockets and a real PostgreSQL: RunningHub's phase recorded, result
// callbacks delivered signed and retried, a callback surviving kill -9 of the program mid-POST, and
// retention pruning while processors run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool, listStoryboardCallbacks, listTaskCallbacks, readTaskEventsAfter } from '../../src/db/index.js';
import { CALLBACK_HEADERS, createTaskProcessor, verifyCallback, type ProcessorSettings, type TaskProcessor } from '../../src/processor/index.js';
import { createRunningHubClient, uploadFileV1 } from '../../src/runninghub/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { activateTask } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { ACCOUNT, API_KEY, insertTasks, resetTestState, spawnProcessor, startTestSimulator, testSettings, waitForStatuses, type ProcessorProgram } from './harness.js';

const SECRET = 'callback-secret-for-tests-0123456789';

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A real HTTP server standing for a client's callback endpoint: answers each POST with `answer(n)`. */
async function startReceiver(answer: (n: number, res: http.ServerResponse) => void) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      answer(received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('the processor live work', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  const processors: TaskProcessor[] = [];
  const programs: ProcessorProgram[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('processor_live');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
    await db.pool.query('TRUNCATE ai_tasks, storyboards, task_events, task_callbacks, ai_tasks_archive');
  });
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((p) => p.stop()));
    await Promise.all(programs.splice(0).map((p) => p.cleanup()));
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  const start = async (overrides: Partial<ProcessorSettings> = {}, onTasksPruned?: (ids: string[]) => Promise<void>) => {
    const settings = testSettings(overrides);
    const processor = createTaskProcessor({
      settings,
      account: ACCOUNT,
      databaseUrl: db.url,
      logger: createLogger({ name: 'task-processor-test', level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false }),
      createPool: () => createPool({ connectionString: db.url, applicationName: `test ${settings.processorId}`, max: 5 }),
      createClient: () => createRunningHubClient({ baseUrl: sim.url, apiKey: API_KEY, timeoutMs: 2_000 }),
      uploadFile: (file) => uploadFileV1({ baseUrl: sim.url, apiKey: API_KEY, timeoutMs: 5_000 }, file),
      onTasksPruned,
    });
    processors.push(processor);
    await processor.start();
    return processor;
  };
  const callbacks = (overrides: Partial<NonNullable<ProcessorSettings['callbacks']>> = {}) => ({
    callbacks: { signingSecret: SECRET, maxAttempts: 5, backoffMs: 50, backoffMaxMs: 200, timeoutMs: 2_000, ...overrides },
  });

  it("records RunningHub's own phase while it runs, as events between submitted and succeeded", async () => {
    sim.setOptions({ queuedMs: [300, 400], runningMs: [600, 700] });
    const [id] = await insertTasks(db.pool, 1);
    await start({ checkIntervalMs: 100 });
    await waitForStatuses(db.pool, [id!], ['SUCCESS']);
    const kinds = (await readTaskEventsAfter(db.pool, '0', { taskId: id! }, 100)).map((e) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['created', 'claimed', 'submitted']);
    expect(kinds).toContain('running');
    expect(kinds[kinds.length - 1]).toBe('succeeded');
  });

  it('POSTs the result once, signed, retrying with backoff until the receiver answers 2xx', async () => {
    const receiver = await startReceiver((n, res) => res.writeHead(n <= 2 ? 503 : 204).end());
    closers.push(receiver.close);
    const [id] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET callback_url = $2 WHERE id = $1', [id, receiver.url]);
    await start(callbacks());
    await waitForStatuses(db.pool, [id!], ['SUCCESS']);
    const [delivery] = await waitFor('the delivery to succeed', async () => {
      const list = await listTaskCallbacks(db.pool, id!);
      return list[0]?.state === 'delivered' && list;
    });
    expect(delivery).toMatchObject({ attempts: 3, lastStatus: 204, lastError: null });
    expect(receiver.received).toHaveLength(3);
    for (const attempt of receiver.received) {
      expect(
        verifyCallback(SECRET, {
          timestamp: attempt.headers[CALLBACK_HEADERS.timestamp] as string,
          signature: attempt.headers[CALLBACK_HEADERS.signature] as string,
          body: attempt.body,
        }),
      ).toBe(true);
      expect(attempt.headers[CALLBACK_HEADERS.delivery]).toBe(delivery!.id);
    }
    // A tampered body does not verify.
    const last = receiver.received[2]!;
    expect(verifyCallback(SECRET, { timestamp: last.headers[CALLBACK_HEADERS.timestamp] as string, signature: last.headers[CALLBACK_HEADERS.signature] as string, body: `${last.body} ` })).toBe(false);
    expect(JSON.parse(last.body)).toMatchObject({ type: 'task.finished', taskId: id, status: 'SUCCESS', outputs: [expect.objectContaining({ fileUrl: expect.any(String) })] });
  });

  it("does not hold a callback back behind another receiver's hanging POST", async () => {
    const hanging = await startReceiver(() => undefined); // reads the POST, never answers
    const answering = await startReceiver((_n, res) => res.writeHead(204).end());
    closers.push(answering.close);
    await start(callbacks({ timeoutMs: 30_000 }));
    const [slow] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET callback_url = $2 WHERE id = $1', [slow, hanging.url]);
    await waitForStatuses(db.pool, [slow!], ['SUCCESS']);
    await waitFor('the hanging receiver to have the POST', () => hanging.received.length === 1);
    const [quick] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET callback_url = $2 WHERE id = $1', [quick, answering.url]);
    await waitFor('the other callback to be delivered', async () => (await listTaskCallbacks(db.pool, quick!))[0]?.state === 'delivered');
    // Delivered while the first POST still hangs (its timeout is 30 s away): before, it waited for that POST's end.
    expect(await listTaskCallbacks(db.pool, slow!)).toEqual([expect.objectContaining({ state: 'pending', lastError: null, lastStatus: null })]);
    await hanging.close(); // the hanging POST ends (a connection error, retried later) before the processor stops
  });

  it("POSTs a storyboard's result once its last shot ends, signed", async () => {
    const receiver = await startReceiver((_n, res) => res.writeHead(200).end());
    closers.push(receiver.close);
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO storyboards (name, entity_type, entity_id, callback_url) VALUES ('Board', 'project', 'p1', $1) RETURNING id`,
      [receiver.url],
    );
    const boardId = rows[0]!.id;
    const shots = await db.pool.query<{ id: string }>(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, storyboard_id, shot_index)
       SELECT 'shot', 'b-' || g, 'Shot ' || g, '1904136902449209346', $1, g FROM generate_series(0, 2) g RETURNING id`,
      [boardId],
    );
    await start(callbacks());
    await waitForStatuses(db.pool, shots.rows.map((r) => r.id), ['SUCCESS']);
    await waitFor('the storyboard callback', () => receiver.received.length === 1);
    const [post] = receiver.received;
    expect(JSON.parse(post!.body)).toMatchObject({ type: 'storyboard.finished', storyboardId: boardId, status: 'done', total: 3, success: 3, failed: 0 });
    expect(
      verifyCallback(SECRET, { timestamp: post!.headers[CALLBACK_HEADERS.timestamp] as string, signature: post!.headers[CALLBACK_HEADERS.signature] as string, body: post!.body }),
    ).toBe(true);
    const [delivery] = await waitFor('the delivery recorded', async () => {
      const list = await listStoryboardCallbacks(db.pool, boardId);
      return list[0]?.state === 'delivered' && list;
    });
    expect(delivery).toMatchObject({ attempts: 1, lastStatus: 200 });
  });

  it('gives up after the attempt limit and shows why', async () => {
    const receiver = await startReceiver((_n, res) => res.writeHead(500).end());
    closers.push(receiver.close);
    const [id] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET callback_url = $2 WHERE id = $1', [id, receiver.url]);
    await start(callbacks({ maxAttempts: 3 }));
    const [delivery] = await waitFor('the delivery to fail for good', async () => {
      const list = await listTaskCallbacks(db.pool, id!);
      return list[0]?.state === 'failed' && list;
    });
    expect(delivery).toMatchObject({ attempts: 3, lastStatus: 500, lastError: 'HTTP 500' });
    expect(receiver.received).toHaveLength(3);
  });

  it('loses no callback when the processor is killed with -9 during the POST', async () => {
    let first: http.ServerResponse | undefined;
    // The first attempt is never answered: the processor dies while it waits. The next one is.
    const receiver = await startReceiver((n, res) => (n === 1 ? (first = res) : res.writeHead(200).end()));
    closers.push(async () => {
      first?.destroy();
      await receiver.close();
    });
    const [id] = await insertTasks(db.pool, 1);
    await db.pool.query('UPDATE ai_tasks SET callback_url = $2 WHERE id = $1', [id, receiver.url]);
    const env = { CALLBACK_SIGNING_SECRET: SECRET, CALLBACK_TIMEOUT: '1s', CALLBACK_BACKOFF: '50ms' };
    const doomed = await spawnProcessor(db.url, sim.url, testSettings({ processorId: 'doomed' }), env);
    programs.push(doomed);
    await waitFor('the first POST to arrive', () => receiver.received.length === 1, { timeoutMs: 30_000 });
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const [pendingDelivery] = await listTaskCallbacks(db.pool, id!);
    expect(pendingDelivery).toMatchObject({ state: 'pending', attempts: 1 });
    programs.push(await spawnProcessor(db.url, sim.url, testSettings({ processorId: 'successor' }), env));
    const [delivery] = await waitFor(
      'the successor to deliver it once the lease ran out',
      async () => {
        const list = await listTaskCallbacks(db.pool, id!);
        return list[0]?.state === 'delivered' && list;
      },
      { timeoutMs: 40_000 },
    );
    expect(delivery).toMatchObject({ attempts: 2, lastStatus: 200 });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    expect(receiver.received[1]!.headers[CALLBACK_HEADERS.delivery]).toBe(receiver.received[0]!.headers[CALLBACK_HEADERS.delivery]);
  });

  it('prunes old finished rows in batches while processors run, never a live task', async () => {
    const old = await insertTasks(db.pool, 600, { prefix: 'old' });
    await activateTask(db.pool, old);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() - interval '2 hours' WHERE id = ANY($1)`, [old]);
    const fresh = await insertTasks(db.pool, 30, { prefix: 'fresh' });
    const pruned = new Set<string>();
    const hook = async (ids: string[]) => {
      ids.forEach((id) => pruned.add(id));
    };
    const retention = { maxAgeMs: 3_600_000, batchSize: 50, intervalMs: 100, mode: 'delete' as const };
    await Promise.all([start({ retention }, hook), start({ retention }, hook)]);
    await waitFor('every old task pruned', () => pruned.size === old.length, { timeoutMs: 40_000 });
    const rows = await waitForStatuses(db.pool, fresh, ['SUCCESS'], 40_000);
    expect(rows).toHaveLength(30);
    expect([...pruned].sort()).toEqual([...old].sort());
    const left = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks');
    expect(left.rows[0]!.n).toBe(30);
  });
});
