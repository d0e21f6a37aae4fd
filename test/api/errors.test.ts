import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, validTask } from './support.js';

/** Every reply that is not a success has this shape. */
function expectErrorShape(body: { error?: Record<string, unknown> }, code: string): void {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error ?? {}).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
}

describe('API errors', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_errors');
    app = await startTestApp(db.pool, { bodyLimitBytes: 4096 });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const rowCount = async (): Promise<number> =>
    (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks')).rows[0]!.n;

  const badBodies: [string, unknown, RegExp][] = [
    ['a missing field', { ...validTask, entityName: undefined }, /entityName/],
    ['a wrong type', { ...validTask, priority: 'high' }, /priority/],
    ['a fractional priority', { ...validTask, priority: 1.5 }, /priority/],
    ['an unknown field', { ...validTask, colour: 'red' }, /colour/],
    ['an unknown field in nodeInfoList', { ...validTask, nodeInfoList: [{ nodeId: '1', fieldName: 'a', fieldValue: 'b', x: 1 }] }, /x/],
    ['neither workflowId nor webappId', { ...validTask, workflowId: undefined }, /exactly one of workflowId and webappId/],
    ['both workflowId and webappId', { ...validTask, webappId: '1877265245566922753' }, /exactly one of workflowId and webappId/],
    // eslint-disable-next-line no-loss-of-precision -- a JSON number too long for a double is the point of this case
    ['a workflowId sent as a JSON number', { ...validTask, workflowId: 1904136902449209346 }, /workflowId must be a string of digits/],
    ['a workflowId that is not digits', { ...validTask, workflowId: 'abc' }, /workflowId/],
    ['maxAttempts out of range', { ...validTask, maxAttempts: 0 }, /maxAttempts/],
    ['an empty entityType', { ...validTask, entityType: '' }, /entityType/],
    ['an array instead of an object', [validTask], /expected object/i],
  ];

  it.each(badBodies)('answers 400 VALIDATION_ERROR for %s, naming the problem', async (_what, body, message) => {
    const res = await request(app.server).post('/api/tasks').send(body as object).expect(400);
    expectErrorShape(res.body, 'VALIDATION_ERROR');
    expect(res.body.error.message).toMatch(message);
    expect(res.body.error.details[0]).toMatchObject({ location: 'body' });
  });

  it('answers 400 INVALID_JSON for malformed JSON and prototype pollution attempts', async () => {
    for (const text of ['{"entityType": "shot",', '{"__proto__": {"admin": true}}', "{'single': 'quotes'}"]) {
      const res = await request(app.server).post('/api/tasks').set('content-type', 'application/json').send(text).expect(400);
      expectErrorShape(res.body, 'INVALID_JSON');
    }
  });

  it('treats an empty JSON body as no body: 400 for a create, fine for cancel', async () => {
    const empty = await request(app.server).post('/api/tasks').set('content-type', 'application/json').send('').expect(400);
    expectErrorShape(empty.body, 'VALIDATION_ERROR');
    expect(empty.body.error.message).toMatch(/expected object/);
    const created = await request(app.server).post('/api/tasks').send(validTask).expect(201);
    await request(app.server).post(`/api/tasks/${created.body.id}/cancel`).set('content-type', 'application/json').send('').expect(200);
  });

  it('answers 413 for an oversized body', async () => {
    const huge = { ...validTask, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'x'.repeat(10_000) }] };
    const res = await request(app.server).post('/api/tasks').send(huge).expect(413);
    expectErrorShape(res.body, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await request(app.server)
      .post('/api/tasks')
      .set('content-type', 'text/plain')
      .send('entityType=shot')
      .expect(415);
    expectErrorShape(res.body, 'UNSUPPORTED_MEDIA_TYPE');
    // The message names what came and what is taken (Fastify's own says only "Unsupported Media Type").
    expect(res.body.error.message).toBe(
      'POST /api/tasks does not take content-type "text/plain": bodies are application/json (POST /api/uploads: multipart/form-data)',
    );
    const form = await request(app.server).post('/api/tasks').type('form').send({ entityType: 'shot' }).expect(415);
    expectErrorShape(form.body, 'UNSUPPORTED_MEDIA_TYPE');
    expect(form.body.error.message).toMatch(/^POST \/api\/tasks does not take content-type "application\/x-www-form-urlencoded": /);
  });

  it('answers 400 JSON_TOO_DEEP, not 500, to a body nested deeper than the limit', async () => {
    for (const body of ['['.repeat(300) + ']'.repeat(300), `{"entityType":${'{"a":'.repeat(300)}1${'}'.repeat(301)}`]) {
      const res = await request(app.server).post('/api/tasks').set('content-type', 'application/json').send(body).expect(400);
      expect(res.body.error).toEqual({ code: 'JSON_TOO_DEEP', message: 'the JSON body nests deeper than 256 levels of arrays and objects', details: null });
    }
    // Deep is not the same as long: a long flat body is read as usual (and validated).
    const flat = await request(app.server).post('/api/tasks').set('content-type', 'application/json').send(`[${'1,'.repeat(1_000)}1]`).expect(400);
    expect(flat.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('answers 400 for a bad Idempotency-Key', async () => {
    const res = await request(app.server).post('/api/tasks').set('Idempotency-Key', 'k'.repeat(256)).send(validTask).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ location: 'headers', path: 'idempotency-key' });
  });

  it('answers 404 with the same shape for an unknown route or method', async () => {
    const route = await request(app.server).get('/api/nothing-here').expect(404);
    expectErrorShape(route.body, 'ROUTE_NOT_FOUND');
    const method = await request(app.server).delete('/api/tasks').expect(404);
    expectErrorShape(method.body, 'ROUTE_NOT_FOUND');
  });

  it('answers 404 TASK_NOT_FOUND and 409 INVALID_TRANSITION in the same shape', async () => {
    const missing = await request(app.server).get('/api/tasks/00000000-0000-4000-8000-000000000000').expect(404);
    expectErrorShape(missing.body, 'TASK_NOT_FOUND');
    const created = await request(app.server).post('/api/tasks').send(validTask).expect(201);
    const conflict = await request(app.server).post(`/api/tasks/${created.body.id}/retry`).expect(409);
    expectErrorShape(conflict.body, 'INVALID_TRANSITION');
  });

  it('writes nothing for any rejected create', async () => {
    const before = await rowCount();
    for (const [, body] of badBodies) await request(app.server).post('/api/tasks').send(body as object).expect(400);
    await request(app.server).post('/api/tasks').set('content-type', 'application/json').send('{').expect(400);
    await request(app.server).post('/api/tasks').set('content-type', 'text/plain').send('x').expect(415);
    expect(await rowCount()).toBe(before);
  });
});
