import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, runMigrations, startEmbeddedPostgres, type Pool, type RunningPostgres } from '../../src/db/index.js';
import { waitFor } from '../support/wait.js';
import { startTestApp, validTask } from './support.js';

// This file stops and restarts its own PostgreSQL, so it cannot share the run's server.
describe('with the database down', () => {
  let tmp: string;
  let server: RunningPostgres | undefined;
  let pool: Pool;
  let app: FastifyInstance;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'storyboard-api-dbdown-'));
    // As root, PostgreSQL runs as the postgres user, which must be able to enter this folder.
    await chmod(tmp, 0o755);
    server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), ephemeral: true });
    pool = createPool({ connectionString: server.url, applicationName: 'test-dbdown', connectionTimeoutMillis: 1000, max: 5 });
    await runMigrations(pool);
    app = await startTestApp(pool);
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('answers 503 fast while it is down, stays up, and recovers by itself when it returns', async () => {
    const created = await request(app.server).post('/api/tasks').send(validTask).expect(201);
    const { port, dataDir } = server!;

    await server!.stop();
    server = undefined;

    const calls = [
      () => request(app.server).post('/api/tasks').send(validTask),
      () => request(app.server).get(`/api/tasks/${created.body.id}`),
      () => request(app.server).get('/api/tasks'),
      () => request(app.server).post(`/api/tasks/${created.body.id}/cancel`),
      () => request(app.server).get('/api/stats'),
    ];
    for (const call of calls) {
      const started = Date.now();
      const res = await call();
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', message: expect.any(String) });
      expect(res.headers['retry-after']).toBe('1');
      // The connection timeout is 1 s; a hung request would take the statement timeout or longer.
      expect(elapsed).toBeLessThan(8_000);
    }
    await request(app.server).get('/healthz').expect(200);
    const ready = await request(app.server).get('/readyz').expect(503);
    expect(ready.body.status).toBe('not_ready');
    const metrics = await request(app.server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^storyboard_api_database_up 0$/m);
    expect(metrics.text).not.toMatch(/^storyboard_ai_tasks\{/m);

    // Same port and data folder: the pool's connection string is still right.
    server = await startEmbeddedPostgres({ dataDir, port, ephemeral: true });
    await waitFor('the API to reach the database again', async () => (await request(app.server).get('/readyz')).status === 200);
    await request(app.server).post('/api/tasks').send(validTask).expect(201);
    const again = await request(app.server).get(`/api/tasks/${created.body.id}`).expect(200);
    expect(again.body.id).toBe(created.body.id);
  });
});
