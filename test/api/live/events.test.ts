// GET /api/events on a real socket and a real PostgreSQL: live events from the one LISTEN connection,
// filters, Last-Event-ID replay from the database, heartbeats, and many streams on one connection.
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/index.js';
import { activateTask, insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { openSse, type SseClient } from '../../support/sse.js';
import { waitFor } from '../../support/wait.js';
import { silentLogger, validTask } from '../support.js';

interface EventJson {
  id: string;
  taskId: string;
  kind: string;
  status: string;
  entityId: string;
  storyboardId: string | null;
}

describe('GET /api/events', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('api_events');
    app = await buildApp({ pool: db.pool, logger: silentLogger, config: { apiToken: undefined, bodyLimitBytes: 1024 * 1024, sseHeartbeatMs: 100 } });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await db.pool.query('TRUNCATE ai_tasks, task_events');
  });

  const open = (query = '', headers: Record<string, string> = {}) => {
    const client = openSse(`${base}/api/events${query}`, headers);
    clients.push(client);
    return client;
  };
  const events = (client: SseClient) => client.frames.map((f) => JSON.parse(f.data) as EventJson);
  /** The stream says `: ready` once the hub LISTENs (and any replay is sent): changes from then on reach it. */
  const opened = async (client: SseClient) => {
    expect(await client.status).toBe(200);
    await waitFor('the stream to be ready', () => client.comments.includes('ready'));
    return client;
  };

  it('streams each status change of the tasks it follows, with event ids, and heartbeats', async () => {
    const all = await opened(open());
    const created = await request(app.server).post('/api/tasks').send(validTask).expect(201);
    const id = created.body.id as string;
    const only = await opened(open(`?taskId=${id}`));
    const other = await opened(open('?entityType=shot&entityId=nobody'));
    await activateTask(db.pool, id);
    await request(app.server).post(`/api/tasks/${id}/cancel`).expect(200);
    await db.pool.query(`UPDATE ai_tasks SET status = 'CANCELLED', finished_at = now() WHERE id = $1`, [id]);
    await waitFor('created, claimed, cancel_requested, cancelled', () => events(all).length >= 4);
    expect(events(all).map((e) => [e.taskId, e.kind, e.status])).toEqual([
      [id, 'created', 'PENDING'],
      [id, 'claimed', 'ACTIVE'],
      [id, 'cancel_requested', 'ACTIVE'],
      [id, 'cancelled', 'CANCELLED'],
    ]);
    expect(all.frames.map((f) => f.id)).toEqual(events(all).map((e) => e.id));
    await waitFor('the filtered stream', () => events(only).length >= 3);
    expect(events(only).map((e) => e.kind)).toEqual(['claimed', 'cancel_requested', 'cancelled']);
    expect(other.frames).toEqual([]);
  });

  it('sends what a reconnecting client missed after its Last-Event-ID, then live events, each once', async () => {
    const [a, b] = await insertTasks(db.pool, 2, { prefix: 'miss' });
    const first = await opened(open('?entityType=shot&entityId=miss-1'));
    await activateTask(db.pool, a!);
    // The claimed event's id (the insert's created event may come first, its notification late under load).
    const claimed = await waitFor('the claimed event', () => events(first).find((e) => e.taskId === a && e.kind === 'claimed'));
    const lastSeen = claimed.id;
    first.close();
    // Missed while disconnected: a's end, and b's changes (filtered out).
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', outputs = '[]', finished_at = now() WHERE id = $1`, [a]);
    await activateTask(db.pool, b!);
    const again = open('?entityType=shot&entityId=miss-1', { 'Last-Event-ID': lastSeen });
    await waitFor('the missed succeeded event', () => again.frames.length >= 1);
    expect(events(again).map((e) => [e.taskId, e.kind])).toEqual([[a, 'succeeded']]);
    // A live event after the replay; a change that is no event (a rename) sends nothing.
    await db.pool.query(`UPDATE ai_tasks SET entity_name = 'renamed' WHERE id = $1`, [a]);
    const [c] = await insertTasks(db.pool, 1, { prefix: 'miss' });
    await waitFor('the live created event', () => events(again).some((e) => e.taskId === c));
    expect(events(again).map((e) => e.kind)).toEqual(['succeeded', 'created']);
    // Every id once, in order.
    const ids = again.frames.map((f) => BigInt(f.id!));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
    // The query form for clients that cannot set headers.
    const viaQuery = open(`?entityType=shot&entityId=miss-1&lastEventId=${lastSeen}`);
    await waitFor('the replay through ?lastEventId', () => viaQuery.frames.length >= 2);
    expect(events(viaQuery).map((e) => e.kind)).toEqual(['succeeded', 'created']);
  });

  it('serves many streams from one LISTEN connection', async () => {
    const streams = await Promise.all(Array.from({ length: 50 }, () => opened(open())));
    const listening = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`,
    );
    expect(listening.rows[0]!.n).toBe(1);
    await insertTasks(db.pool, 1);
    await waitFor('the event on every stream', () => streams.every((s) => s.frames.length === 1));
  });

  it('keeps streams open across a lost LISTEN connection and sends what was committed meanwhile, once', async () => {
    const stream = await opened(open('?entityType=shot'));
    await insertTasks(db.pool, 1, { prefix: 'before' });
    await waitFor('the first event', () => stream.frames.length === 1);
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`);
    // Committed while the hub has no LISTEN connection (or just got a new one): the catch-up reads it.
    const [during] = await insertTasks(db.pool, 1, { prefix: 'during' });
    await waitFor('the event committed during the loss', () => events(stream).some((e) => e.taskId === during));
    await waitFor('a new LISTEN connection', async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`,
      );
      return rows[0]!.n === 1;
    });
    const [after] = await insertTasks(db.pool, 1, { prefix: 'after' });
    await waitFor('the event after the reconnection', () => events(stream).some((e) => e.taskId === after));
    const ids = stream.frames.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events(stream).map((e) => e.entityId)).toEqual(['before-1', 'during-1', 'after-1']);
  });

  it('refuses bad filters and event ids with a 400 naming the field', async () => {
    const bad = await request(app.server).get('/api/events?taskId=nope').expect(400);
    expect(bad.body.error.message).toMatch(/taskId/);
    const lonely = await request(app.server).get('/api/events?entityId=x').expect(400);
    expect(lonely.body.error.message).toMatch(/entityType/);
    const badId = await request(app.server).get('/api/events').set('Last-Event-ID', 'abc').expect(400);
    expect(badId.body.error.message).toMatch(/last-event-id/i);
    const unknown = await request(app.server).get('/api/events?colour=red').expect(400);
    expect(unknown.body.error.message).toMatch(/colour/);
    // Beyond a bigint: no event has such an id (it was a 200 stream that closed at once, the replay's query failing).
    const huge = await request(app.server).get('/api/events').set('Last-Event-ID', '9999999999999999999').expect(400);
    expect(huge.body.error.message).toMatch(/last-event-id.*an event id is the decimal/i);
    const hugeQuery = await request(app.server).get('/api/events?lastEventId=9223372036854775808').expect(400);
    expect(hugeQuery.body.error.message).toMatch(/lastEventId/);
  });

  it('answers HEAD with the headers of a stream, and ends', async () => {
    // It never answered before: the stream was written to a HEAD response, which sends nothing until it ends.
    const res = await fetch(`${base}/api/events`, { method: 'HEAD', signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(await res.text()).toBe('');
    const bad = await fetch(`${base}/api/events?taskId=nope`, { method: 'HEAD' });
    expect(bad.status).toBe(400);
  });

  it('ends open streams when the api closes', async () => {
    const own = await buildApp({ pool: db.pool, logger: silentLogger, config: { apiToken: undefined, bodyLimitBytes: 1024, sseHeartbeatMs: 100 } });
    const url = await own.listen({ port: 0, host: '127.0.0.1' });
    const stream = openSse(`${url}/api/events`);
    await opened(stream);
    await waitFor('a heartbeat', () => stream.comments.includes('keep-alive'));
    await own.close();
    await stream.closed;
  });
});
