// Property test of issue 15: generated hostile text (NUL, lone surrogates, bytes that are not UTF-8,
// mixed with tricky valid text) at every route and parameter of the API and the webhook, on the real
// app and a real database. Never a 5xx; a 201 stores exactly what was sent; a refusal is a 400; the
// store grows by exactly the number of 201s; RunningHub's text is kept, repaired. Fixed seed.
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.js';
import { claimPendingTasks, ensureAccount, recordSubmission } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { HOSTILE_SEED, hostileBytes, hostileString, isStorableText, percentEncodeBytes, storableTextOfBytes } from '../support/hostile-text.js';
import { validTask } from './support.js';

const SECRET = 'a-webhook-secret-for-hostile-text';
const ACCOUNT = 'b'.repeat(64);
const runs = (numRuns: number) => ({ seed: HOSTILE_SEED, numRuns, endOnFailure: true });

type TaskField = 'entityType' | 'entityId' | 'entityName' | 'nodeId' | 'fieldName' | 'fieldValue' | 'extraKey';
const taskFields: TaskField[] = ['entityType', 'entityId', 'entityName', 'nodeId', 'fieldName', 'fieldValue', 'extraKey'];
const COLUMN: Record<string, string> = { entityType: 'entity_type', entityId: 'entity_id', entityName: 'entity_name' };

function bodyWith(field: TaskField, text: string): Record<string, unknown> {
  const node = { nodeId: '6', fieldName: 'text', fieldValue: 'a harbour' };
  if (field === 'nodeId' || field === 'fieldName' || field === 'fieldValue') return { ...validTask, nodeInfoList: [{ ...node, [field]: text }] };
  if (field === 'extraKey') return { ...validTask, [text]: 'x' };
  return { ...validTask, [field]: text };
}

describe('hostile text at every route of the API and the webhook (property, fixed seed)', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let rowsAtStart = 0;
  /** 201s of POST /api/tasks, plus the tasks this test inserts itself for the webhook. */
  let expectedNewRows = 0;
  const rowCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks')).rows[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase('hostile_text');
    app = await buildApp({
      pool: db.pool,
      logger: pino({ level: 'silent' }),
      config: { apiToken: undefined, bodyLimitBytes: 1 << 20, runningHubWebhookSecret: SECRET },
    });
    await app.ready();
    await ensureAccount(db.pool, ACCOUNT, 1000);
    rowsAtStart = await rowCount();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const expectNo5xx = (status: number, what: string) => {
    if (status >= 500) throw new Error(`${what} answered ${status}`);
  };

  it('POST /api/tasks: any text in any field or key is stored exactly, or refused with a 400', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...taskFields), hostileString, async (field, text) => {
        const res = await app.inject({ method: 'POST', url: '/api/tasks', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(bodyWith(field, text)) });
        expectNo5xx(res.statusCode, `POST /api/tasks with ${field}=${JSON.stringify(text)}`);
        seen.add(res.statusCode);
        if (res.statusCode === 201) {
          expectedNewRows++;
          expect(isStorableText(text)).toBe(true);
          const { rows } = await db.pool.query('SELECT entity_type, entity_id, entity_name, node_info_list FROM ai_tasks WHERE id = $1', [res.json().id]);
          const stored = field in COLUMN ? rows[0][COLUMN[field]!] : rows[0].node_info_list[0][field];
          expect(stored).toBe(text);
        } else {
          expect(res.statusCode).toBe(400);
          if (!isStorableText(text)) expect(res.json().error.code).toBe('INVALID_TEXT');
        }
      }),
      runs(150),
    );
    // Not vacuous: the generator reaches both outcomes.
    expect([...seen].sort()).toEqual([201, 400]);
  });

  it('POST /api/tasks: any bytes inside a JSON string are stored as their UTF-8 text, or refused with a 400', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(hostileBytes, async (bytes) => {
        const [before, after] = JSON.stringify({ ...validTask, entityName: 'XX' }).split('XX') as [string, string];
        const res = await app.inject({
          method: 'POST',
          url: '/api/tasks',
          headers: { 'content-type': 'application/json' },
          payload: Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]),
        });
        expectNo5xx(res.statusCode, `POST /api/tasks with entityName bytes ${Buffer.from(bytes).toString('hex')}`);
        seen.add(res.statusCode);
        const text = storableTextOfBytes(bytes);
        if (res.statusCode === 201) {
          expectedNewRows++;
          expect(text).toBeDefined();
          const { rows } = await db.pool.query('SELECT entity_name FROM ai_tasks WHERE id = $1', [res.json().id]);
          expect(rows[0].entity_name).toBe(text);
        } else {
          expect(res.statusCode).toBe(400);
          if (text === undefined) expect(['INVALID_TEXT', 'INVALID_JSON']).toContain(res.json().error.code);
        }
      }),
      runs(60),
    );
    expect([...seen].sort()).toEqual([201, 400]);
  });

  it('Idempotency-Key: any header bytes are stored as their UTF-8 text, or refused with a 400', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBytes, async (bytes) => {
        // Node hands header values over as latin1, one character per byte.
        const key = Buffer.from(bytes).toString('latin1');
        const res = await app.inject({ method: 'POST', url: '/api/tasks', headers: { 'content-type': 'application/json', 'idempotency-key': key }, payload: JSON.stringify(validTask) });
        expectNo5xx(res.statusCode, `Idempotency-Key bytes ${Buffer.from(bytes).toString('hex')}`);
        const text = storableTextOfBytes(bytes);
        if (res.statusCode === 201) {
          expectedNewRows++;
          const { rows } = await db.pool.query('SELECT idempotency_key FROM ai_tasks WHERE id = $1', [res.json().id]);
          expect(rows[0].idempotency_key).toBe(text);
        } else if (res.statusCode !== 200) {
          // 200 is a replay of a key generated twice.
          expect(res.statusCode).toBe(400);
          if (text === undefined) expect(res.json().error.code).toBe('INVALID_TEXT');
        }
      }),
      runs(40),
    );
  });

  it('GET /api/tasks and /api/stats: any bytes in any query parameter', async () => {
    const params = ['status', 'entityType', 'entityId', 'limit', 'cursor', 'unknown'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...params), hostileBytes, fc.boolean(), async (param, bytes, stats) => {
        const url = `${stats ? '/api/stats' : '/api/tasks'}?${param}=${percentEncodeBytes(bytes)}`;
        const res = await app.inject({ method: 'GET', url });
        expectNo5xx(res.statusCode, `GET ${url}`);
        const text = storableTextOfBytes(bytes);
        if (text === undefined) {
          expect(res.statusCode).toBe(400);
          expect(res.json().error).toMatchObject({ code: 'INVALID_TEXT', details: [{ location: 'querystring', path: param }] });
        } else if (res.statusCode === 200 && !stats && param === 'entityId') {
          for (const item of res.json().items as { entityId: string }[]) expect(item.entityId).toBe(text);
        } else {
          expect([200, 400]).toContain(res.statusCode);
        }
      }),
      runs(80),
    );
  });

  it('/api/tasks/:id, /cancel and /retry: any bytes as the id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('', '/cancel', '/retry'), hostileBytes, async (suffix, bytes) => {
        const url = `/api/tasks/${percentEncodeBytes(bytes)}${suffix}`;
        const res = await app.inject({ method: suffix === '' ? 'GET' : 'POST', url });
        expectNo5xx(res.statusCode, url);
        expect([400, 404]).toContain(res.statusCode);
      }),
      runs(50),
    );
  });

  it('the webhook: any bytes as the secret are 400 or 401', async () => {
    const body = JSON.stringify({ event: 'TASK_END', taskId: '1910246754753896450', eventData: JSON.stringify({ code: 0, msg: 'success', data: [] }) });
    await fc.assert(
      fc.asyncProperty(hostileBytes, async (bytes) => {
        const res = await app.inject({ method: 'POST', url: `/api/runninghub/webhook?secret=${percentEncodeBytes(bytes)}`, headers: { 'content-type': 'application/json' }, payload: body });
        expectNo5xx(res.statusCode, 'webhook secret');
        expect(res.statusCode).toBe(storableTextOfBytes(bytes) === undefined ? 400 : 401);
      }),
      runs(30),
    );
  });

  it("the webhook: RunningHub's hostile failure text is kept, every bad character replaced by U+FFFD", async () => {
    let runninghubId = 1_910_246_754_753_000_000n;
    await fc.assert(
      fc.asyncProperty(hostileString, fc.constantFrom('msg', 'exception_message', 'node_name'), async (text, where) => {
        runninghubId += 1n;
        const rh = String(runninghubId);
        await db.pool.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('shot', $1, 'webhook fixture', '19')`, [rh]);
        expectedNewRows++;
        const [claimed] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 60_000 });
        await recordSubmission(db.pool, { taskId: claimed!.id, claimToken: claimed!.claimToken, runninghubTaskId: rh, firstCheckInMs: 60_000 });
        const failedReason = { node_name: where === 'node_name' ? text : 'KSampler', exception_message: where === 'exception_message' ? text : 'boom' };
        const envelope = { code: 805, msg: where === 'msg' ? text : 'APIKEY_TASK_STATUS_ERROR', data: { failedReason } };
        const res = await app.inject({
          method: 'POST',
          url: `/api/runninghub/webhook?secret=${SECRET}`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ event: 'TASK_END', taskId: rh, eventData: JSON.stringify(envelope) }),
        });
        expectNo5xx(res.statusCode, `webhook with ${where}=${JSON.stringify(text)}`);
        expect(res.json()).toEqual({ ok: true, state: 'applied' });
        const { rows } = await db.pool.query('SELECT status, error_message FROM ai_tasks WHERE id = $1', [claimed!.id]);
        // Independent repair: UTF-8 round trip turns lone surrogates into U+FFFD; NUL by hand.
        const repaired = Buffer.from(text, 'utf8').toString('utf8').replaceAll('\u0000', '\ufffd');
        expect(rows[0].status).toBe('FAILED');
        expect(rows[0].error_message).toContain(repaired);
      }),
      runs(30),
    );
  });

  it('the store grew by exactly the number of 201s (and the webhook fixtures)', async () => {
    expect(expectedNewRows).toBeGreaterThan(0);
    expect(await rowCount()).toBe(rowsAtStart + expectedNewRows);
  });
});
