import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordHeartbeat } from '../../../src/db/index.js';
import { activateTask } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp, validTask } from '../support.js';

describe('tasks API', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_tasks');
    app = await startTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
  });

  const post = (body: object, key?: string) => {
    const req = request(app.server).post('/api/tasks').send(body);
    return key ? req.set('Idempotency-Key', key) : req;
  };

  describe('POST /api/tasks', () => {
    it('creates a PENDING task with defaults and returns it in camelCase', async () => {
      const res = await post(validTask).expect(201).expect('content-type', /application\/json/);
      expect(res.headers.location).toBe(`/api/tasks/${res.body.id}`);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'PENDING',
        entityType: 'shot',
        entityId: 'shot-1',
        entityName: 'Shot 1: the harbour at dawn',
        workflowId: '1904136902449209346',
        webappId: null,
        nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a harbour at dawn' }],
        priority: 0,
        attempts: 0,
        maxAttempts: 3,
        instanceType: null,
        runAfter: expect.any(String),
        runninghubTaskId: null,
        runninghubPhase: null,
        callbackUrl: null,
        outputs: null,
        error: null,
        cancelRequested: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        submittedAt: null,
        finishedAt: null,
        storyboardId: null,
        shotIndex: null,
      });
      expect(Number.isNaN(Date.parse(res.body.createdAt))).toBe(false);
      const { rows } = await db.pool.query('SELECT entity_name, workflow_id, node_info_list FROM ai_tasks WHERE id = $1', [
        res.body.id,
      ]);
      expect(rows[0]).toEqual({
        entity_name: validTask.entityName,
        workflow_id: validTask.workflowId,
        node_info_list: validTask.nodeInfoList,
      });
    });

    it('accepts an AI app task with priority and maxAttempts, and turns numeric fieldValues into strings', async () => {
      const res = await post({
        entityType: 'character',
        entityId: 'c-9',
        entityName: 'Hero',
        webappId: '1877265245566922753',
        nodeInfoList: [
          { nodeId: '122', fieldName: 'seed', fieldValue: 1234 },
          { nodeId: '122', fieldName: 'tiled', fieldValue: false },
        ],
        priority: 10,
        maxAttempts: 5,
      }).expect(201);
      expect(res.body).toMatchObject({
        webappId: '1877265245566922753',
        workflowId: null,
        priority: 10,
        maxAttempts: 5,
        nodeInfoList: [
          { nodeId: '122', fieldName: 'seed', fieldValue: '1234' },
          { nodeId: '122', fieldName: 'tiled', fieldValue: 'false' },
        ],
      });
    });

    it('stores instanceType ("plus" = 48 GB) and names the field when it is not default or plus', async () => {
      const res = await post({ ...validTask, instanceType: 'plus' }).expect(201);
      expect(res.body.instanceType).toBe('plus');
      const { rows } = await db.pool.query('SELECT instance_type FROM ai_tasks WHERE id = $1', [res.body.id]);
      expect(rows[0]).toEqual({ instance_type: 'plus' });
      const bad = await post({ ...validTask, instanceType: 'huge' }).expect(400);
      expect(bad.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ path: 'instanceType' }] });
    });

    it('replays an Idempotency-Key with the same body (200, same task) and refuses a different body (409)', async () => {
      const first = await post(validTask, 'order-42').expect(201);
      // Same request, keys in another order and a default spelled out.
      const { nodeInfoList, ...rest } = validTask;
      const reordered = { priority: 0, nodeInfoList, ...rest };
      const replay = await post(reordered, 'order-42').expect(200);
      expect(replay.body).toEqual(first.body);
      const conflict = await post({ ...validTask, entityName: 'Different' }, 'order-42').expect(409);
      expect(conflict.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { taskId: first.body.id } });
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
      expect(rows[0].n).toBe(1);
    });

    it('makes exactly one row for concurrent creates with the same key', async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => post(validTask, 'burst-key')));
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 200)).toHaveLength(19);
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ai_tasks WHERE idempotency_key = 'burst-key'`);
      expect(rows[0].n).toBe(1);
    });

    it('creates a new task for each request without a key', async () => {
      const [a, b] = await Promise.all([post(validTask).expect(201), post(validTask).expect(201)]);
      expect(a.body.id).not.toBe(b.body.id);
    });
  });

  describe('GET /api/tasks/:id', () => {
    it('returns the task, with the 19-digit RunningHub id and outputs as stored', async () => {
      const created = await post(validTask).expect(201);
      await activateTask(db.pool, created.body.id);
      await db.pool.query(
        `UPDATE ai_tasks SET status = 'SUCCESS', submitted_at = now(), finished_at = now(), attempts = 1,
           runninghub_task_id = '1910246754753896450',
           outputs = '[{"fileUrl":"http://127.0.0.1/files/1.png","fileType":"png","nodeId":"9","taskCostTime":"83"}]'
         WHERE id = $1`,
        [created.body.id],
      );
      const res = await request(app.server).get(`/api/tasks/${created.body.id}`).expect(200);
      expect(res.text).toContain('"runninghubTaskId":"1910246754753896450"');
      expect(res.body).toMatchObject({
        status: 'SUCCESS',
        attempts: 1,
        outputs: [{ fileUrl: 'http://127.0.0.1/files/1.png', fileType: 'png', nodeId: '9', taskCostTime: '83' }],
        submittedAt: expect.any(String),
        finishedAt: expect.any(String),
      });
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const missing = await request(app.server).get('/api/tasks/00000000-0000-4000-8000-000000000000').expect(404);
      expect(missing.body.error.code).toBe('TASK_NOT_FOUND');
      const malformed = await request(app.server).get('/api/tasks/42').expect(400);
      expect(malformed.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ location: 'params', path: 'id' }] });
    });
  });

  describe('GET /api/tasks', () => {
    async function insertTasks(count: number, entityId = 'bulk'): Promise<void> {
      // One statement: the rows share created_at, so the cursor's id tiebreak is exercised too.
      await db.pool.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id)
         SELECT 'shot', $2, 'Shot ' || g, '1904136902449209346' FROM generate_series(1, $1::int) g`,
        [count, entityId],
      );
    }

    it('pages through everything with no duplicates and no gaps, while new tasks arrive', async () => {
      await insertTasks(25);
      const before = await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks ORDER BY created_at DESC, id DESC');
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await request(app.server)
          .get('/api/tasks')
          .query({ limit: 4, ...(cursor ? { cursor } : {}) })
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(4);
        seen.push(...res.body.items.map((t: { id: string }) => t.id));
        cursor = res.body.nextCursor;
        pages += 1;
        // Newer tasks land before the first page, not inside the pages still to come.
        await post({ ...validTask, entityId: `new-${pages}` }).expect(201);
      } while (cursor !== null && pages < 50);
      expect(pages).toBe(7);
      expect(seen).toEqual(before.rows.map((r) => r.id));
    });

    it('filters by status (one or several) and by entity', async () => {
      await insertTasks(3, 'x');
      const other = await post({ ...validTask, entityType: 'character', entityId: 'y' }).expect(201);
      await request(app.server).post(`/api/tasks/${other.body.id}/cancel`).expect(200);

      const cancelled = await request(app.server).get('/api/tasks?status=CANCELLED').expect(200);
      expect(cancelled.body.items.map((t: { id: string }) => t.id)).toEqual([other.body.id]);
      const both = await request(app.server).get('/api/tasks?status=PENDING,cancelled').expect(200);
      expect(both.body.items).toHaveLength(4);
      const repeated = await request(app.server).get('/api/tasks?status=PENDING&status=CANCELLED').expect(200);
      expect(repeated.body.items).toHaveLength(4);
      const byEntity = await request(app.server).get('/api/tasks?entityType=shot&entityId=x').expect(200);
      expect(byEntity.body.items).toHaveLength(3);
      expect(byEntity.body.nextCursor).toBeNull();
      const byType = await request(app.server).get('/api/tasks?entityType=character').expect(200);
      expect(byType.body.items.map((t: { id: string }) => t.id)).toEqual([other.body.id]);
    });

    it('defaults to 20 per page and caps limit at 100', async () => {
      await insertTasks(21);
      const res = await request(app.server).get('/api/tasks').expect(200);
      expect(res.body.items).toHaveLength(20);
      expect(res.body.nextCursor).toEqual(expect.any(String));
      await request(app.server).get('/api/tasks?limit=100').expect(200);
      const tooMany = await request(app.server).get('/api/tasks?limit=101').expect(400);
      expect(tooMany.body.error.code).toBe('VALIDATION_ERROR');
      expect(tooMany.body.error.message).toMatch(/limit/);
    });

    it('rejects bad filters and forged cursors with 400', async () => {
      const badStatus = await request(app.server).get('/api/tasks?status=DONE').expect(400);
      expect(badStatus.body.error.message).toMatch(/status must be/);
      const forged = await request(app.server).get('/api/tasks?cursor=bm90LWEtY3Vyc29y').expect(400);
      expect(forged.body.error.message).toMatch(/cursor/);
      // Well formed but out of any time PostgreSQL can compute (it answered 500 "interval out of range").
      const uuid = '00000000-0000-4000-8000-000000000000';
      for (const micros of ['99999999999999999999', '9223372036854775807', '-9223372036854775808', '253402300800000000']) {
        const cursor = Buffer.from(`${micros}.${uuid}`).toString('base64url');
        for (const list of ['/api/tasks', '/api/storyboards']) {
          const res = await request(app.server).get(`${list}?cursor=${cursor}`).expect(400);
          expect(res.body.error.message).toMatch(/not a cursor returned by this API/);
        }
      }
      // The bounds themselves are times PostgreSQL takes: an empty page, not an error.
      for (const micros of ['253402300799999999', '-62135596800000000']) {
        await request(app.server).get(`/api/tasks?cursor=${Buffer.from(`${micros}.${uuid}`).toString('base64url')}`).expect(200);
      }
      const unknown = await request(app.server).get('/api/tasks?colour=red').expect(400);
      expect(unknown.body.error.code).toBe('VALIDATION_ERROR');
    });
  });

  describe('cancel and retry', () => {
    const setStatus = async (id: string, status: string) => {
      if (status !== 'PENDING') await activateTask(db.pool, id);
      return db.pool.query(
        `UPDATE ai_tasks SET status = $2, finished_at = CASE WHEN $2 IN ('SUCCESS','FAILED','CANCELLED') THEN now() END,
           submitted_at = CASE WHEN $2 <> 'PENDING' THEN now() END WHERE id = $1`,
        [id, status],
      );
    };

    it('cancels PENDING at once, marks ACTIVE for the processor, refuses SUCCESS with 409', async () => {
      const pending = (await post(validTask).expect(201)).body;
      const cancelled = await request(app.server).post(`/api/tasks/${pending.id}/cancel`).expect(200);
      expect(cancelled.body).toMatchObject({ status: 'CANCELLED', cancelRequested: true, finishedAt: expect.any(String) });

      const active = (await post(validTask).expect(201)).body;
      await setStatus(active.id, 'ACTIVE');
      const marked = await request(app.server).post(`/api/tasks/${active.id}/cancel`).expect(200);
      expect(marked.body).toMatchObject({ status: 'ACTIVE', cancelRequested: true, finishedAt: null });

      await setStatus(active.id, 'SUCCESS');
      const refused = await request(app.server).post(`/api/tasks/${active.id}/cancel`).expect(409);
      expect(refused.body.error).toMatchObject({ code: 'INVALID_TRANSITION', details: { status: 'SUCCESS' } });
      const { rows } = await db.pool.query('SELECT status FROM ai_tasks WHERE id = $1', [active.id]);
      expect(rows[0].status).toBe('SUCCESS');
    });

    it('retries FAILED and CANCELLED tasks back to PENDING, refuses PENDING with 409', async () => {
      const task = (await post(validTask).expect(201)).body;
      const early = await request(app.server).post(`/api/tasks/${task.id}/retry`).expect(409);
      expect(early.body.error.code).toBe('INVALID_TRANSITION');
      await activateTask(db.pool, task.id);
      await db.pool.query(
        `UPDATE ai_tasks SET status = 'FAILED', attempts = 3, finished_at = now(), error_code = 'RH_805', error_message = 'boom' WHERE id = $1`,
        [task.id],
      );
      const retried = await request(app.server).post(`/api/tasks/${task.id}/retry`).expect(200);
      expect(retried.body).toMatchObject({ status: 'PENDING', attempts: 0, error: null, finishedAt: null });
      await request(app.server).post(`/api/tasks/${task.id}/cancel`).expect(200);
      const again = await request(app.server).post(`/api/tasks/${task.id}/retry`).expect(200);
      expect(again.body).toMatchObject({ status: 'PENDING', cancelRequested: false });
    });

    it('answers 404 for unknown ids', async () => {
      for (const action of ['cancel', 'retry']) {
        const res = await request(app.server).post(`/api/tasks/00000000-0000-4000-8000-000000000000/${action}`).expect(404);
        expect(res.body.error.code).toBe('TASK_NOT_FOUND');
      }
    });
  });

  describe('GET /api/stats', () => {
    it('reports counts by status, oldest PENDING age, recent throughput and failures by code', async () => {
      await post(validTask).expect(201);
      await db.pool.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, status, finished_at, error_code) VALUES
          ('shot', '1', 'a', '1', 'SUCCESS', now(), NULL),
          ('shot', '2', 'b', '1', 'FAILED', now() - interval '2 minutes', 'RH_805')`,
      );
      const res = await request(app.server).get('/api/stats').expect(200);
      expect(res.body).toMatchObject({
        countsByStatus: { PENDING: 1, ACTIVE: 0, SUCCESS: 1, FAILED: 1, CANCELLED: 0 },
        oldestPendingAgeSeconds: expect.any(Number),
        finishedLastMinute: 1,
        finishedLastFiveMinutes: 2,
        failuresByErrorCode: [{ code: 'RH_805', count: 1 }],
        processors: [],
      });
    });

    it('lists the live task processors from their heartbeats', async () => {
      await recordHeartbeat(db.pool, {
        processorId: 'proc-a',
        host: 'box',
        pid: 4242,
        startedAt: new Date(),
        submitted: 7,
        retried: 1,
        orphaned: 0,
        orphanCancelFailures: 0,
        consecutiveErrors: 0,
        lastError: null,
      });
      const res = await request(app.server).get('/api/stats').expect(200);
      expect(res.body.processors).toEqual([
        expect.objectContaining({ processorId: 'proc-a', host: 'box', pid: 4242, submitted: 7, lastBeatAt: expect.any(String) }),
      ]);
    });
  });
});
