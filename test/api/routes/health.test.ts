import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp, validTask } from '../support.js';

describe('health, readiness, metrics and docs', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_health');
    app = await startTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await request(app.server).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(app.server).get('/readyz').expect(200)).body).toEqual({ status: 'ready', database: 'ok' });
  });

  it('is not ready, and /api answers 503, until the schema is migrated', async () => {
    let migrated = false;
    const early = await startTestApp(db.pool, { isSchemaReady: () => migrated });
    try {
      await request(early.server).get('/healthz').expect(200);
      expect((await request(early.server).get('/readyz').expect(503)).body.status).toBe('not_ready');
      const res = await request(early.server).post('/api/tasks').send(validTask).expect(503);
      expect(res.body.error.code).toBe('DATABASE_UNAVAILABLE');
      migrated = true;
      await request(early.server).get('/readyz').expect(200);
      await request(early.server).post('/api/tasks').send(validTask).expect(201);
    } finally {
      await early.close();
    }
  });

  it('exports Prometheus metrics: process defaults, request histogram by route, tasks by status', async () => {
    await db.pool.query('TRUNCATE ai_tasks');
    await request(app.server).post('/api/tasks').send(validTask).expect(201);
    await request(app.server).post('/api/tasks').send(validTask).expect(201);
    const created = await request(app.server).post('/api/tasks').send(validTask).expect(201);
    await request(app.server).post(`/api/tasks/${created.body.id}/cancel`).expect(200);
    await request(app.server).get(`/api/tasks/${created.body.id}`).expect(200);

    const res = await request(app.server).get('/metrics').expect(200).expect('content-type', /text\/plain/);
    expect(res.text).toMatch(/^storyboard_api_process_resident_memory_bytes \d+/m);
    expect(res.text).toMatch(/^storyboard_ai_tasks\{status="PENDING"\} 2$/m);
    expect(res.text).toMatch(/^storyboard_ai_tasks\{status="CANCELLED"\} 1$/m);
    expect(res.text).toMatch(/^storyboard_ai_tasks\{status="ACTIVE"\} 0$/m);
    expect(res.text).toMatch(/^storyboard_api_database_up 1$/m);
    expect(res.text).toMatch(
      /^storyboard_api_http_request_duration_seconds_count\{method="POST",route="\/api\/tasks",status_code="201"\} 3$/m,
    );
    // The route template, never the task id: one series per route.
    expect(res.text).toMatch(/route="\/api\/tasks\/:id"/);
    expect(res.text).not.toContain(created.body.id);
  });

  it('serves OpenAPI generated from the zod schemas, and the docs page', async () => {
    const spec = (await request(app.server).get('/docs/json').expect(200)).body;
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/tasks', '/api/tasks/{id}', '/api/tasks/{id}/cancel', '/api/tasks/{id}/retry', '/api/stats', '/healthz', '/readyz']),
    );
    const createBody = spec.paths['/api/tasks'].post.requestBody.content['application/json'].schema;
    const resolved = createBody.$ref ? spec.components.schemas[createBody.$ref.split('/').pop()] : createBody;
    expect(resolved.required).toEqual(expect.arrayContaining(['entityType', 'entityId', 'entityName']));
    expect(resolved.properties.workflowId).toMatchObject({ type: 'string', pattern: '^[0-9]{1,30}$' });
    expect(resolved.additionalProperties).toBe(false);
    const page = await request(app.server).get('/docs').redirects(1).expect(200);
    expect(page.text).toMatch(/swagger/i);
  });
});
