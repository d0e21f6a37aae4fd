import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, validTask } from './support.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('API token', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_auth');
    app = await startTestApp(db.pool, { apiToken: TOKEN });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const apiCalls = (): request.Test[] => [
    request(app.server).get('/api/tasks'),
    request(app.server).post('/api/tasks').send(validTask),
    request(app.server).get('/api/tasks/00000000-0000-4000-8000-000000000000'),
    request(app.server).post('/api/tasks/00000000-0000-4000-8000-000000000000/cancel'),
    request(app.server).post('/api/tasks/00000000-0000-4000-8000-000000000000/retry'),
    request(app.server).get('/api/stats'),
  ];

  it('refuses every /api route without a token, with a wrong one, or with another scheme', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, 'Bearer short', `Basic ${TOKEN}`, TOKEN]) {
      for (const call of apiCalls()) {
        const res = await (authorization ? call.set('Authorization', authorization) : call).expect(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
    expect(rows[0].n).toBe(0);
  });

  it('lets the right token through', async () => {
    const created = await request(app.server).post('/api/tasks').set('Authorization', `Bearer ${TOKEN}`).send(validTask).expect(201);
    await request(app.server).get(`/api/tasks/${created.body.id}`).set('Authorization', `bearer ${TOKEN}`).expect(200);
    await request(app.server).get('/api/stats').set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });

  it('keeps health, readiness, metrics and docs open', async () => {
    await request(app.server).get('/healthz').expect(200);
    await request(app.server).get('/readyz').expect(200);
    await request(app.server).get('/metrics').expect(200);
    await request(app.server).get('/docs/json').expect(200);
  });
});
