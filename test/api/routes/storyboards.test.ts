// /api/storyboards on a real PostgreSQL through the real app: every route and its errors.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/index.js';
import { AllowedHosts } from '../../../src/store/index.js';
import { activateTask } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { solidPngForTests } from '../../support/images.js';
import { silentLogger } from '../support.js';

const WORKFLOW = '1904136902449209346';
const APP = '1877265245566922753';
const LUMINA_WORKFLOW = '1111111111111111111';

const shot = (text: string, extra: object = {}) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: text }], ...extra });
const board = (shots: object[], extra: object = {}) => ({
  name: 'Harbour at dawn',
  entityType: 'project',
  entityId: 'p-1',
  workflowId: WORKFLOW,
  shots,
  ...extra,
});

describe('storyboards API', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let uploadDir: string;
  beforeAll(async () => {
    db = await createTestDatabase('api_storyboards');
    uploadDir = await mkdtemp(path.join(os.tmpdir(), 'api-storyboards-'));
    app = await buildApp({
      pool: db.pool,
      logger: silentLogger,
      config: {
        apiToken: undefined,
        bodyLimitBytes: 1024 * 1024,
        storyboardMaxShots: 5,
        storyboardBodyLimitBytes: 4096,
        profiles: [{ name: 'lumina', maxRunning: 2, maxAttempts: 60, workflowIds: [LUMINA_WORKFLOW], webappIds: [] }],
        uploadDir,
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await rm(uploadDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, storyboards, uploads');
  });

  const post = (body: object, key?: string) => {
    const req = request(app.server).post('/api/storyboards').send(body);
    return key ? req.set('Idempotency-Key', key) : req;
  };

  describe('POST /api/storyboards', () => {
    it('creates every shot with the shared settings and its own overrides, and answers with the counts', async () => {
      const res = await post(
        board([shot('one'), shot('two', { webappId: APP, priority: 7, entityName: 'Close-up' }), shot('three', { maxAttempts: 9, instanceType: 'default' })], {
          priority: 2,
          maxAttempts: 4,
          instanceType: 'plus',
          callbackUrl: 'https://example.test/done',
        }),
      ).expect(201);
      expect(res.headers.location).toBe(`/api/storyboards/${res.body.id}`);
      expect(res.body).toMatchObject({
        name: 'Harbour at dawn',
        status: 'running',
        total: 3,
        pending: 3,
        active: 0,
        success: 0,
        failed: 0,
        cancelled: 0,
        entityType: 'project',
        entityId: 'p-1',
        settings: { workflowId: WORKFLOW, webappId: null, priority: 2, maxAttempts: 4, instanceType: 'plus', profile: null, callbackUrl: 'https://example.test/done' },
        finishedAt: null,
      });
      const details = res.body.details as { [k: string]: unknown }[];
      expect(details.map((d) => [d.shotIndex, d.entityId, d.workflowId, d.webappId, d.priority, d.maxAttempts, d.instanceType, d.storyboardId])).toEqual([
        [0, '1', WORKFLOW, null, 2, 4, 'plus', res.body.id],
        [1, '2', null, APP, 7, 4, 'plus', res.body.id],
        [2, '3', WORKFLOW, null, 2, 9, 'default', res.body.id],
      ]);
      expect(details[0]).toMatchObject({ entityType: 'shot', entityName: 'Harbour at dawn #1', status: 'PENDING' });
      expect(details[1]!.entityName).toBe('Close-up');
    });

    it('replays an Idempotency-Key with the same body and refuses it with another', async () => {
      const first = await post(board([shot('a'), shot('b')]), 'board-key-1').expect(201);
      const again = await post(board([shot('a'), shot('b')]), 'board-key-1').expect(200);
      expect(again.body.id).toBe(first.body.id);
      expect(again.body.details.map((d: { id: string }) => d.id)).toEqual(first.body.details.map((d: { id: string }) => d.id));
      const other = await post(board([shot('a'), shot('c')]), 'board-key-1').expect(409);
      expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { storyboardId: first.body.id } });
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
      expect(rows[0].n).toBe(2);
    });

    it("refuses an Idempotency-Key reused with another shot's GPU, as POST /api/tasks does", async () => {
      const first = await post(board([shot('a', { instanceType: 'plus' })]), 'board-key-gpu').expect(201);
      await post(board([shot('a', { instanceType: 'plus' })]), 'board-key-gpu').expect(200);
      const other = await post(board([shot('a', { instanceType: 'default' })]), 'board-key-gpu').expect(409);
      expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { storyboardId: first.body.id } });
      await post(board([shot('a')]), 'board-key-gpu').expect(409);
    });

    it('makes exactly one storyboard when many creates with one key run at once', async () => {
      const replies = await Promise.all(Array.from({ length: 8 }, () => post(board([shot('a'), shot('b'), shot('c')]), 'race-key')));
      expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
      expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
      const { rows } = await db.pool.query('SELECT (SELECT count(*)::int FROM storyboards) AS boards, (SELECT count(*)::int FROM ai_tasks) AS shots');
      expect(rows[0]).toEqual({ boards: 1, shots: 3 });
    });

    it('refuses more shots than STORYBOARD_MAX_SHOTS with 422 naming the limit, and creates nothing', async () => {
      const res = await post(board(Array.from({ length: 6 }, (_, i) => shot(`s${i}`)))).expect(422);
      expect(res.body.error).toMatchObject({ code: 'TOO_MANY_SHOTS', details: { maxShots: 5, shots: 6 } });
      expect(res.body.error.message).toMatch(/at most 5 shots \(STORYBOARD_MAX_SHOTS\); this one has 6/);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM storyboards');
      expect(rows[0].n).toBe(0);
    });

    it('refuses a body over STORYBOARD_BODY_LIMIT_BYTES with 413 naming the limit', async () => {
      const res = await post(board([shot('x'.repeat(5000))])).expect(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(res.body.error.message).toMatch(/at most 4096 bytes \(STORYBOARD_BODY_LIMIT_BYTES\)/);
    });

    it('takes a storyboard larger than BODY_LIMIT_BYTES when STORYBOARD_BODY_LIMIT_BYTES allows it', async () => {
      const roomy = await buildApp({
        pool: db.pool,
        logger: silentLogger,
        config: { apiToken: undefined, bodyLimitBytes: 2048, storyboardMaxShots: 5, storyboardBodyLimitBytes: 64 * 1024 },
      });
      try {
        await roomy.ready();
        const body = board([shot('y'.repeat(10_000))]);
        expect(JSON.stringify(body).length).toBeGreaterThan(2048);
        const res = await request(roomy.server).post('/api/storyboards').send(body).expect(201);
        expect(res.body.total).toBe(1);
        // The other routes keep BODY_LIMIT_BYTES.
        await request(roomy.server).post('/api/tasks').send({ entityType: 'shot', entityId: 'x', entityName: 'y'.repeat(3000), workflowId: WORKFLOW }).expect(413);
      } finally {
        await roomy.close();
      }
    });

    it('names the shot that has no workflow or app, or both', async () => {
      const none = await post({ ...board([shot('a'), shot('b')]), workflowId: undefined }).expect(400);
      expect(none.body.error.code).toBe('VALIDATION_ERROR');
      expect(none.body.error.message).toMatch(/shots\.0\.workflowId: no workflowId or webappId/);
      const both = await post(board([shot('a'), shot('b', { webappId: APP, workflowId: WORKFLOW })])).expect(400);
      expect(both.body.error.message).toMatch(/shots\.1\.workflowId: give workflowId or webappId, not both/);
      const empty = await post(board([])).expect(400);
      expect(empty.body.error.message).toMatch(/at least one shot/);
      const badUrl = await post(board([shot('a')], { callbackUrl: 'ftp://x' })).expect(400);
      expect(badUrl.body.error.message).toMatch(/callbackUrl must be an http\(s\) URL/);
      const unknownField = await post(board([shot('a', { colour: 'red' })])).expect(400);
      expect(unknownField.body.error.message).toMatch(/colour/);
    });

    it('refuses an unknown profile with 422 naming the configured ones, and uses a known profile\'s max attempts', async () => {
      const unknown = await post(board([shot('a')], { profile: 'nope' })).expect(422);
      expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_PROFILE', details: { profile: 'nope', known: ['lumina'] } });
      expect(unknown.body.error.message).toBe('no profile named nope (configured: lumina)');
      const known = await post(board([shot('a'), shot('b', { maxAttempts: 2 })], { profile: 'lumina' })).expect(201);
      expect(known.body.details.map((d: { maxAttempts: number }) => d.maxAttempts)).toEqual([60, 2]);
      const { rows } = await db.pool.query('SELECT profile FROM ai_tasks WHERE storyboard_id = $1', [known.body.id]);
      expect(rows.map((r) => r.profile)).toEqual(['lumina', 'lumina']);
      // A shot whose workflow a profile lists takes that profile's max attempts too.
      const byWorkflow = await post(board([shot('a', { workflowId: LUMINA_WORKFLOW }), shot('b')])).expect(201);
      expect(byWorkflow.body.details.map((d: { maxAttempts: number }) => d.maxAttempts)).toEqual([60, 3]);
    });
  });

  describe('GET /api/storyboards/:id and /api/tasks?storyboardId=', () => {
    it('derives the status from the shots: running, done, done_with_failures', async () => {
      const created = await post(board([shot('a'), shot('b')])).expect(201);
      const [a, b] = created.body.details.map((d: { id: string }) => d.id) as [string, string];
      await activateTask(db.pool, [a, b]);
      let res = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'running', pending: 0, active: 2 });
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [a]);
      await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = 'X' WHERE id = $1`, [b]);
      res = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'done_with_failures', total: 2, success: 1, failed: 1, finishedAt: expect.any(String) });
      expect(res.body.details.map((d: { status: string }) => d.status)).toEqual(['SUCCESS', 'FAILED']);
      const all = await post(board([shot('c')])).expect(201);
      await activateTask(db.pool, all.body.details[0].id);
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [all.body.details[0].id]);
      res = await request(app.server).get(`/api/storyboards/${all.body.id}`).expect(200);
      expect(res.body.status).toBe('done');
    });

    it('answers 404 for an unknown storyboard and 400 for an id that is not a UUID', async () => {
      const missing = await request(app.server).get('/api/storyboards/00000000-0000-4000-8000-000000000000').expect(404);
      expect(missing.body.error.code).toBe('STORYBOARD_NOT_FOUND');
      const bad = await request(app.server).get('/api/storyboards/42').expect(400);
      expect(bad.body.error.message).toMatch(/storyboard ids are UUIDs/);
    });

    it('lists a storyboard\'s shots through /api/tasks?storyboardId=', async () => {
      const one = await post(board([shot('a'), shot('b'), shot('c')])).expect(201);
      await post(board([shot('d')])).expect(201);
      await request(app.server).post('/api/tasks').send({ entityType: 'shot', entityId: 'x', entityName: 'X', workflowId: WORKFLOW }).expect(201);
      const res = await request(app.server).get(`/api/tasks?storyboardId=${one.body.id}&limit=2`).expect(200);
      const page2 = await request(app.server).get(`/api/tasks?storyboardId=${one.body.id}&limit=2&cursor=${res.body.nextCursor}`).expect(200);
      const ids = [...res.body.items, ...page2.body.items].map((t: { id: string }) => t.id).sort();
      expect(ids).toEqual(one.body.details.map((d: { id: string }) => d.id).sort());
      expect(page2.body.nextCursor).toBeNull();
      const bad = await request(app.server).get('/api/tasks?storyboardId=nope').expect(400);
      expect(bad.body.error.message).toMatch(/storyboardId must be a storyboard id/);
    });
  });

  describe('GET /api/storyboards', () => {
    it('filters by entity and status and pages newest first', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await post(board([shot(`s${i}`)], { entityId: i < 3 ? 'p-1' : 'p-2' })).expect(201)).body.id);
      const first = await request(app.server).get('/api/storyboards?entityType=project&entityId=p-1&limit=2').expect(200);
      expect(first.body.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
      expect(first.body.items[0]).not.toHaveProperty('details');
      const second = await request(app.server).get(`/api/storyboards?entityId=p-1&limit=2&cursor=${first.body.nextCursor}`).expect(200);
      expect(second.body.items.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
      expect(second.body.nextCursor).toBeNull();
      await request(app.server).post(`/api/storyboards/${ids[4]}/cancel`).expect(200);
      const cancelled = await request(app.server).get('/api/storyboards?status=cancelled').expect(200);
      expect(cancelled.body.items.map((s: { id: string }) => s.id)).toEqual([ids[4]]);
      const running = await request(app.server).get('/api/storyboards?status=running,done').expect(200);
      expect(running.body.items).toHaveLength(4);
      const bad = await request(app.server).get('/api/storyboards?status=finished').expect(400);
      expect(bad.body.error.message).toMatch(/status must be a comma-separated list of running, done, done_with_failures, cancelled/);
      const badCursor = await request(app.server).get('/api/storyboards?cursor=abc').expect(400);
      expect(badCursor.body.error.message).toMatch(/not a cursor returned by this API/);
    });
  });

  describe('cancel and retry', () => {
    it('cancels PENDING shots at once and asks for ACTIVE ones to be cancelled at RunningHub', async () => {
      const created = await post(board([shot('a'), shot('b'), shot('c')])).expect(201);
      const [a, b, c] = created.body.details.map((d: { id: string }) => d.id) as [string, string, string];
      await activateTask(db.pool, a);
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [a]);
      await activateTask(db.pool, b);
      const res = await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      expect(res.body).toMatchObject({ status: 'running', success: 1, active: 1, cancelled: 1, pending: 0, cancelledAt: expect.any(String) });
      const byId = new Map(res.body.details.map((d: { id: string }) => [d.id, d]));
      expect(byId.get(a)).toMatchObject({ status: 'SUCCESS', cancelRequested: false });
      expect(byId.get(b)).toMatchObject({ status: 'ACTIVE', cancelRequested: true });
      expect(byId.get(c)).toMatchObject({ status: 'CANCELLED', error: { code: 'CANCELLED', message: 'the storyboard was cancelled' } });
      const { rows } = await db.pool.query('SELECT next_check_at <= now() AS due FROM ai_tasks WHERE id = $1', [b]);
      expect(rows[0].due).toBe(true); // the processor's next pass carries the cancel out at RunningHub
      // The processor's cancel arrives: the storyboard is cancelled. Cancelling again changes nothing.
      await db.pool.query(`UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now() WHERE id = $1`, [b]);
      const again = await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      expect(again.body).toMatchObject({ status: 'cancelled', success: 1, cancelled: 2 });
    });

    it('refuses to cancel a storyboard whose shots have all finished, and unknown ones', async () => {
      const created = await post(board([shot('a')])).expect(201);
      await activateTask(db.pool, created.body.details[0].id);
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]'`);
      const res = await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(409);
      expect(res.body.error).toMatchObject({ code: 'NOTHING_TO_DO', details: { status: 'done' } });
      const missing = await request(app.server).post('/api/storyboards/00000000-0000-4000-8000-000000000000/cancel').expect(404);
      expect(missing.body.error.code).toBe('STORYBOARD_NOT_FOUND');
    });

    it('retries only the FAILED and CANCELLED shots', async () => {
      const created = await post(board([shot('a'), shot('b'), shot('c'), shot('d')])).expect(201);
      const [a, b, c, d] = created.body.details.map((x: { id: string }) => x.id) as [string, string, string, string];
      await activateTask(db.pool, [a, b, c]);
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [a]);
      await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = 'X', attempts = 3 WHERE id = $1`, [b]);
      await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      await db.pool.query(`UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now() WHERE id = $1`, [c]);
      const before = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(before.body).toMatchObject({ status: 'cancelled', success: 1, failed: 1, cancelled: 2 });
      const res = await request(app.server).post(`/api/storyboards/${created.body.id}/retry`).expect(200);
      expect(res.body).toMatchObject({ status: 'running', success: 1, pending: 3, failed: 0, cancelled: 0, cancelledAt: null });
      const byId = new Map(res.body.details.map((x: { id: string }) => [x.id, x]));
      expect(byId.get(a)).toMatchObject({ status: 'SUCCESS' });
      for (const id of [b, c, d]) expect(byId.get(id)).toMatchObject({ status: 'PENDING', attempts: 0, error: null, cancelRequested: false });
      const none = await request(app.server).post(`/api/storyboards/${created.body.id}/retry`).expect(409);
      expect(none.body.error).toMatchObject({ code: 'NOTHING_TO_DO', details: { status: 'running' } });
      await request(app.server).post('/api/storyboards/00000000-0000-4000-8000-000000000000/retry').expect(404);
    });

    it('calls a storyboard done, in its status, its list filter and its callback, when its cancel came too late', async () => {
      const created = await post(board([shot('a'), shot('b')], { callbackUrl: 'https://example.test/done' })).expect(201);
      const ids = created.body.details.map((x: { id: string }) => x.id) as string[];
      await activateTask(db.pool, ids);
      const cancel = await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      expect(cancel.body).toMatchObject({ status: 'running', active: 2, cancelledAt: expect.any(String) });
      // Both shots finished at RunningHub before the processor carried the cancel out.
      await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = ANY($1)`, [ids]);
      const res = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'done', success: 2, cancelled: 0, cancelledAt: expect.any(String) });
      const done = await request(app.server).get('/api/storyboards?status=done').expect(200);
      expect(done.body.items.map((s: { id: string }) => s.id)).toEqual([created.body.id]);
      const cancelled = await request(app.server).get('/api/storyboards?status=cancelled').expect(200);
      expect(cancelled.body.items).toEqual([]);
      const { rows } = await db.pool.query<{ payload: { status: string } }>('SELECT payload FROM task_callbacks WHERE storyboard_id = $1', [created.body.id]);
      expect(rows.map((r) => r.payload.status)).toEqual(['done']);
    });

    it("says cancelled in the finished callback of a cancel that itself finished the storyboard (its shots all PENDING)", async () => {
      const created = await post(board([shot('a'), shot('b')], { callbackUrl: 'https://example.test/done' })).expect(201);
      const res = await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      expect(res.body).toMatchObject({ status: 'cancelled', cancelled: 2, finishedAt: expect.any(String) });
      const { rows } = await db.pool.query<{ payload: { status: string; cancelled: number } }>('SELECT payload FROM task_callbacks WHERE storyboard_id = $1', [created.body.id]);
      expect(rows.map((r) => r.payload)).toEqual([expect.objectContaining({ status: 'cancelled', cancelled: 2 })]);
    });

    it('calls a cancelled storyboard done once its cancelled shots, retried one by one, have all succeeded', async () => {
      const created = await post(board([shot('a'), shot('b')])).expect(201);
      const ids = created.body.details.map((x: { id: string }) => x.id) as string[];
      await request(app.server).post(`/api/storyboards/${created.body.id}/cancel`).expect(200);
      const retryAndSucceed = async (id: string) => {
        await request(app.server).post(`/api/tasks/${id}/retry`).expect(200);
        await activateTask(db.pool, id);
        await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = '[]' WHERE id = $1`, [id]);
      };
      await retryAndSucceed(ids[0]!);
      // One shot is still as the cancel left it.
      const half = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(half.body).toMatchObject({ status: 'cancelled', success: 1, cancelled: 1 });
      await retryAndSucceed(ids[1]!);
      const res = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'done', success: 2, cancelled: 0 });
    });

    it('still lets one shot be handled alone through /api/tasks/:id', async () => {
      const created = await post(board([shot('a'), shot('b')])).expect(201);
      await request(app.server).post(`/api/tasks/${created.body.details[1].id}/cancel`).expect(200);
      const res = await request(app.server).get(`/api/storyboards/${created.body.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'running', pending: 1, cancelled: 1, cancelledAt: null });
    });
  });
});

// A shot's reference images, as for POST /api/tasks: `upload:<id>` and `upload:https://…` on a real
// https server on loopback (a certificate made by openssl for this run, trusted through the global agent).
describe('storyboard shots with upload references', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let uploadDir: string;
  let server: https.Server;
  let base: string;
  const hits = new Map<string, number>();
  const png = solidPngForTests([10, 120, 240]);
  const previousCa = https.globalAgent.options.ca;

  beforeAll(async () => {
    db = await createTestDatabase('api_storyboard_uploads');
    uploadDir = await mkdtemp(path.join(os.tmpdir(), 'api-storyboard-uploads-'));
    const keyPath = path.join(uploadDir, 'tls.key');
    const certPath = path.join(uploadDir, 'tls.crt');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const [key, cert] = await Promise.all([readFile(keyPath), readFile(certPath)]);
    https.globalAgent.options.ca = cert;
    server = https.createServer({ key, cert }, (req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      if (req.url === '/character.png') res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      // A redirect off the allow-list (localhost is not in it): the hop must not be requested.
      else if (req.url === '/elsewhere.png') res.writeHead(302, { location: `https://localhost:${(server.address() as AddressInfo).port}/character.png` }).end();
      else if (req.url === '/notes.txt') res.writeHead(200, { 'content-type': 'image/png' }).end('plain text, whatever the header says');
      else res.writeHead(404).end('no such image');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app = await buildApp({
      pool: db.pool,
      logger: silentLogger,
      config: { apiToken: undefined, bodyLimitBytes: 1024 * 1024, storyboardMaxShots: 5, storyboardBodyLimitBytes: 8192, uploadDir, uploadUrlAllowedHosts: AllowedHosts.parse('127.0.0.1') },
    });
    await app.ready();
  });
  afterAll(async () => {
    https.globalAgent.options.ca = previousCa;
    await app?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await db?.drop();
    await rm(uploadDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    hits.clear();
    await db.pool.query('TRUNCATE ai_tasks, storyboards, uploads');
  });

  const image = (fieldValue: string) => ({ nodeId: '10', fieldName: 'image', fieldValue });
  const withImages = (text: string, ...fieldValues: string[]) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: text }, ...fieldValues.map(image)] });
  const counts = async () =>
    (await db.pool.query('SELECT (SELECT count(*)::int FROM storyboards) AS boards, (SELECT count(*)::int FROM ai_tasks) AS shots, (SELECT count(*)::int FROM uploads) AS uploads')).rows[0];

  it('stores every shot with its references resolved to upload:<id>, fetching a shared https URL once', async () => {
    const { id } = (await request(app.server).post('/api/uploads').attach('file', solidPngForTests(), 'face.png').expect(201)).body as { id: string };
    const url = `${base}/character.png`;
    const res = await request(app.server)
      .post('/api/storyboards')
      .send(board([withImages('one', `upload:${id}`), withImages('two', `upload:${url}`), withImages('three', `upload:${url}`, `upload:${id}`), withImages('four')]))
      .expect(201);
    expect(hits.get('/character.png')).toBe(1);
    const { rows: fetched } = await db.pool.query<{ id: string }>('SELECT id FROM uploads WHERE source_url = $1', [url]);
    expect(fetched).toHaveLength(1);
    const fetchedRef = `upload:${fetched[0]!.id}`;
    // What the processor reads: the shots' rows, each reference an upload id.
    const { rows } = await db.pool.query<{ node_info_list: { fieldValue: string }[] }>(
      'SELECT node_info_list FROM ai_tasks WHERE storyboard_id = $1 ORDER BY shot_index',
      [res.body.id],
    );
    expect(rows.map((r) => r.node_info_list.slice(1).map((e) => e.fieldValue))).toEqual([[`upload:${id}`], [fetchedRef], [fetchedRef, `upload:${id}`], []]);
    expect(res.body.details[2].nodeInfoList[1]).toEqual(image(fetchedRef));
    expect(await counts()).toEqual({ boards: 1, shots: 4, uploads: 2 });
  });

  it('refuses an unknown upload id with 422 naming the shot and entry, before fetching anything, and creates nothing', async () => {
    const res = await request(app.server)
      .post('/api/storyboards')
      .send(board([withImages('one', `upload:${base}/character.png`), withImages('two', 'upload:00000000-0000-4000-8000-000000000000')]))
      .expect(422);
    expect(res.body.error).toMatchObject({ code: 'UNKNOWN_UPLOAD', details: { path: 'shots.1.nodeInfoList.1.fieldValue', uploadId: '00000000-0000-4000-8000-000000000000' } });
    expect(res.body.error.message).toContain('shots[1].nodeInfoList[1] (node 10, field image)');
    expect(hits.size).toBe(0);
    expect(await counts()).toEqual({ boards: 0, shots: 0, uploads: 0 });
  });

  it('refuses a URL it cannot fetch with 422 UPLOAD_URL_FAILED naming the shot and entry, and stores no shot', async () => {
    const missing = await request(app.server)
      .post('/api/storyboards')
      .send(board([withImages('one'), withImages('two', `upload:${base}/character.png`, `upload:${base}/gone.png`)]))
      .expect(422);
    expect(missing.body.error).toMatchObject({ code: 'UPLOAD_URL_FAILED', details: { path: 'shots.1.nodeInfoList.2.fieldValue', url: `${base}/gone.png` } });
    expect(missing.body.error.message).toContain('HTTP 404');
    const plainHttp = await request(app.server).post('/api/storyboards').send(board([withImages('one', 'upload:http://127.0.0.1:1/a.png')])).expect(422);
    expect(plainHttp.body.error).toMatchObject({ code: 'UPLOAD_URL_FAILED', details: { path: 'shots.0.nodeInfoList.1.fieldValue' } });
    expect(plainHttp.body.error.message).toContain('only https URLs');
    // The image fetched before the failure stays an upload (content-addressed, reusable); no storyboard or shot.
    expect(await counts()).toEqual({ boards: 0, shots: 0, uploads: 1 });
  });

  it('refuses a redirect to a host UPLOAD_URL_ALLOWED_HOSTS does not name (422 UPLOAD_URL_NOT_ALLOWED), without requesting it', async () => {
    const res = await request(app.server).post('/api/storyboards').send(board([withImages('one', `upload:${base}/elsewhere.png`)])).expect(422);
    expect(res.body.error).toMatchObject({ code: 'UPLOAD_URL_NOT_ALLOWED', details: { path: 'shots.0.nodeInfoList.1.fieldValue', url: `${base}/elsewhere.png`, host: 'localhost' } });
    expect(res.body.error.message).toContain('redirected to host "localhost", which is not in UPLOAD_URL_ALLOWED_HOSTS');
    expect(hits.get('/elsewhere.png')).toBe(1);
    expect(hits.get('/character.png')).toBeUndefined();
    expect(await counts()).toEqual({ boards: 0, shots: 0, uploads: 0 });
  });

  it('replays an Idempotency-Key whose shots name an https URL (the same content gives the same upload id)', async () => {
    const body = board([withImages('one', `upload:${base}/character.png`), withImages('two', `upload:${base}/character.png`)]);
    const first = await request(app.server).post('/api/storyboards').set('Idempotency-Key', 'refs-key').send(body).expect(201);
    const again = await request(app.server).post('/api/storyboards').set('Idempotency-Key', 'refs-key').send(body).expect(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.details[1].nodeInfoList).toEqual(first.body.details[1].nodeInfoList);
    expect(hits.get('/character.png')).toBe(2);
    expect(await counts()).toEqual({ boards: 1, shots: 2, uploads: 1 });
  });

  it('refuses a URL whose content is not an image with 415 naming the shot and entry', async () => {
    const res = await request(app.server).post('/api/storyboards').send(board([withImages('one'), withImages('two', `upload:${base}/notes.txt`)])).expect(415);
    expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_IMAGE_TYPE', details: { path: 'shots.1.nodeInfoList.1.fieldValue' } });
    expect(await counts()).toEqual({ boards: 0, shots: 0, uploads: 0 });
  });
});
