// callbackUrl on POST /api/tasks and the deliveries' state on GET /api/tasks/:id.
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueCallbacks, recordCallbackOutcome } from '../../../src/db/index.js';
import { activateTask } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp, validTask } from '../support.js';

describe('task callbacks in the API', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_callback_url');
    app = await startTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('keeps the callbackUrl and shows each delivery with its state', async () => {
    const created = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, callbackUrl: 'https://example.test/hooks/shots?x=1' })
      .expect(201);
    expect(created.body.callbackUrl).toBe('https://example.test/hooks/shots?x=1');
    const id = created.body.id as string;
    expect((await request(app.server).get(`/api/tasks/${id}`).expect(200)).body.callbackDeliveries).toEqual([]);
    await activateTask(db.pool, id);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() WHERE id = $1`, [id]);
    const [due] = await claimDueCallbacks(db.pool, { limit: 1, leaseMs: 10_000 });
    await recordCallbackOutcome(db.pool, due!, { kind: 'refused', httpStatus: 503, error: 'HTTP 503', retryInMs: 60_000 });
    const shown = await request(app.server).get(`/api/tasks/${id}`).expect(200);
    expect(shown.body.callbackDeliveries).toEqual([
      {
        id: expect.any(String),
        url: 'https://example.test/hooks/shots?x=1',
        state: 'pending',
        attempts: 1,
        nextAttemptAt: expect.any(String),
        lastStatus: 503,
        lastError: 'HTTP 503',
        createdAt: expect.any(String),
        deliveredAt: null,
      },
    ]);
  });

  it('refuses a callbackUrl that is not an absolute http(s) URL, naming it', async () => {
    for (const callbackUrl of ['ftp://example.test/x', '/relative', 'not a url', 42]) {
      const res = await request(app.server).post('/api/tasks').send({ ...validTask, callbackUrl }).expect(400);
      expect(res.body.error.message).toMatch(/callbackUrl/);
    }
    const long = `https://example.test/${'a'.repeat(2000)}`;
    const res = await request(app.server).post('/api/tasks').send({ ...validTask, callbackUrl: long }).expect(400);
    expect(res.body.error.message).toMatch(/callbackUrl/);
  });
});
