// The text rule (src/shared/text.ts) at every boundary of the API, through the real app, a real
// database and real HTTP: the cases reported in issue 15, and one of each kind of boundary.
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../../src/api/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, validTask } from './support.js';

const invalidText = (location: string, path: string) => ({
  error: {
    code: 'INVALID_TEXT',
    message: expect.stringContaining(`invalid ${location}: ${path}`),
    details: [{ location, path, message: expect.any(String) }],
  },
});

/** Status and JSON body of a raw reply. */
function parseReply(reply: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
  return { status, body: JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as unknown };
}

/** Bytes on a raw socket: for what an HTTP client library would refuse to send (every request says Connection: close). */
function rawRequest(port: number, head: Buffer | string, body: Buffer = Buffer.alloc(0)): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // write, not end: a half-closed socket may be closed by the server before the reply is written.
    socket.write(Buffer.concat([Buffer.isBuffer(head) ? head : Buffer.from(head, 'latin1'), body]));
  });
}

describe('hostile text at the API boundary', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    db = await createTestDatabase('api_text');
    app = await startTestApp(db.pool);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
  });
  const count = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks')).rows[0]!.n;
  const postRaw = (json: string) => request(app.server).post('/api/tasks').set('content-type', 'application/json').send(json);
  const postBytes = async (body: Buffer) =>
    parseReply(
      await rawRequest(
        port,
        `POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      ),
    );

  describe('the reported cases', () => {
    it('a NUL in entityName or in a fieldValue is a 400 naming the field, not a 500', async () => {
      const nulName = await postRaw(JSON.stringify({ ...validTask, entityName: 'a\u0000b' }));
      expect(nulName.status).toBe(400);
      expect(nulName.body).toEqual(invalidText('body', 'entityName'));
      expect(nulName.body.error.message).toMatch(/U\+0000/);
      const nulValue = await postRaw(
        JSON.stringify({ ...validTask, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'x\u0000' }] }),
      );
      expect(nulValue.status).toBe(400);
      expect(nulValue.body).toEqual(invalidText('body', 'nodeInfoList.0.fieldValue'));
      expect(await count()).toBe(0);
    });

    it('a NUL in ?entityId= or ?entityType= is a 400, not a 500', async () => {
      const id = await request(app.server).get('/api/tasks?entityId=%00');
      expect(id.status).toBe(400);
      expect(id.body).toEqual(invalidText('querystring', 'entityId'));
      const type = await request(app.server).get('/api/tasks?entityType=a%00b');
      expect(type.status).toBe(400);
      expect(type.body).toEqual(invalidText('querystring', 'entityType'));
    });

    it('a lone surrogate in entityName is refused, not stored as U+FFFD', async () => {
      // JSON.stringify escapes it as \ud800: valid JSON, not valid Unicode.
      const res = await postRaw(JSON.stringify({ ...validTask, entityName: 'a\ud800b' }));
      expect(res.status).toBe(400);
      expect(res.body).toEqual(invalidText('body', 'entityName'));
      expect(res.body.error.message).toMatch(/lone surrogate U\+D800/);
      expect(await count()).toBe(0);
    });

    it('?entityId=%FF%FE (bytes that are not UTF-8) is a 400, not an empty list', async () => {
      const res = await request(app.server).get('/api/tasks?entityId=%FF%FE');
      expect(res.status).toBe(400);
      expect(res.body).toEqual(invalidText('querystring', 'entityId'));
      expect(res.body.error.details[0].message).toBe(
        "is not valid UTF-8 ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)",
      );
    });
  });

  describe('every kind of boundary', () => {
    it('keeps good text exactly: astral characters, combining marks, U+FFFD sent on purpose, percent-encoded UTF-8', async () => {
      const name = 'Shot \ud83c\udf05 e\u0301 \ufffd 海';
      const created = await postRaw(JSON.stringify({ ...validTask, entityName: name, entityId: 'é/海' })).expect(201);
      expect(created.body.entityName).toBe(name);
      const { rows } = await db.pool.query('SELECT entity_name FROM ai_tasks WHERE id = $1', [created.body.id]);
      expect(rows[0]!.entity_name).toBe(name);
      const listed = await request(app.server).get(`/api/tasks?entityId=${encodeURIComponent('é/海')}`).expect(200);
      expect(listed.body.items.map((t: { id: string }) => t.id)).toEqual([created.body.id]);
      const plus = await request(app.server).get('/api/tasks?entityType=a+b&entityId=x%2By').expect(200);
      expect(plus.body.items).toEqual([]);
    });

    it('undecodable bytes in a JSON body are a 400 naming the field that holds them', async () => {
      const body = Buffer.concat([
        Buffer.from(JSON.stringify({ ...validTask, entityName: 'XX' }).split('XX')[0]!, 'utf8'),
        Buffer.from([0x61, 0xc3, 0x28]),
        Buffer.from(JSON.stringify({ ...validTask, entityName: 'XX' }).split('XX')[1]!, 'utf8'),
      ]);
      const res = await postBytes(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(invalidText('body', 'entityName'));
      expect(JSON.stringify(res.body)).toMatch(/can't decode byte 0xc3 in position \d+: invalid continuation byte/);
      // Bad bytes outside any string: the body as a whole.
      const outside = await postBytes(Buffer.from([0x7b, 0xff, 0x7d]));
      expect(outside.status).toBe(400);
      expect(outside.body).toMatchObject({ error: { code: 'INVALID_TEXT', details: [{ location: 'body', path: '' }] } });
      expect(await count()).toBe(0);
    });

    it('a NUL in a field name (an unknown key) is refused as text before validation', async () => {
      const res = await postRaw(JSON.stringify({ ...validTask, ['x\u0000']: 1 }));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_TEXT');
      expect(res.body.error.details[0].message).toMatch(/^field name contains U\+0000/);
    });

    it('a path parameter with a NUL or bytes that are not UTF-8 is a 400', async () => {
      const nul = await request(app.server).get('/api/tasks/%00');
      expect(nul.status).toBe(400);
      expect(nul.body).toEqual(invalidText('params', 'id'));
      const bytes = await request(app.server).post('/api/tasks/%FF/cancel');
      expect(bytes.status).toBe(400);
      expect(bytes.body.error.code).toBe('BAD_URL');
    });

    it('an Idempotency-Key is stored as the UTF-8 text the client sent, and bytes that are not UTF-8 are refused', async () => {
      const key = 'ключ-1';
      const body = JSON.stringify(validTask);
      const head = (keyBytes: Buffer) =>
        Buffer.concat([
          Buffer.from(
            `POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nIdempotency-Key: `,
          ),
          keyBytes,
          Buffer.from('\r\n\r\n'),
        ]);
      const created = await rawRequest(port, head(Buffer.from(key, 'utf8')), Buffer.from(body));
      expect(created).toMatch(/^HTTP\/1\.1 201/);
      const { rows } = await db.pool.query('SELECT idempotency_key FROM ai_tasks');
      expect(rows).toEqual([{ idempotency_key: key }]);
      const replay = await rawRequest(port, head(Buffer.from(key, 'utf8')), Buffer.from(body));
      expect(replay).toMatch(/^HTTP\/1\.1 200/);
      const broken = await rawRequest(port, head(Buffer.from([0x6b, 0xff])), Buffer.from(body));
      expect(broken).toMatch(/^HTTP\/1\.1 400/);
      expect(JSON.parse(broken.slice(broken.indexOf('\r\n\r\n') + 4))).toEqual(invalidText('headers', 'idempotency-key'));
      expect(await count()).toBe(1);
    });

    it('a NUL in a header is refused by the HTTP parser, with our error shape', async () => {
      const reply = await rawRequest(port, 'GET /api/tasks HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\nConnection: close\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.1 400/);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
    });
  });

  it('a route that forgets the boundary fails loudly: the database refuses the text, the api answers 500 UNCHECKED_TEXT', async () => {
    const forgetful = Fastify({ logger: false });
    installErrorHandlers(forgetful);
    // A parser that hands any text through, unchecked: the database layer is the last line.
    forgetful.removeContentTypeParser('text/plain');
    forgetful.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    forgetful.post('/forgetful', async (req) => (await db.pool.query('SELECT $1::text AS t', [req.body])).rows[0]);
    try {
      const ok = await forgetful.inject({ method: 'POST', url: '/forgetful', headers: { 'content-type': 'text/plain' }, payload: 'fine' });
      expect(ok.json()).toEqual({ t: 'fine' });
      const res = await forgetful.inject({ method: 'POST', url: '/forgetful', headers: { 'content-type': 'text/plain' }, payload: 'a\u0000b' });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'UNCHECKED_TEXT', message: expect.any(String), details: null } });
    } finally {
      await forgetful.close();
    }
  });
});
