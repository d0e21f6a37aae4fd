import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import request from 'supertest';
import { buildApp } from '../../src/api/app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { startTestApp, validTask } from './support.js';

describe('buildApp', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('api_app');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('logs one line per request, but none for the probes and the scrape (/healthz, /readyz, /metrics)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({ pool: db.pool, logger, config: { apiToken: undefined, bodyLimitBytes: 1 << 20 } });
    await app.ready();
    try {
      for (const path of ['/healthz', '/readyz', '/metrics', '/api/tasks?limit=1']) await request(app.server).get(path).expect(200);
      const requests = lines.map((line) => JSON.parse(line) as { msg?: string; url?: string }).filter((entry) => entry.msg === 'request');
      expect(requests.map((entry) => entry.url)).toEqual(['/api/tasks?limit=1']);
    } finally {
      await app.close();
    }
  });

  it('answers a malformed URL with 400 in the common error shape', async () => {
    const app = await startTestApp(db.pool);
    try {
      const res = await request(app.server).get('/api/tasks/%E0%A4%A').expect(400);
      expect(res.body).toEqual({ error: { code: 'BAD_URL', message: expect.any(String), details: null } });
    } finally {
      await app.close();
    }
  });

  it('on close, finishes the request in flight and refuses one that follows on the same connection', async () => {
    const app: FastifyInstance = await startTestApp(db.pool);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');

    const body = JSON.stringify(validTask);
    const socket = net.connect(address.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Headers only: the server has routed the request once it answers 100 Continue.
    socket.write(
      `POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'Expect: 100-continue\r\nConnection: keep-alive\r\n\r\n',
    );
    await waitFor('100 Continue', () => received.includes('100 Continue'));
    const closed = app.close();
    // The body of the first request, then a second request pipelined behind it.
    socket.write(body);
    socket.write('GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n');
    await ended;
    await closed;

    expect(received).toMatch(/HTTP\/1\.1 201 Created/);
    expect(received).toMatch(/HTTP\/1\.1 503 Service Unavailable/);
    expect(received).toContain('"code":"SHUTTING_DOWN"');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM ai_tasks');
    expect(rows[0].n).toBe(1);
  });
});
