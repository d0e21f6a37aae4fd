// POST /api/uploads and the references tasks make to uploads, against a real PostgreSQL and upload store.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
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

  it('refuses a second file, a body without boundary and a body cut short with 400 by name, keeping nothing', async () => {
    // A colour no other test stores: a file kept by mistake would show in the store.
    const png = solidPngForTests([1, 2, 3]);
    const storedFiles = async () => (await readdir(uploadDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    const filesBefore = await storedFiles();
    const two = await request(app.server).post('/api/uploads').attach('file', png, 'a.png').attach('file', png, 'b.png').expect(400);
    expect(two.body.error).toMatchObject({ code: 'TOO_MANY_FILES', message: 'one image per upload: a second file came in the field "file"' });
    const other = await request(app.server).post('/api/uploads').attach('file', png, 'a.png').attach('extra', png, 'b.png').expect(400);
    expect(other.body.error.message).toBe('one image per upload: a second file came in the field "extra"');

    const noBoundary = await request(app.server).post('/api/uploads').set('content-type', 'multipart/form-data').send('x').expect(400);
    expect(noBoundary.body.error).toMatchObject({ code: 'INVALID_MULTIPART', message: 'the multipart/form-data body cannot be read: Multipart: Boundary not found' });
    // The file's part begins and the body ends before its closing boundary.
    const head = '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n';
    const cut = await request(app.server)
      .post('/api/uploads')
      .set('content-type', 'multipart/form-data; boundary=XX')
      .send(Buffer.concat([Buffer.from(head), png]))
      .expect(400);
    expect(cut.body.error.code).toBe('INVALID_MULTIPART');
    expect(cut.body.error.message).toMatch(/^the multipart\/form-data body cannot be read: .*unexpected end of multipart data/);

    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM uploads');
    expect(rows[0].n).toBe(0);
    expect(await storedFiles()).toBe(filesBefore);
    expect(await leftovers()).toEqual([]);
    // A field before the file is fine.
    const withField = await request(app.server).post('/api/uploads').field('note', 'reference for shot 3').attach('file', png, 'a.png').expect(201);
    expect(withField.body.contentType).toBe('image/png');
    const after = await db.pool.query('SELECT count(*)::int AS n FROM uploads');
    expect(after.rows[0].n).toBe(1);
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

  it('fetches no URL whose host UPLOAD_URL_ALLOWED_HOSTS does not name: 422 naming the entry and the host, nothing stored', async () => {
    // The default (no list): every upload:https://… is refused, with the way round it.
    const refused = await request(app.server)
      .post('/api/tasks')
      .send({ ...validTask, nodeInfoList: [...validTask.nodeInfoList, { nodeId: '10', fieldName: 'image', fieldValue: 'upload:https://internal.example/a.png' }] })
      .expect(422);
    expect(refused.body.error).toMatchObject({ code: 'UPLOAD_URL_NOT_ALLOWED', details: { path: 'nodeInfoList.1.fieldValue', host: 'internal.example' } });
    expect(refused.body.error.message).toContain('nodeInfoList[1] (node 10, field image): the host "internal.example" is not in UPLOAD_URL_ALLOWED_HOSTS');
    expect(refused.body.error.message).toContain('POST /api/uploads');

    // With a list: a listed host is fetched, any other refused before anything is fetched. The listed
    // host is a loopback socket that counts connections (it speaks no TLS: the fetch itself fails).
    const connections = { n: 0 };
    const listed = createNetServer((socket) => {
      connections.n++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listed.listen(0, '127.0.0.1', resolve));
    const listedUrl = `https://localhost:${(listed.address() as AddressInfo).port}/hero.png`;
    const withList = await startTestApp(db.pool, { uploadDir, uploadMaxBytes: MAX, uploadUrlAllowedHosts: 'localhost,*.images.example' });
    try {
      const storyboard = await request(withList.server)
        .post('/api/storyboards')
        .send({
          name: 'Refs',
          entityType: 'project',
          entityId: 'p-hosts',
          workflowId: validTask.workflowId,
          shots: [listedUrl, 'https://169.254.169.254/latest/meta-data'].map((url) => ({
            nodeInfoList: [...validTask.nodeInfoList, { nodeId: '10', fieldName: 'image', fieldValue: `upload:${url}` }],
          })),
        })
        .expect(422);
      expect(storyboard.body.error).toMatchObject({ code: 'UPLOAD_URL_NOT_ALLOWED', details: { path: 'shots.1.nodeInfoList.1.fieldValue', host: '169.254.169.254' } });
      expect(storyboard.body.error.message).toContain('shots[1].nodeInfoList[1] (node 10, field image)');
      expect(connections.n).toBe(0);

      const fetched = await request(withList.server)
        .post('/api/tasks')
        .send({ ...validTask, nodeInfoList: [{ nodeId: '10', fieldName: 'image', fieldValue: `upload:${listedUrl}` }] })
        .expect(422);
      expect(fetched.body.error.code).toBe('UPLOAD_URL_FAILED');
      expect(connections.n).toBeGreaterThanOrEqual(1);
    } finally {
      await withList.close();
      await new Promise((resolve) => listed.close(resolve));
    }
    const { rows } = await db.pool.query('SELECT (SELECT count(*)::int FROM ai_tasks) AS tasks, (SELECT count(*)::int FROM uploads) AS uploads');
    expect(rows[0]).toEqual({ tasks: 0, uploads: 0 });
    expect(await leftovers()).toEqual([]);
  });
});
