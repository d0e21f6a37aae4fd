// POST /api/runninghub/webhook through the real API app (buildApp), a real database and HTTP.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/index.js';
import { claimPendingTasks, ensureAccount, getAccountUsage, recordHeartbeat, recordSubmission } from '../../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

const SECRET = 'a-webhook-secret-of-some-length';
const API_TOKEN = 'an-api-token-that-is-long-enough';
const ACCOUNT = 'a'.repeat(64);

/** The body as RunningHub sends it; `numericId` writes the id as a bare JSON number (the schema says int64). */
function taskEnd(taskId: string, eventData: unknown, options: { numericId?: boolean } = {}): string {
  const id = options.numericId ? taskId : JSON.stringify(taskId);
  return `{"event":"TASK_END","taskId":${id},"eventData":${JSON.stringify(JSON.stringify(eventData))}}`;
}

describe('RunningHub webhook route', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let unconfigured: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_route');
    const logger = pino({ level: 'silent' });
    app = await buildApp({ pool: db.pool, logger, config: { apiToken: API_TOKEN, bodyLimitBytes: 1 << 20, runningHubWebhookSecret: SECRET } });
    unconfigured = await buildApp({ pool: db.pool, logger, config: { apiToken: undefined, bodyLimitBytes: 1 << 20 } });
    await Promise.all([app.ready(), unconfigured.ready()]);
    await ensureAccount(db.pool, ACCOUNT, 3);
  });
  afterAll(async () => {
    await Promise.all([app.close(), unconfigured.close()]);
    await db.drop();
  });

  async function submittedTask(runninghubTaskId: string): Promise<string> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('shot', $1, 'Shot ' || $1, '19') RETURNING id`,
      [runninghubTaskId],
    );
    const [claimed] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 60_000 });
    expect(claimed?.id).toBe(rows[0]!.id);
    await recordSubmission(db.pool, { taskId: claimed!.id, claimToken: claimed!.claimToken, runninghubTaskId, firstCheckInMs: 60_000 });
    return claimed!.id;
  }

  it('answers 404 when no secret is configured', async () => {
    const res = await request(unconfigured.server)
      .post('/api/runninghub/webhook?secret=whatever')
      .set('content-type', 'application/json')
      .send(taskEnd('1910246754753896450', { code: 0, msg: 'success', data: [] }));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: expect.any(String), details: null } });
  });

  it('refuses a missing or wrong secret, and needs no API token', async () => {
    const body = taskEnd('1910246754753896450', { code: 0, msg: 'success', data: [] });
    const none = await request(app.server).post('/api/runninghub/webhook').set('content-type', 'application/json').send(body);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String), details: null } });
    const wrong = await request(app.server).post('/api/runninghub/webhook?secret=nope').set('content-type', 'application/json').send(body);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String), details: null } });
  });

  it('moves the task to keeping its outputs, frees the slot, and ignores a redelivery', async () => {
    const rh = '1910246754753896451';
    const id = await submittedTask(rh);
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(1);
    const outputs = [{ fileUrl: 'http://127.0.0.1:1/files/x.png', fileType: 'png', taskCostTime: 6, nodeId: '9' }];
    const body = taskEnd(rh, { code: 0, msg: 'success', data: outputs });
    const first = await request(app.server).post(`/api/runninghub/webhook?secret=${SECRET}`).set('content-type', 'application/json').send(body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ok: true, state: 'applied' });
    const again = await request(app.server).post(`/api/runninghub/webhook?secret=${SECRET}`).set('content-type', 'application/json').send(body);
    expect(again.body).toEqual({ ok: true, state: 'duplicate' });
    // SUCCESS comes once the processor has kept the outputs (test/processor/outputs.test.ts).
    const { rows } = await db.pool.query('SELECT status, runninghub_outputs FROM ai_tasks WHERE id = $1', [id]);
    expect(rows[0].status).toBe('ACTIVE');
    expect(rows[0].runninghub_outputs[0]).toMatchObject({ fileUrl: outputs[0]!.fileUrl, fileType: 'png', nodeId: '9' });
    expect((await getAccountUsage(db.pool, ACCOUNT))!.running).toBe(0);
  });

  it('keeps every digit of a task id sent as a JSON number, and records failures with their code', async () => {
    const rh = '1910246754753896453';
    const id = await submittedTask(rh);
    const failure = { code: 805, msg: 'APIKEY_TASK_STATUS_ERROR', data: { failedReason: { node_name: 'KSampler', exception_message: 'out of memory' } } };
    const body = taskEnd(rh, failure, { numericId: true });
    expect(body).toContain(`"taskId":${rh},`);
    const res = await request(app.server).post(`/api/runninghub/webhook?secret=${SECRET}`).set('content-type', 'application/json').send(body);
    expect(res.body).toEqual({ ok: true, state: 'applied' });
    const { rows } = await db.pool.query('SELECT status, error_code, error_message FROM ai_tasks WHERE id = $1', [id]);
    expect(rows[0]).toMatchObject({ status: 'FAILED', error_code: '805' });
    expect(rows[0].error_message).toContain('out of memory');
  });

  it('credits a task the webhook finished to the processor that claimed it, in /api/stats', async () => {
    // The processor `p` (submittedTask claims as `p`) is live; the API's webhook handler, not `p`, ends its tasks.
    await recordHeartbeat(db.pool, {
      processorId: 'p',
      host: 'box',
      pid: 1,
      startedAt: new Date(),
      submitted: 2,
      retried: 0,
      orphaned: 0,
      orphanCancelFailures: 0,
      consecutiveErrors: 0,
      lastError: null,
    });
    const ok = '1910246754753896460';
    const bad = '1910246754753896461';
    await submittedTask(ok);
    await submittedTask(bad);
    for (const [rh, data] of [
      [ok, { code: 0, msg: 'success', data: [{ fileUrl: 'http://127.0.0.1:1/files/y.png', fileType: 'png' }] }],
      [bad, { code: 805, msg: 'APIKEY_TASK_STATUS_ERROR', data: { failedReason: { node_name: 'KSampler', exception_message: 'out of memory' } } }],
    ] as const) {
      const res = await request(app.server).post(`/api/runninghub/webhook?secret=${SECRET}`).set('content-type', 'application/json').send(taskEnd(rh, data));
      expect(res.body).toEqual({ ok: true, state: 'applied' });
    }
    const stats = await request(app.server).get('/api/stats').set('authorization', `Bearer ${API_TOKEN}`).expect(200);
    // The failure is credited at once; the success once its outputs are kept (to the processor keeping them).
    expect(stats.body.processors).toEqual([expect.objectContaining({ processorId: 'p', submitted: 2, succeeded: 0, failed: 1 })]);
  });

  it('answers 400 to a body that is not a TASK_END event', async () => {
    const res = await request(app.server)
      .post(`/api/runninghub/webhook?secret=${SECRET}`)
      .set('content-type', 'application/json')
      .send('{"hello":"world"}');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WEBHOOK', message: expect.stringContaining('webhook body'), details: null } });
  });

  it('answers 400, not 500, to a body nested too deeply to walk', async () => {
    const res = await request(app.server)
      .post(`/api/runninghub/webhook?secret=${SECRET}`)
      .set('content-type', 'application/json')
      .send(`{"event":"TASK_END","taskId":"1","eventData":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_WEBHOOK', message: 'webhook body is not JSON: JSON nested deeper than 256 levels of arrays and objects' });
  });

  it('keeps the secret out of the request log', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const logged = await buildApp({ pool: db.pool, logger, config: { apiToken: undefined, bodyLimitBytes: 1 << 20, runningHubWebhookSecret: SECRET } });
    try {
      await logged.ready();
      const res = await request(logged.server)
        .post(`/api/runninghub/webhook?secret=${SECRET}`)
        .set('content-type', 'application/json')
        .send(taskEnd('1910246754753896459', { code: 0, msg: 'success', data: [] }));
      expect(res.status).toBe(200);
      const requestLine = lines.map((line) => JSON.parse(line) as { msg?: string; url?: string }).find((entry) => entry.msg === 'request');
      expect(requestLine?.url).toBe('/api/runninghub/webhook?secret=[redacted]');
      expect(lines.join('')).not.toContain(SECRET);
    } finally {
      await logged.close();
    }
  });

  it('keeps a failure whose text holds NUL, lone surrogates and bytes that are not UTF-8: replaced with U+FFFD, noted in the log', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const logged = await buildApp({ pool: db.pool, logger, config: { apiToken: undefined, bodyLimitBytes: 1 << 20, runningHubWebhookSecret: SECRET } });
    try {
      await logged.ready();
      const rh = '1910246754753896471';
      const id = await submittedTask(rh);
      const failure = {
        code: 805,
        msg: 'APIKEY_TASK_STATUS_ERROR',
        data: { failedReason: { node_name: 'K\u0000Sampler', exception_message: 'out of \ud800 memory' } },
      };
      // A raw 0xFF byte in the outer body too (inside the event name, which is only logged).
      const text = taskEnd(rh, failure).replace('"TASK_END"', '"TASK_ENDXX"');
      const [before, after] = text.split('XX') as [string, string];
      const res = await logged.inject({
        method: 'POST',
        url: `/api/runninghub/webhook?secret=${SECRET}`,
        headers: { 'content-type': 'application/json' },
        payload: Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]),
      });
      expect(res.json()).toEqual({ ok: true, state: 'applied' });
      const { rows } = await db.pool.query('SELECT status, error_code, error_message FROM ai_tasks WHERE id = $1', [id]);
      expect(rows[0]).toEqual({ status: 'FAILED', error_code: '805', error_message: 'APIKEY_TASK_STATUS_ERROR | K\ufffdSampler | out of \ufffd memory' });
      const notes = lines.map((line) => JSON.parse(line) as { event?: string; fields?: string[] }).filter((e) => e.event === 'webhook.text_replaced');
      expect(notes.map((note) => note.fields)).toEqual([
        ['(bytes that are not UTF-8)'],
        ['eventData.data.failedReason.node_name', 'eventData.data.failedReason.exception_message'],
      ]);
    } finally {
      await logged.close();
    }
  });

  it('answers 400 INVALID_TEXT to a secret holding NUL or bytes that are not UTF-8', async () => {
    const body = taskEnd('1910246754753896450', { code: 0, msg: 'success', data: [] });
    for (const secret of ['%00', '%FF']) {
      const res = await request(app.server).post(`/api/runninghub/webhook?secret=${secret}`).set('content-type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'INVALID_TEXT', details: [{ location: 'querystring', path: 'secret' }] } });
    }
  });
});
