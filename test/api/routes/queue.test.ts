// GET /api/queue and /api/failures on a real database, the state made by the queue's own statements
// (claims take slots, records of submissions), not by writing the columns the routes read.
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimPendingTasks, ensureAccount, pauseAccount, recordHeartbeat, recordProcessorError, recordSubmission, resumeAccount } from '../../../src/db/index.js';
import { activateTask, insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp } from '../support.js';

const ACCOUNT = 'a'.repeat(64);

describe('queue and failures API', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_queue');
    app = await startTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, runninghub_accounts, processor_heartbeats, processor_errors CASCADE');
  });

  const failTasks = async (ids: string[], code: string, message: string) => {
    await activateTask(db.pool, ids);
    await db.pool.query(
      `UPDATE ai_tasks SET status = 'FAILED', finished_at = now(), error_code = $2, error_message = $3 WHERE id = ANY($1)`,
      [ids, code, message],
    );
  };

  it('shows no account, an empty backlog and 60 empty minutes on an empty database', async () => {
    const res = await request(app.server).get('/api/queue').expect(200);
    expect(res.body.accounts).toEqual([]);
    expect(res.body.backlog).toEqual({ pending: 0, due: 0, oldestPendingAgeSeconds: null });
    expect(res.body.lastHour).toHaveLength(60);
    expect(res.body.lastHour.every((m: { succeeded: number; failed: number }) => m.succeeded === 0 && m.failed === 0)).toBe(true);
    expect(res.body.processors).toEqual([]);
    expect(res.body.supervisorConsoleUrl).toBeNull();
  });

  it("shows a paused account with when, the code and reason, and the next balance check; gone once resumed", async () => {
    await ensureAccount(db.pool, ACCOUNT, 3);
    await ensureAccount(db.pool, 'b'.repeat(64), 3);
    let res = await request(app.server).get('/api/queue').expect(200);
    expect(res.body.accounts.map((a: { pause: unknown }) => a.pause)).toEqual([null, null]);

    expect(await pauseAccount(db.pool, ACCOUNT, { code: '416', reason: 'Insufficient coins', firstCheckInMs: 60_000 })).toBe(true);
    res = await request(app.server).get('/api/queue').expect(200);
    const [paused, other] = res.body.accounts;
    expect(paused.account).toBe('a'.repeat(12));
    expect(paused.pause).toMatchObject({ code: '416', reason: 'Insufficient coins', checks: 0 });
    expect(Date.parse(paused.pause.pausedAt)).toBeLessThanOrEqual(Date.parse(res.body.now));
    expect(Date.parse(paused.pause.nextCheckAt) - Date.parse(paused.pause.pausedAt)).toBe(60_000);
    expect(other.pause).toBeNull();

    expect(await resumeAccount(db.pool, ACCOUNT)).toBe(true);
    res = await request(app.server).get('/api/queue').expect(200);
    expect(res.body.accounts.map((a: { pause: unknown }) => a.pause)).toEqual([null, null]);
  });

  it("hands the dashboard supervisord's console URL when one is configured", async () => {
    const withConsole = await startTestApp(db.pool, { supervisorConsoleUrl: 'https://ops.example.com/supervisor/' });
    try {
      const res = await request(withConsole.server).get('/api/queue').expect(200);
      expect(res.body.supervisorConsoleUrl).toBe('https://ops.example.com/supervisor/');
    } finally {
      await withConsole.close();
    }
  });

  it('names the tasks holding the slots, with their phase, and counts the backlog', async () => {
    await ensureAccount(db.pool, ACCOUNT, 3);
    const ids = await insertTasks(db.pool, 5, { prefix: 'slot' });
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 3, leaseMs: 60_000 });
    expect(claimed).toHaveLength(3);
    await recordSubmission(db.pool, { taskId: claimed[0]!.id, claimToken: claimed[0]!.claimToken, runninghubTaskId: '1234567890123456789', firstCheckInMs: 60_000 });
    await db.pool.query(`UPDATE ai_tasks SET run_after = now() + interval '1 hour' WHERE id = $1`, [ids[4]]);

    const res = await request(app.server).get('/api/queue').expect(200);
    expect(res.body.accounts).toHaveLength(1);
    const [account] = res.body.accounts;
    expect(account).toMatchObject({ account: 'a'.repeat(12), maxRunning: 3, running: 3 });
    expect(account.holders).toHaveLength(3);
    const submitted = account.holders.find((h: { taskId: string }) => h.taskId === claimed[0]!.id);
    expect(submitted).toMatchObject({ phase: 'submitted', runninghubTaskId: '1234567890123456789', claimedBy: 'p1', status: 'ACTIVE' });
    expect(account.holders.filter((h: { phase: string }) => h.phase === 'claimed')).toHaveLength(2);
    expect(res.body.backlog).toMatchObject({ pending: 2, due: 1 });
    expect(res.body.backlog.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('counts the last hour per minute and lists live processors', async () => {
    const ok = await insertTasks(db.pool, 4);
    const bad = await insertTasks(db.pool, 2);
    await activateTask(db.pool, ok);
    await db.pool.query(`UPDATE ai_tasks SET status = 'SUCCESS', finished_at = now() WHERE id = ANY($1)`, [ok]);
    await failTasks(bad, 'RUNNINGHUB_FAILED', 'out of memory');
    await recordHeartbeat(db.pool, {
      processorId: 'proc-a', host: 'box', pid: 42, startedAt: new Date(), submitted: 6, retried: 0, orphaned: 0, orphanCancelFailures: 0,
      consecutiveErrors: 1, lastError: 'RunningHub unreachable',
    });
    const res = await request(app.server).get('/api/queue').expect(200);
    const current = res.body.lastHour.at(-1);
    expect(current).toMatchObject({ succeeded: 4, failed: 2 });
    expect(res.body.processors).toEqual([
      expect.objectContaining({ processorId: 'proc-a', host: 'box', pid: 42, submitted: 6, consecutiveErrors: 1, lastError: 'RunningHub unreachable' }),
    ]);
  });

  it('groups failures by code and message with counts, first and last seen; a retried task leaves its group', async () => {
    const oom = await insertTasks(db.pool, 3);
    const timeout = await insertTasks(db.pool, 1);
    await failTasks(oom, 'RUNNINGHUB_FAILED', 'out of memory');
    await failTasks(timeout, 'TIMEOUT', 'no result within 10 min');
    await recordProcessorError(db.pool, 'RUNNINGHUB_UNREACHABLE', 'connect ECONNREFUSED');
    await recordProcessorError(db.pool, 'RUNNINGHUB_UNREACHABLE', 'connect ECONNREFUSED');

    let res = await request(app.server).get('/api/failures').expect(200);
    expect(res.body.sinceHours).toBe(24);
    expect(res.body.tasks.map((g: { code: string; message: string; count: number }) => [g.code, g.message, g.count])).toEqual([
      ['RUNNINGHUB_FAILED', 'out of memory', 3],
      ['TIMEOUT', 'no result within 10 min', 1],
    ]);
    const group = res.body.tasks[0];
    expect(Date.parse(group.firstSeen)).toBeLessThanOrEqual(Date.parse(group.lastSeen));
    expect(oom).toContain(group.latestTaskId);
    expect(res.body.processorErrors).toEqual([
      expect.objectContaining({ code: 'RUNNINGHUB_UNREACHABLE', message: 'connect ECONNREFUSED', count: 2 }),
    ]);

    await request(app.server).post(`/api/tasks/${oom[0]}/retry`).expect(200);
    res = await request(app.server).get('/api/failures').expect(200);
    expect(res.body.tasks[0]).toMatchObject({ code: 'RUNNINGHUB_FAILED', count: 2 });
  });

  it('refuses a bad look-back with a clear error', async () => {
    const res = await request(app.server).get('/api/failures?sinceHours=0').expect(400);
    expect(JSON.stringify(res.body)).toMatch(/sinceHours/);
    await request(app.server).get('/api/failures?since=3').expect(400);
  });

  it('gzips a large JSON reply for a client that accepts it, and only then', async () => {
    await insertTasks(db.pool, 60);
    const plain = await app.inject({ url: '/api/tasks?limit=60' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await app.inject({ url: '/api/tasks?limit=60', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    expect(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8'))).toEqual(plain.json());
    // Small replies stay as they are.
    const small = await app.inject({ url: '/api/access', headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('says the api is open when no token is configured', async () => {
    const res = await request(app.server).get('/api/access').expect(200);
    expect(res.body).toEqual({ access: 'open' });
  });
});
