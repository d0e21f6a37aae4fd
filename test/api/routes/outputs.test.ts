// GET /api/tasks/:id/outputs/:n: a kept output served from the output store, over a real socket.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentDisposition } from '../../../src/api/routes/outputs.js';
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
    // Saved under the task's name and the output's number, not "0".
    const { rows } = await db.pool.query<{ entity_name: string }>('SELECT entity_name FROM ai_tasks WHERE id = $1', [taskId]);
    expect(res.headers['content-disposition']).toBe(`inline; filename="${rows[0]!.entity_name} 1.png"; filename*=UTF-8''${encodeURIComponent(`${rows[0]!.entity_name} 1.png`)}`);
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

  it('follows RFC 9110 on conditional requests: weak If-None-Match, If-Match, the dates, and Range for GET alone', async () => {
    const first = await get(0);
    const lastModified = first.headers['last-modified'] as string;
    const { rows } = await db.pool.query<{ finished_at: Date }>('SELECT finished_at FROM ai_tasks WHERE id = $1', [taskId]);
    expect(lastModified).toBe(rows[0]!.finished_at.toUTCString());
    // If-None-Match compares weakly (§13.1.2): a W/ tag of the same file is that file.
    expect((await get(0, { 'if-none-match': `W/"${sha}"` })).status).toBe(304);
    expect((await get(0, { 'if-none-match': '"other", W/"another"' })).status).toBe(200);
    // If-Match compares strongly (§13.1.1): another tag, or a weak one, fails with 412; * or the tag passes.
    const failed = await get(0, { 'if-match': '"nope"' });
    expect(failed.status).toBe(412);
    expect(failed.body.error).toMatchObject({ code: 'PRECONDITION_FAILED', details: { etag: `"${sha}"` } });
    expect((await get(0, { 'if-match': `W/"${sha}"` })).status).toBe(412);
    expect((await get(0, { 'if-match': `"x", "${sha}"` })).status).toBe(200);
    expect((await get(0, { 'if-match': '*' })).status).toBe(200);
    // If-Match comes before If-None-Match (§13.2.2).
    expect((await get(0, { 'if-match': '"nope"', 'if-none-match': `"${sha}"` })).status).toBe(412);
    // The dates, each looked at only without its tag counterpart.
    const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await get(0, { 'if-modified-since': lastModified })).status).toBe(304);
    expect((await get(0, { 'if-modified-since': earlier })).status).toBe(200);
    expect((await get(0, { 'if-modified-since': lastModified, 'if-none-match': '"other"' })).status).toBe(200);
    expect((await get(0, { 'if-unmodified-since': earlier })).status).toBe(412);
    expect((await get(0, { 'if-unmodified-since': later })).status).toBe(200);
    expect((await get(0, { 'if-modified-since': 'not a date' })).status).toBe(200);
    // Range is for GET alone (§14.2): HEAD with a Range gets the whole file's headers.
    const head = await request(app.server).head(`/api/tasks/${taskId}/outputs/0`).set({ ...auth, range: 'bytes=0-3' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(head.headers['content-range']).toBeUndefined();
    // The unit is case-insensitive.
    expect((await get(0, { range: 'BYTES=0-3' })).headers['content-range']).toBe(`bytes 0-3/${bytes.length}`);
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

describe('contentDisposition', () => {
  it('names the file after the task and the output (ASCII fallback, UTF-8 in filename*), without path separators, quotes or controls', () => {
    expect(contentDisposition('Harbour at dawn #2', 0, 'image/png', 'png')).toBe(
      `inline; filename="Harbour at dawn #2 1.png"; filename*=UTF-8''Harbour%20at%20dawn%20%232%201.png`,
    );
    expect(contentDisposition('港口 "清晨"/v2', 2, 'image/jpeg; charset=binary', null)).toBe(
      `inline; filename="__ _____v2 3.jpg"; filename*=UTF-8''%E6%B8%AF%E5%8F%A3%20_%E6%B8%85%E6%99%A8__v2%203.jpg`,
    );
    expect(contentDisposition('\u0007', 0, 'application/octet-stream', 'exr')).toBe(`inline; filename="_ 1.exr"; filename*=UTF-8''_%201.exr`);
    expect(contentDisposition('x', 0, 'application/octet-stream', '../sh')).toMatch(/^inline; filename="x 1\.bin";/);
  });
});
