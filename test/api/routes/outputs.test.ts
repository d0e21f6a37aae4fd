// GET /api/tasks/:id/outputs/:n: a kept output served from the output store, over a real socket.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outputFilePath } from '../../../src/store/index.js';
import { activateTask, insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp } from '../support.js';

const TOKEN = 'outputs-test-token-0123456789abcdef';
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const sha = createHash('sha256').update(bytes).digest('hex');

describe('GET /api/tasks/:id/outputs/:n', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let outputDir: string;
  let taskId: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = (n: number | string, headers: Record<string, string> = {}) =>
    request(app.server).get(`/api/tasks/${taskId}/outputs/${n}`).set({ ...auth, ...headers });

  beforeAll(async () => {
    db = await createTestDatabase('api_outputs');
    outputDir = await mkdtemp(path.join(os.tmpdir(), 'api-outputs-'));
    app = await startTestApp(db.pool, { apiToken: TOKEN, outputDir });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await rm(outputDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
    [taskId] = (await insertTasks(db.pool, 1)) as [string];
    await activateTask(db.pool, taskId);
    const outputs = [{ fileUrl: 'http://rh.example/a.png', fileType: 'png', url: `/api/tasks/${taskId}/outputs/0`, size: bytes.length, contentType: 'image/png', sha256: sha }];
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now(), outputs = $2::jsonb WHERE id = $1`, [taskId, JSON.stringify(outputs)]);
    const file = outputFilePath(outputDir, taskId, 0);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  });

  it('serves the whole file with its type, a strong ETag and immutable cache headers, and 304 on If-None-Match', async () => {
    const res = await get(0).buffer(true).parse((r, done) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'image/png',
      etag: `"${sha}"`,
      'content-length': String(bytes.length),
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=31536000, immutable',
    });
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    const again = await get(0, { 'if-none-match': `"${sha}"` });
    expect(again.status).toBe(304);
  });

  it('answers a byte range with 206, a suffix range too, and a range beyond the end with 416', async () => {
    const part = await get(0, { range: 'bytes=10-19' }).buffer(true).parse((r, done) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${bytes.length}`);
    expect([...(part.body as Buffer)]).toEqual([...bytes.subarray(10, 20)]);
    const tail = await get(0, { range: 'bytes=-5' });
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes 995-999/${bytes.length}`);
    const beyond = await get(0, { range: 'bytes=5000-' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(beyond.body.error.code).toBe('RANGE_NOT_SATISFIABLE');
    // An If-Range that no longer matches: the whole (new) file instead of a part of it.
    const stale = await get(0, { range: 'bytes=0-9', 'if-range': '"old"' });
    expect(stale.status).toBe(200);
  });

  it('names the problem: no such output, a task that is not SUCCESS, a bad number, a missing file; and needs the token', async () => {
    expect((await get(1)).body.error).toMatchObject({ code: 'OUTPUT_NOT_FOUND', message: expect.stringContaining('has 1 output(s): no output 1') });
    expect((await get('01')).status).toBe(400);
    expect((await get('x')).status).toBe(400);
    await rm(outputFilePath(outputDir, taskId, 0));
    expect((await get(0)).body.error.code).toBe('OUTPUT_FILE_MISSING');
    const [other] = await insertTasks(db.pool, 1);
    await activateTask(db.pool, other!);
    const active = await request(app.server).get(`/api/tasks/${other!}/outputs/0`).set(auth);
    expect(active.status).toBe(404);
    expect(active.body.error).toMatchObject({ code: 'OUTPUT_NOT_FOUND', details: { status: 'ACTIVE' } });
    expect((await request(app.server).get(`/api/tasks/${taskId}/outputs/0`)).status).toBe(401);
  });
});
