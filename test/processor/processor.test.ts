// The processor in-process against a real PostgreSQL, the simulator over real HTTP and the real webhook route.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import { listLiveProcessors } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import {
  ACCOUNT,
  API_KEY,
  cancelTask,
  getAccountUsage,
  inProcessProcessor,
  insertTasks,
  resetTestState,
  startTestSimulator,
  startWebhookReceiver,
  tasksById,
  TEST_STORE_DIR,
  testSettings,
  waitForStatuses,
} from './harness.js';

describe('task processor (in-process)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let processor: TaskProcessor | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('processor');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    sim.release();
    // Every path gave its slot back.
    const usage = await getAccountUsage(db.pool, ACCOUNT);
    if (usage) expect(usage.running).toBe(usage.holders);
  });

  const start = async (overrides: Parameters<typeof testSettings>[0] = {}) => {
    processor = inProcessProcessor(db.url, sim.url, testSettings(overrides));
    await processor.start();
    return processor;
  };

  it('takes a task to SUCCESS with its outputs (polling) and records a heartbeat', async () => {
    const running = await start({ processorId: 'happy' });
    const ids = await insertTasks(db.pool, 4);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    for (const row of rows) {
      expect(row.status).toBe('SUCCESS');
      expect(row.runninghub_task_id).toMatch(/^\d{19}$/);
      expect(row.outputs?.[0]?.fileUrl).toContain(sim.url);
      expect(row.attempts).toBe(1);
    }
    expect(sim.counters().tasksCreated).toBe(4);
    expect(sim.counters().maxInFlight).toBeLessThanOrEqual(3);
    const live = await listLiveProcessors(db.pool);
    expect(live.map((p) => p.processorId)).toContain('happy');
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
    // Each end noted once: the poll's own record and the slot-freed notification of the same end.
    await running.stop();
    expect(running.counters()).toMatchObject({ succeeded: 4, failed: 0 });
  });

  it('finishes tasks from the webhook without polling RunningHub', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      // Checks every 30 s: within this test only the webhook can finish the tasks.
      await start({ processorId: 'hooked', webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000, pollIntervalMs: 30_000 });
      const ids = await insertTasks(db.pool, 3);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(rows.every((r) => (r.outputs?.length ?? 0) > 0)).toBe(true);
      // The simulator counts a delivery once it has read our reply, which comes after the commit that
      // made the task SUCCESS: poll for the count.
      const counters = await waitFor('3 webhooks counted as delivered', () => {
        const now = sim.counters();
        return now.webhooksDelivered >= 3 ? now : undefined;
      });
      expect(counters.callsByEndpoint.outputs ?? 0).toBe(0);
      expect(counters.webhooksDelivered).toBe(3);
      const { rows: events } = await db.pool.query('SELECT count(*)::int AS n FROM runninghub_webhook_events WHERE applied_at IS NOT NULL');
      expect(events[0].n).toBe(3);
      // The API's webhook handler finished them; /api/stats credits the processor that claimed them.
      const [hooked] = (await listLiveProcessors(db.pool)).filter((p) => p.processorId === 'hooked');
      expect(hooked).toMatchObject({ submitted: expect.any(Number), succeeded: 3, failed: 0 });
    } finally {
      await receiver.app.close();
    }
  });

  it("notes (counts and logs) each end the webhook recorded, once, as it notes its own: the guide watches its log for 失败", async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      const running = await start({ webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000, pollIntervalMs: 30_000 });
      const [ok] = await insertTasks(db.pool, 1);
      const [broken] = await insertTasks(db.pool, 1, { fieldValue: 'broken [sim:fail]', prefix: 'broken' });
      const rows = await waitForStatuses(db.pool, [ok!, broken!], ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'FAILED']);
      expect(sim.counters().callsByEndpoint.outputs ?? 0).toBe(0);
      await waitFor('both ends noted by the processor', () => running.counters().succeeded === 1 && running.counters().failed === 1);
      // Its own keeping of the outputs and the notification of the same end count once.
      await running.stop();
      expect(running.counters()).toMatchObject({ succeeded: 1, failed: 1 });
    } finally {
      await receiver.app.close();
    }
  });

  it('rejects a webhook with a wrong secret, and the outputs poll finishes the task instead', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      const wrong = receiver.callbackUrl.replace(/secret=[^&]+/, 'secret=not-the-secret-0000000000');
      await start({ webhookUrl: wrong, checkIntervalMs: 300 });
      const ids = await insertTasks(db.pool, 2);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(sim.counters().webhooksDelivered).toBe(0);
      expect(sim.counters().callsByEndpoint.outputs ?? 0).toBeGreaterThanOrEqual(2);
      const { rows: events } = await db.pool.query('SELECT count(*)::int AS n FROM runninghub_webhook_events');
      expect(events[0].n).toBe(0);
    } finally {
      await receiver.app.close();
    }
  });

  it('fails at once, with RunningHub code and message, on a permanent create error', async () => {
    sim.setOptions({ faults: { create: { kind: 'code', code: 803, msg: 'APIKEY_INVALID_NODE_INFO' } } });
    await start();
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED']);
    expect(row).toMatchObject({ error_code: '803', error_message: 'APIKEY_INVALID_NODE_INFO', attempts: 1 });
  });

  it('fails a task whose stored node_info_list does not parse (INVALID_TASK) and runs the others', async () => {
    const [good, bad] = await insertTasks(db.pool, 2);
    await db.pool.query(`UPDATE ai_tasks SET node_info_list = '[{"nodeId": "6", "fieldName": "text", "fieldValue": {"nested": 1}}]' WHERE id = $1`, [bad]);
    await start();
    const rows = await waitForStatuses(db.pool, [good!, bad!], ['SUCCESS', 'FAILED']);
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([
      ['SUCCESS', null],
      ['FAILED', 'INVALID_TASK'],
    ]);
    expect(rows[1]!.error_message).toContain('fieldValue');
    expect(sim.counters().tasksCreated).toBe(1);
  });

  it('retries a retryable create error with backoff and succeeds', async () => {
    sim.setOptions({ faults: { create: { kind: 'http', status: 503, times: 1 } } });
    await start();
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(sim.counters().faultsInjected).toBe(1);
  });

  it('fails with the last error once max_attempts are used up', async () => {
    sim.setOptions({ faults: { create: { kind: 'http', status: 502 } } });
    await start();
    const [id] = await insertTasks(db.pool, 1, { maxAttempts: 2 });
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED']);
    expect(row).toMatchObject({ error_code: 'HTTP_502', attempts: 2 });
  });

  it('records a task that failed at RunningHub with its code and reason', async () => {
    await start();
    const [id] = await insertTasks(db.pool, 1, { fieldValue: 'broken [sim:fail]' });
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: '805' });
    expect(row!.error_message).toContain('APIKEY_TASK_STATUS_ERROR');
  });

  it('puts tasks back to PENDING on 421 without counting an attempt, and runs them when slots free up', async () => {
    // The account is busy elsewhere (the web UI): every slot at RunningHub is taken.
    sim.occupy(API_KEY, 3);
    await start();
    const ids = await insertTasks(db.pool, 2);
    await waitFor('creates refused with 421', () => sim.counters().createsRefused421 >= 4);
    const waiting = await tasksById(db.pool, ids);
    expect(waiting.every((r) => r.status === 'PENDING' || r.status === 'ACTIVE')).toBe(true);
    expect(waiting.every((r) => r.attempts <= 1)).toBe(true);
    expect(waiting.filter((r) => r.status === 'PENDING').every((r) => r.attempts === 0 && r.error_code === '421')).toBe(true);
    sim.release(API_KEY);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['SUCCESS', 1],
      ['SUCCESS', 1],
    ]);
  });

  it('times out a task that runs too long: cancelled at RunningHub, FAILED with TIMEOUT', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000] });
    await start({ taskTimeoutMs: 500 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'TIMEOUT' });
    expect(sim.counters().cancels).toBe(1);
    expect(sim.counters().inFlight).toBe(0);
  });

  it("times out a task whose status RunningHub will not give (its slot is not held for ever), and cancels one the same way", async () => {
    sim.setOptions({ runningMs: [20_000, 20_000], faults: { outputs: { kind: 'malformed' }, status: { kind: 'malformed' } } });
    await start({ taskTimeoutMs: 1_000, checkIntervalMs: 200 });
    const [timedOut, cancelled] = await insertTasks(db.pool, 2);
    await waitFor('both tasks to be submitted', async () => (await tasksById(db.pool, [timedOut!, cancelled!])).every((t) => t.runninghub_task_id !== null));
    expect((await cancelTask(db.pool, cancelled!)).outcome).toBe('done');
    const rows = await waitForStatuses(db.pool, [timedOut!, cancelled!], ['FAILED', 'CANCELLED', 'SUCCESS'], 20_000);
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([
      ['FAILED', 'TIMEOUT'],
      ['CANCELLED', 'CANCELLED'],
    ]);
    expect(rows[0]!.error_message).toMatch(/its status unreadable \(MALFORMED_REPLY: .*\) \d+ s after its submission \(timeout 1 s\); cancelled at RunningHub/);
    expect(sim.counters().cancels).toBe(2);
    expect(sim.counters().inFlight).toBe(0);
  });

  it('ends a timed-out task whose cancel RunningHub refuses on its merits (it was held for ever, retried at each check)', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000], faults: { outputs: { kind: 'malformed' }, cancel: { kind: 'code', code: 423, msg: 'TASK_NOT_FOUNED' } } });
    await start({ taskTimeoutMs: 1_000, checkIntervalMs: 200 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS', 'CANCELLED'], 20_000);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'TIMEOUT' });
    expect(row!.error_message).toMatch(/\d+ s after its submission \(timeout 1 s\); RunningHub refused the cancel \(423: TASK_NOT_FOUNED\)$/);
  });

  it("resubmits a task RunningHub says it does not have in its older words (423), as for 807", async () => {
    sim.setOptions({ runningMs: [300, 300], faults: { outputs: { kind: 'code', code: 423, msg: 'TASK_NOT_FOUNED', times: 1 } } });
    await start({ checkIntervalMs: 200 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED'], 20_000);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(sim.counters().tasksCreated).toBe(2);
  });

  it('acts on a timeout shorter than the check interval at the timeout, not one interval later', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000] });
    // The first check would come after 30 s: within the test's deadline only the timeout's own check can end it.
    await start({ taskTimeoutMs: 1_000, checkIntervalMs: 30_000 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS'], 20_000);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'TIMEOUT' });
    expect(row!.error_message).toMatch(/^still (QUEUED|RUNNING) \d+ s after its submission \(timeout 1 s\); cancelled at RunningHub$/);
  });

  it('keeps the result of a task that finished at RunningHub before its timeout was acted on (webhook lost)', async () => {
    // No webhook, and the check interval 60 s: the first look at them comes at their timeout (1.5 s), long
    // after both ended at RunningHub, so it looks with the timeout already passed.
    await start({ checkIntervalMs: 60_000, taskTimeoutMs: 1_500 });
    const [ok] = await insertTasks(db.pool, 1);
    const [broken] = await insertTasks(db.pool, 1, { fieldValue: 'broken [sim:fail]', prefix: 'broken' });
    const rows = await waitForStatuses(db.pool, [ok!, broken!], ['SUCCESS', 'FAILED'], 20_000);
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([
      ['SUCCESS', null],
      ['FAILED', '805'],
    ]);
    expect(rows[0]!.outputs?.[0]?.fileUrl).toContain(sim.url);
    expect(sim.counters().cancels).toBe(0);
    const { rows: looked } = await db.pool.query<{ ms: number }>(
      `SELECT (extract(epoch FROM finished_at - submitted_at) * 1000)::float8 AS ms FROM ai_tasks WHERE id = ANY($1)`,
      [[ok, broken]],
    );
    for (const { ms } of looked) expect(ms).toBeGreaterThanOrEqual(1_500);
  });

  it('keeps the result of a task that finished at RunningHub before its cancel request (webhook lost)', async () => {
    await start({ checkIntervalMs: 60_000 });
    const [id] = await insertTasks(db.pool, 1);
    await waitFor('the task to finish at RunningHub', () => sim.counters().tasksByStatus.SUCCESS === 1);
    expect((await tasksById(db.pool, [id!]))[0]?.status).toBe('ACTIVE');
    expect((await cancelTask(db.pool, id!)).outcome).toBe('done');
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'CANCELLED', 'FAILED'], 20_000);
    expect(row).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(row!.outputs?.[0]?.fileUrl).toContain(sim.url);
    expect(sim.counters().cancels).toBe(0);
  });

  it('cancels a PENDING task and an ACTIVE one (at RunningHub too)', async () => {
    sim.setOptions({ runningMs: [20_000, 20_000] });
    await start({ maxRunning: 1 });
    const [running, queued] = await insertTasks(db.pool, 2);
    await waitFor('the first task to be submitted', async () => (await tasksById(db.pool, [running!]))[0]?.runninghub_task_id ?? undefined);
    expect((await cancelTask(db.pool, queued!)).outcome).toBe('done');
    expect((await cancelTask(db.pool, running!)).outcome).toBe('done');
    const rows = await waitForStatuses(db.pool, [running!, queued!], ["CANCELLED"]);
    expect(rows.map((r) => r.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(rows[1]!.runninghub_task_id).toBeNull();
    expect(sim.counters().cancels).toBe(1);
    expect(sim.counters().tasksCreated).toBe(1);
  });

  it('carries out a cancel asked during the create as soon as the id is stored, not at the next poll', async () => {
    sim.setOptions({ runningMs: [30_000, 30_000], faults: { create: { kind: 'delay', ms: 1_500, times: 1 } } });
    // No poll within the test's deadline: only the processor's own kick can carry the cancel out in time.
    await start({ pollIntervalMs: 60_000 });
    const [id] = await insertTasks(db.pool, 1);
    await waitFor('the create to reach RunningHub', () => sim.counters().tasksCreated === 1);
    expect((await cancelTask(db.pool, id!)).outcome).toBe('done');
    const [row] = await waitForStatuses(db.pool, [id!], ['CANCELLED', 'SUCCESS', 'FAILED'], 20_000);
    expect(row).toMatchObject({ status: 'CANCELLED' });
    expect(sim.counters().cancels).toBe(1);
  });

  it('cancels the RunningHub task when it cannot store its id before shutdown (no double run)', async () => {
    // A real failure of the one write that stores the RunningHub id; everything else keeps working.
    await db.pool.query(`
      CREATE FUNCTION refuse_submission() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'storing the RunningHub id is refused by this test'; END $$;
      CREATE TRIGGER refuse_submission BEFORE UPDATE OF runninghub_task_id ON ai_tasks
        FOR EACH ROW WHEN (NEW.runninghub_task_id IS NOT NULL) EXECUTE FUNCTION refuse_submission();`);
    try {
      sim.setOptions({ runningMs: [20_000, 20_000] });
      const running = await start({ shutdownTimeoutMs: 3_000 });
      const [id] = await insertTasks(db.pool, 1);
      await waitFor('the task to be created at RunningHub', () => sim.counters().tasksCreated === 1);
      await waitFor('the id to fail to be stored', async () => {
        const { rows } = await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM processor_errors WHERE message LIKE '%refused by this test%'`,
        );
        return rows[0]!.n > 0;
      });
      await running.stop();
      expect(running.counters()).toMatchObject({ orphaned: 1, submitted: 0 });
      expect(sim.counters().cancels).toBe(1);
      expect(sim.counters().inFlight).toBe(0);
      expect((await tasksById(db.pool, [id!]))[0]).toMatchObject({ status: 'ACTIVE', runninghub_task_id: null });
    } finally {
      await db.pool.query('DROP TRIGGER IF EXISTS refuse_submission ON ai_tasks; DROP FUNCTION IF EXISTS refuse_submission()');
    }
  });

  it('cancels the RunningHub task of a lost claim within a bound, and counts the cancel that failed', async () => {
    // The first create answers after the lease ran out: the processor's own housekeeping recovers the
    // claim and submits the task again, so the first RunningHub task is an orphan; its cancel fails.
    sim.setOptions({ faults: { create: { kind: 'delay', ms: 1_500, times: 1 }, cancel: { kind: 'http', status: 503 } } });
    const running = await start({ processorId: 'orphans', claimLeaseMs: 300, heartbeatIntervalMs: 100 });
    const [id] = await insertTasks(db.pool, 1);
    await waitForStatuses(db.pool, [id!], ['SUCCESS']);
    await waitFor('the failed orphan cancel to be counted', () => running.counters().orphanCancelFailures >= 1);
    expect(running.counters().orphaned).toBeGreaterThanOrEqual(1);
    expect(sim.counters().tasksCreated).toBeGreaterThanOrEqual(2);
    // The heartbeat carries it to /api/stats.
    await waitFor('the heartbeat to show it', async () =>
      (await listLiveProcessors(db.pool)).some((p) => p.processorId === 'orphans' && p.orphanCancelFailures >= 1 && p.orphaned >= 1),
    );
  });

  it("fails, as a failure, a task whose lost claim used its last attempt (LEASE_EXPIRED)", async () => {
    const [id] = await insertTasks(db.pool, 1);
    // A processor claimed it with its last attempt and died before the create's reply was stored.
    await db.pool.query(
      `UPDATE ai_tasks SET status = 'ACTIVE', attempts = max_attempts, claimed_by = 'dead-processor', claim_token = gen_random_uuid(),
              claim_expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const running = await start();
    const [row] = await waitForStatuses(db.pool, [id!], ['FAILED']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'LEASE_EXPIRED' });
    expect(running.counters()).toMatchObject({ recovered: 1, failed: 1 });
  });

  it('submits higher priority first, then oldest', async () => {
    const low = await insertTasks(db.pool, 2, { priority: 0, prefix: 'low' });
    const high = await insertTasks(db.pool, 2, { priority: 10, prefix: 'high' });
    const mid = await insertTasks(db.pool, 1, { priority: 5, prefix: 'mid' });
    await start({ maxRunning: 1 });
    const all = [...low, ...high, ...mid];
    await waitForStatuses(db.pool, all, ['SUCCESS']);
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks ORDER BY submitted_at');
    expect(rows.map((r) => r.id)).toEqual([...high, ...mid, ...low]);
  });

  it('claims a freed slot at its notification, beside the loop, and writes the handover timeline at stop (TASK_PROCESSOR_TIMELINE_FILE)', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    const timelineFile = path.join(TEST_STORE_DIR, `timeline-${Date.now()}.jsonl`);
    try {
      // One slot and polls far off: the second task can only follow the first's webhook.
      await start({ maxRunning: 1, webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000, pollIntervalMs: 30_000, timelineFile });
      const [first, second] = await insertTasks(db.pool, 2);
      await waitForStatuses(db.pool, [first!, second!], ['SUCCESS']);
      await processor!.stop();
    } finally {
      await receiver.app.close();
    }
    type Mark = { step: string; at: number; channel?: string; taskIds?: string[]; taskId?: string; runninghubTaskId?: string };
    const marks = (await readFile(timelineFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Mark);
    const [first, second] = (await db.pool.query<{ id: string }>('SELECT id FROM ai_tasks ORDER BY submitted_at')).rows.map((r) => r.id);
    const at = (step: string, match: (m: Mark) => boolean) => marks.find((m) => m.step === step && match(m))?.at;
    const firstAnswered = at('create-answered', (m) => m.taskId === first);
    const freed = marks.find((m) => m.step === 'notified' && m.channel === 'runninghub_slot_freed' && m.at > (firstAnswered ?? Infinity))?.at;
    const secondClaimed = at('claim-end', (m) => m.taskIds?.includes(second!) === true);
    const secondSent = at('create-sent', (m) => m.taskId === second);
    expect(firstAnswered).toBeDefined();
    expect(freed).toBeDefined();
    expect(secondClaimed).toBeGreaterThanOrEqual(freed!);
    expect(secondSent).toBeGreaterThanOrEqual(secondClaimed!);
    // The freed slot is claimed beside the loop, at the notification: no loop pass comes in between.
    const secondClaimStart = marks.findLast((m) => m.step === 'claim-start' && m.at <= secondClaimed!)!.at;
    expect(marks.filter((m) => m.step === 'woke' && m.at > freed! && m.at < secondClaimStart)).toEqual([]);
    // Sub-millisecond wall-clock marks, in the order they were taken.
    expect(marks.some((m) => !Number.isInteger(m.at))).toBe(true);
    expect(marks.every((m, i) => i === 0 || m.at >= marks[i - 1]!.at)).toBe(true);
  });
});
