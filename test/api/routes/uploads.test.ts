// POST /api/uploads and the references tasks make to uploads, against a real PostgreSQL and upload store.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uploadFilePath } from '../../../src/store/index.js';
import { solidPngForTests } from '../../support/images.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp, validTask } from '../support.js';

const MAX = 4096;

describe('uploads API', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let uploadDir: string;
  beforeAll(async () => {
    db = await createTestDatabase('api_uploads');
    uploadDir = await mkdtemp(path.join(os.tmpdir(), 'api-uploads-'));
    app = await startTestApp(db.pool, { uploadDir, uploadMaxBytes: MAX });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await rm(uploadDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, uploads');
  });

  /** Entries of the store's top level that are temporary files (none may stay). */
  const leftovers = async () => (await readdir(uploadDir)).filter((name) => name.startsWith('.part-'));
  const upload = (bytes: Buffer, name = 'ref.png') => request(app.server).post('/api/uploads').attach('file', bytes, name);

  it('stores a PNG, JPEG or WebP by content and returns its id and reference', async () => {
    const png = solidPngForTests();
    const res = await upload(png, 'photo.jpg').expect(201);
    const sha = createHash('sha256').update(png).digest('hex');
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      reference: `upload:${res.body.id}`,
      sha256: sha,
      size: png.length,
      contentType: 'image/png',
      createdAt: expect.any(String),
    });
    expect(Buffer.compare(await readFile(uploadFilePath(uploadDir, sha)), png)).toBe(0);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 1)]);
    expect((await upload(jpeg, 'x.png').expect(201)).body.contentType).toBe('image/jpeg');
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x20, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(40, 2)]);
    expect((await upload(webp, 'x.bin').expect(201)).body.contentType).toBe('image/webp');
  });

  it('refuses another type with 415 and a file over UPLOAD_MAX_BYTES with 413, leaving nothing behind', async () => {
    const text = await upload(Buffer.from('GIF89a is not accepted, and neither is text'), 'fake.png').expect(415);
    expect(text.body.error.code).toBe('UNSUPPORTED_IMAGE_TYPE');
    const big = Buffer.concat([solidPngForTests(), Buffer.alloc(MAX * 4)]);
    const res = await upload(big).expect(413);
    expect(res.body.error).toMatchObject({ code: 'UPLOAD_TOO_LARGE', details: { maxBytes: MAX } });
    expect(await leftovers()).toEqual([]);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM uploads');
    expect(rows[0].n).toBe(0);
    const none = await request(app.server).post('/api/uploads').field('note', 'no file here').expect(400);
    expect(none.body.error.code).toBe('NO_FILE');
    await request(app.server).post('/api/uploads').set('content-type', 'application/json').send({ file: 'x' }).expect(415);
  });

  it('lets a task refer to an upload, and answers 422 naming the entry for an unknown id or a URL it cannot fetch', async () => {
    const { id } = (await upload(solidPngForTests()).expect(201)).body as { id: string };
    const ok = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, nodeInfoList: [...validTask.nodeInfoList, { nodeId: '10', fieldName: 'image', fieldValue: `upload:${id}` }] })
      .expect(201);
    expect(ok.body.nodeInfoList[1]).toEqual({ nodeId: '10', fieldName: 'image', fieldValue: `upload:${id}` });

    const unknown = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, nodeInfoList: [...validTask.nodeInfoList, { nodeId: '10', fieldName: 'image', fieldValue: 'upload:00000000-0000-4000-8000-000000000000' }] })
      .expect(422);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_UPLOAD', details: { path: 'nodeInfoList.1.fieldValue' } });
    expect(unknown.body.error.message).toContain('nodeInfoList[1] (node 10, field image)');
    const notUuid = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, nodeInfoList: [{ nodeId: '10', fieldName: 'image', fieldValue: 'upload:nope' }] })
      .expect(422);
    expect(notUuid.body.error.details.path).toBe('nodeInfoList.0.fieldValue');
    // Only https is fetched for a client (no plain http, no file:).
    const http = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, nodeInfoList: [{ nodeId: '10', fieldName: 'image', fieldValue: 'upload:http://127.0.0.1:1/a.png' }] })
      .expect(422);
    expect(http.body.error).toMatchObject({ code: 'UPLOAD_URL_FAILED', details: { path: 'nodeInfoList.0.fieldValue' } });
    expect(http.body.error.message).toContain('only https URLs');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
    expect(rows[0].n).toBe(1);
  });
});
