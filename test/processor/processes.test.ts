// The real program (node dist/task-processor.js) as child processes: several at once, kill -9, SIGTERM.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import {
  ACCOUNT,
  eventsIn,
  getAccountUsage,
  insertTasks,
  resetTestState,
  spawnProcessor,
  startTestSimulator,
  tasksById,
  testSettings,
  waitForStatuses,
  type ProcessorProgram,
} from './harness.js';

describe('task processor programs', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let programs: ProcessorProgram[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('processor_programs');
    // RunningHub would take 10 at once: whatever limit is seen there is the processors' own doing.
    sim = await startTestSimulator({ concurrency: 10 });
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
  });
  afterEach(async () => {
    await Promise.all(programs.map((p) => p.cleanup()));
    programs = [];
  });

  const spawn = async (overrides: Parameters<typeof testSettings>[0] = {}) => {
    const program = await spawnProcessor(db.url, sim.url, testSettings(overrides));
    programs.push(program);
    return program;
  };

  it('three processors, 60 tasks: never more than 3 at RunningHub or in the account row, none lost or repeated', async () => {
    const ids = await insertTasks(db.pool, 60);
    await Promise.all([spawn({ processorId: 'p1' }), spawn({ processorId: 'p2' }), spawn({ processorId: 'p3' })]);
    let highestRow = 0;
    const rows = await waitFor(
      'all 60 tasks to finish',
      async () => {
        const usage = await getAccountUsage(db.pool, ACCOUNT);
        if (usage) highestRow = Math.max(highestRow, usage.running, usage.holders);
        const all = await tasksById(db.pool, ids);
        return all.every((r) => r.status === 'SUCCESS' || r.status === 'FAILED') ? all : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    expect(rows.filter((r) => r.status === 'SUCCESS')).toHaveLength(60);
    const counters = sim.counters();
    expect(counters.maxInFlight).toBeLessThanOrEqual(3);
    expect(counters.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(highestRow).toBeLessThanOrEqual(3);
    expect(counters.tasksCreated).toBe(60);
    expect(counters.duplicateCreates).toBe(0);
    // All three took part.
    const { rows: byProcessor } = await db.pool.query<{ claimed_by: string; n: number }>(
      'SELECT claimed_by, count(*)::int AS n FROM ai_tasks GROUP BY claimed_by',
    );
    expect(byProcessor.map((r) => r.claimed_by).sort()).toEqual(['p1', 'p2', 'p3']);
    // One line per transition, in the log file too, with the task, its entity and RunningHub's id.
    const log = await readFile(path.join(programs[0]!.logDir, 'task_processor.log'), 'utf8');
    const succeeded = eventsIn(log, 'task.succeeded');
    expect(succeeded.length).toBeGreaterThan(0);
    expect(succeeded[0]).toMatchObject({ taskId: expect.any(String), entityName: expect.stringMatching(/^Shot /), runninghubTaskId: expect.stringMatching(/^\d{19}$/) });
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
  });

  it('kill -9 mid-flight: a new processor finishes every task; duplicates only from claims caught mid-create', async () => {
    // Creates take 300 ms to answer (the task already exists at RunningHub): the window in which a
    // kill leaves a RunningHub task whose id we never stored.
    sim.setOptions({ faults: { create: { kind: 'delay', ms: 300 } }, runningMs: [100, 300] });
    const ids = await insertTasks(db.pool, 20);
    const first = await spawn({ processorId: 'doomed', claimLeaseMs: 3_000 });
    await waitFor('a few tasks done and others in flight', async () => {
      const rows = await tasksById(db.pool, ids);
      const claimedOnly = rows.filter((r) => r.status === 'ACTIVE' && r.runninghub_task_id === null).length;
      return rows.filter((r) => r.status === 'SUCCESS').length >= 3 && claimedOnly >= 1;
    }, { timeoutMs: 30_000, intervalMs: 5 });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atKill = await tasksById(db.pool, ids);
    const claimedWithoutId = atKill.filter((r) => r.status === 'ACTIVE' && r.runninghub_task_id === null).length;
    const trackedWithId = atKill.filter((r) => r.status === 'ACTIVE' && r.runninghub_task_id !== null).length;

    const second = await spawn({ processorId: 'heir', claimLeaseMs: 3_000 });
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED'], 60_000);
    expect(rows.every((r) => r.status === 'SUCCESS')).toBe(true);
    const counters = sim.counters();
    // Every task reached RunningHub; extra creates are exactly the re-submissions of claims the kill
    // caught between RunningHub's reply and our commit.
    expect(Object.keys(counters.createsByFingerprint)).toHaveLength(20);
    expect(counters.duplicateCreates).toBeLessThanOrEqual(claimedWithoutId);
    expect(eventsIn(second.output(), 'task.recovered')).toHaveLength(claimedWithoutId);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
    console.log(
      `kill -9: ${claimedWithoutId} claims without id and ${trackedWithId} submitted tasks at the kill; ` +
        `${counters.duplicateCreates} duplicate create(s) at RunningHub`,
    );
  });

  it('SIGTERM: stops claiming, records the create in flight, exits 0', async () => {
    sim.setOptions({ faults: { create: { kind: 'delay', ms: 500 } }, runningMs: [5_000, 5_000] });
    const program = await spawn({ processorId: 'graceful' });
    const ids = await insertTasks(db.pool, 5);
    await waitFor('a create in flight', () => sim.counters().tasksCreated >= 1);
    const signalledAt = Date.now();
    program.child.kill('SIGTERM');
    const exit = await program.exited;
    const tookMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(30_000); // supervisord's stopwaitsecs
    const rows = await tasksById(db.pool, ids);
    // What was sent to RunningHub has its id stored; nothing is left claimed without one.
    expect(rows.filter((r) => r.status === 'ACTIVE' && r.runninghub_task_id === null)).toEqual([]);
    expect(rows.filter((r) => r.runninghub_task_id !== null).length).toBe(sim.counters().tasksCreated);
    const { rows: beats } = await db.pool.query('SELECT stopped_at FROM processor_heartbeats WHERE processor_id = $1', ['graceful']);
    expect(beats[0].stopped_at).not.toBeNull();
    expect(eventsIn(program.output(), 'processor.stopped')).toHaveLength(1);
  });

  it("two processors polling: each one's log tells the end of every task it submitted, also those the other one's poll recorded", async () => {
    // One task per claim, both listening before the tasks come: both submit some.
    const [one, two] = [await spawn({ maxPendingBatch: 1 }), await spawn({ maxPendingBatch: 1 })];
    for (const program of [one, two]) await waitFor('both to start', () => eventsIn(program.output(), 'processor.started').length === 1);
    const ids = await insertTasks(db.pool, 12);
    await waitForStatuses(db.pool, ids, ['SUCCESS'], 60_000);
    for (const program of [one, two]) {
      const submitted = eventsIn(program.output(), 'task.submitted').map((e) => e.taskId);
      await waitFor(`${program.settings.processorId} to log the end of each of its ${submitted.length} tasks`, () => {
        const ended = new Set(eventsIn(program.output(), 'task.succeeded').map((e) => e.taskId));
        return submitted.every((id) => ended.has(id));
      });
    }
    // Both took part, or the test proves nothing about the other one's poll.
    expect(eventsIn(one.output(), 'task.submitted').length).toBeGreaterThan(0);
    expect(eventsIn(two.output(), 'task.submitted').length).toBeGreaterThan(0);
  });

  it('RunningHub unreachable for a while: the backlog waits (no attempt spent, none failed), the errors count up and pause the claims, and every task succeeds once it is back', async () => {
    const port = await findFreePort();
    const program = await spawnProcessor(db.url, `http://127.0.0.1:${port}`, testSettings({ errorBackoffMs: 100, errorBackoffMaxMs: 400 }));
    programs.push(program);
    const ids = await insertTasks(db.pool, 6);
    await waitFor('six consecutive errors', () => eventsIn(program.output(), 'processor.error').some((e) => Number(e.consecutiveErrors) >= 6), { timeoutMs: 30_000 });
    // Still down: no recovery claimed by a pass that did not reach RunningHub, and each error paused the claims.
    expect(eventsIn(program.output(), 'processor.recovered')).toEqual([]);
    const errors = eventsIn(program.output(), 'processor.error');
    expect(errors.map((e) => [e.code, typeof e.claimsPausedMs])).toEqual(errors.map(() => ['RUNNINGHUB_NETWORK', 'number']));
    expect(errors.map((e) => e.consecutiveErrors)).toEqual(errors.map((_, n) => n + 1));
    // What the metrics and the alert on consecutive errors read.
    await waitFor('the heartbeat to count the errors', async () => {
      const { rows } = await db.pool.query<{ consecutive_errors: number }>('SELECT consecutive_errors FROM processor_heartbeats WHERE processor_id = $1', [program.settings.processorId]);
      return (rows[0]?.consecutive_errors ?? 0) >= 6;
    });
    // Nothing was created, so no attempt counts (a task caught mid-claim shows its claim's one).
    for (const task of await tasksById(db.pool, ids)) {
      expect(task.status).toMatch(/^(PENDING|ACTIVE)$/);
      expect(task.attempts).toBeLessThanOrEqual(1);
    }
    expect(eventsIn(program.output(), 'task.failed')).toEqual([]);

    const back = await startTestSimulator({ port, concurrency: 10 });
    try {
      const done = await waitForStatuses(db.pool, ids, ['SUCCESS'], 30_000);
      expect(done.map((t) => t.attempts)).toEqual(ids.map(() => 1));
      await waitFor('the recovery to be logged', () => eventsIn(program.output(), 'processor.recovered').length === 1);
      expect(eventsIn(program.output(), 'processor.recovered')[0]).toMatchObject({ what: 'runninghub' });
    } finally {
      await back.stop();
    }
  });

  it("writes each start to stderr too, so that `supervisorctl tail task-processor stderr` shows the restarts, and nothing else below warn", async () => {
    const first = await spawn();
    const ids = await insertTasks(db.pool, 2);
    await waitForStatuses(db.pool, ids, ['SUCCESS']);
    first.child.kill('SIGTERM');
    await first.exited;
    const second = await spawn({ processorId: first.settings.processorId });
    await waitFor('the second start', () => eventsIn(second.output(), 'processor.started').length === 1);
    const stderrLines = (program: ProcessorProgram) => program.stderr().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { event: string; level: number });
    for (const program of [first, second]) {
      const lines = stderrLines(program);
      expect(lines.filter((line) => line.event === 'processor.started')).toHaveLength(1);
      expect(lines.filter((line) => line.level < 40).map((line) => line.event)).toEqual(['processor.started']);
    }
  });

  it('exits 2 naming the cause when the database refuses its login (a wrong password is not "not ready")', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password';
    const program = await spawnProcessor(url.toString(), sim.url, testSettings());
    programs.push(program);
    expect(await program.exited).toEqual({ code: 2, signal: null });
    expect(program.stderr()).toMatch(/^task-processor: the database refused the login of DATABASE_URL \(error: password authentication failed for user "\w+"\): check its user and password$/m);
    expect(eventsIn(program.output(), 'processor.database_login_refused')).toHaveLength(1);
    expect(eventsIn(program.output(), 'processor.waiting_for_database')).toEqual([]);
  });

  it('waits for a database that is not up yet, and still stops cleanly on SIGTERM', async () => {
    const nowhere = `postgresql://postgres:postgres@127.0.0.1:${await findFreePort()}/postgres`;
    const program = await spawnProcessor(nowhere, sim.url, testSettings());
    programs.push(program);
    await waitFor('the processor to report the missing database', () => eventsIn(program.output(), 'processor.waiting_for_database').length >= 2);
    expect(program.child.exitCode).toBeNull();
    program.child.kill('SIGTERM');
    expect(await program.exited).toEqual({ code: 0, signal: null });
  });

  it('exits non-zero when its loop crashes, instead of looking alive', async () => {
    // TASK_PROCESSOR_TEST_FAULT (test only) makes the loop throw after its first pass, outside its
    // error handling, as a bug would.
    const program = await spawnProcessor(db.url, sim.url, testSettings({ processorId: 'crashing' }), { TASK_PROCESSOR_TEST_FAULT: 'crash-loop' });
    programs.push(program);
    const exit = await program.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(eventsIn(program.output(), 'processor.crashed')).toHaveLength(1);
    // It said it stopped, so /api/stats no longer lists it as live.
    const { rows } = await db.pool.query('SELECT stopped_at FROM processor_heartbeats WHERE processor_id = $1', ['crashing']);
    expect(rows[0].stopped_at).not.toBeNull();
  });

  it('refuses to start with a bad setting, naming the variable', async () => {
    const bad = await spawnProcessor(db.url, sim.url, testSettings(), { MAX_PENDING_BATCH: 'lots' });
    programs.push(bad);
    const exit = await bad.exited;
    expect(exit.code).toBe(2);
    expect(bad.output()).toContain('MAX_PENDING_BATCH');
  });
});
