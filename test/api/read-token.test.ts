// API_READ_TOKEN at the HTTP level: every read passes, every action is refused with 403 and changes
// nothing, whatever the dashboard shows. Real HTTP on a loopback port (not only inject/supertest's server).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../src/api/index.js';
import { activateTask, insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, validTask } from './support.js';

const TOKEN = 'write-token-0123456789abcdef';
const READ_TOKEN = 'read-token-0123456789abcdef';

describe('read-only token (API_READ_TOKEN)', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    db = await createTestDatabase('api_read_token');
    app = await startTestApp(db.pool, { apiToken: TOKEN, apiReadToken: READ_TOKEN });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const send = (path: string, token: string | null, method = 'GET', body?: object) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('reads everything with the read token and says so at /api/access', async () => {
    const [failed] = await insertTasks(db.pool, 1);
    for (const path of ['/api/tasks', `/api/tasks/${failed}`, '/api/stats', '/api/queue', '/api/failures']) {
      expect((await send(path, READ_TOKEN)).status, path).toBe(200);
    }
    expect(await (await send('/api/access', READ_TOKEN)).json()).toEqual({ access: 'read' });
    expect(await (await send('/api/access', TOKEN)).json()).toEqual({ access: 'write' });
    expect((await send('/api/access', null)).status).toBe(401);
  });

  it('refuses create, cancel and retry with 403 READ_ONLY_TOKEN and changes nothing', async () => {
    const [pending] = await insertTasks(db.pool, 1, { prefix: 'ro-pending' });
    const [failed] = await insertTasks(db.pool, 1, { prefix: 'ro-failed' });
    await activateTask(db.pool, failed!);
    await db.pool.query(`UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = 'X' WHERE id = $1`, [failed]);
    const before = await db.pool.query('SELECT id, status, updated_at FROM ai_tasks ORDER BY id');

    const refused = [
      await send('/api/tasks', READ_TOKEN, 'POST', validTask),
      await send(`/api/tasks/${pending}/cancel`, READ_TOKEN, 'POST'),
      await send(`/api/tasks/${failed}/retry`, READ_TOKEN, 'POST'),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('READ_ONLY_TOKEN');
      expect(body.error.message).toMatch(/read-only token .* cannot POST \/api\/tasks/);
    }
    const after = await db.pool.query('SELECT id, status, updated_at FROM ai_tasks ORDER BY id');
    expect(after.rows).toEqual(before.rows);

    // The write token still does what the read token may not.
    expect((await send(`/api/tasks/${failed}/retry`, TOKEN, 'POST')).status).toBe(200);
    expect((await send(`/api/tasks/${pending}/cancel`, TOKEN, 'POST')).status).toBe(200);
  });

  it('treats a wrong token as 401, not as read-only', async () => {
    const res = await send('/api/tasks', `${READ_TOKEN}x`);
    expect(res.status).toBe(401);
  });

  it('refuses API_READ_TOKEN without API_TOKEN, or equal to it, at start', () => {
    expect(() => loadApiConfig({ API_READ_TOKEN: READ_TOKEN })).toThrow(/API_READ_TOKEN: needs API_TOKEN/);
    expect(() => loadApiConfig({ API_TOKEN: TOKEN, API_READ_TOKEN: TOKEN })).toThrow(/API_READ_TOKEN: must differ/);
    expect(loadApiConfig({ API_TOKEN: TOKEN, API_READ_TOKEN: READ_TOKEN })).toMatchObject({ apiToken: TOKEN, apiReadToken: READ_TOKEN });
  });
});
