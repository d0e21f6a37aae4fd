// The processor on both RunningHub API generations (RUNNINGHUB_API=v1 and v2): an empty wallet pauses the
// account (tasks stay PENDING, /api/stats shows why, one log line) until accountStatus shows coins again;
// each generation's webhook finishes tasks; instanceType is sent. Real PostgreSQL, the simulator over HTTP.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSystemStats } from '../../src/db/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import {
  API_KEY,
  eventsIn,
  inProcessProcessor,
  insertTasks,
  resetTestState,
  spawnProcessor,
  startTestSimulator,
  startWebhookReceiver,
  tasksById,
  testSettings,
  waitForStatuses,
  type ProcessorProgram,
} from './harness.js';

describe.each(['v1', 'v2'] as const)('processor on RUNNINGHUB_API=%s: balance pause, webhooks, instanceType', (api) => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let program: ProcessorProgram | undefined;
  let processor: TaskProcessor | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(`processor_balance_${api}`);
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
    await program?.cleanup();
    program = undefined;
    await processor?.stop();
    processor = undefined;
  });

  it('416 pauses claiming: tasks stay PENDING with no attempt used, stats name the pause, logged once; coins back → all SUCCESS', async () => {
    program = await spawnProcessor(db.url, sim.url, testSettings({ processorId: `balance-${api}`, balanceCheckBackoffMs: 100, balanceCheckBackoffMaxMs: 300 }), {
      RUNNINGHUB_API: api,
    });
    const warmUp = await insertTasks(db.pool, 2);
    await waitForStatuses(db.pool, warmUp, ['SUCCESS']);

    sim.setBalance(API_KEY, 0);
    const ids = await insertTasks(db.pool, 6);
    const pause = await waitFor('the account to be paused', async () => (await getSystemStats(db.pool)).accountPauses[0]);
    expect(pause.code).toBe('416');
    expect(pause.reason).toBe('TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET');
    // The pause holds while accountStatus keeps saying 0 coins: several checks, nothing claimed meanwhile.
    await waitFor('two balance checks', () => ((sim.counters().callsByEndpoint.accountStatus ?? 0) >= 2 ? true : undefined));
    const refusedWhilePaused = sim.counters().createsRefusedByCode['416'] ?? 0;
    expect(refusedWhilePaused).toBeGreaterThanOrEqual(1);
    const paused = await tasksById(db.pool, ids);
    expect(paused.map((r) => r.status)).toEqual(Array<string>(6).fill('PENDING'));
    expect(paused.every((r) => r.attempts === 0)).toBe(true);
    expect((await getSystemStats(db.pool)).accountPauses[0]?.checks).toBeGreaterThanOrEqual(1);

    sim.setBalance(API_KEY, 1_000);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    expect(rows.map((r) => r.status)).toEqual(Array<string>(6).fill('SUCCESS'));
    expect((await getSystemStats(db.pool)).accountPauses).toEqual([]);
    // Refusals stopped once the pause was in place: at most the claims in flight when it began.
    expect(sim.counters().createsRefusedByCode['416'] ?? 0).toBeLessThanOrEqual(refusedWhilePaused + 3);
    const output = program.output();
    expect(eventsIn(output, 'account.paused')).toHaveLength(1);
    expect(eventsIn(output, 'account.resumed')).toHaveLength(1);
    expect(eventsIn(output, 'task.failed')).toHaveLength(0);
  });

  it('a task that ran out of coins at RunningHub keeps its FAILED and pauses the account, told by the poll or by the webhook', async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      // The balance check a minute away: the pause stays for the test to see it.
      const settings = { balanceCheckBackoffMs: 60_000, balanceCheckBackoffMaxMs: 60_000 };
      for (const told of ['poll', 'webhook'] as const) {
        await resetTestState(db.pool, sim);
        processor = inProcessProcessor(db.url, sim.url, testSettings({ ...settings, ...(told === 'webhook' ? { webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000 } : {}) }), api);
        await processor.start();
        const [id] = await insertTasks(db.pool, 1, { fieldValue: 'no coins left [sim:fail-balance]', prefix: `coins-${told}` });
        const [row] = await waitForStatuses(db.pool, [id!], ['FAILED', 'SUCCESS']);
        expect(row!.status).toBe('FAILED');
        expect(row!.error_message).toMatch(/Insufficient balance/);
        const pause = await waitFor(`the account to be paused (${told})`, async () => (await getSystemStats(db.pool)).accountPauses[0]);
        expect(pause.reason).toMatch(/Insufficient balance: not enough coins/);
        await processor.stop();
        processor = undefined;
      }
    } finally {
      await receiver.app.close();
    }
  });

  it("finishes tasks from this generation's webhook (v2: the task object) through the api's route, without polling", async () => {
    const receiver = await startWebhookReceiver(db.pool);
    try {
      // Checks every 30 s: within this test only the webhook can finish the tasks.
      processor = inProcessProcessor(db.url, sim.url, testSettings({ webhookUrl: receiver.callbackUrl, checkIntervalMs: 30_000, pollIntervalMs: 30_000 }), api);
      await processor.start();
      const ids = await insertTasks(db.pool, 3);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(rows.every((r) => (r.outputs?.length ?? 0) === 1)).toBe(true);
      const counters = await waitFor('3 webhooks counted as delivered', () => (sim.counters().webhooksDelivered >= 3 ? sim.counters() : undefined));
      expect((counters.callsByEndpoint.outputs ?? 0) + (counters.callsByEndpoint.v2Query ?? 0)).toBe(0);
      expect(sim.tasks().every((t) => t.api === api)).toBe(true);
    } finally {
      await receiver.app.close();
    }
  });

  it("sends instanceType: the task's own, else its workflow's default", async () => {
    processor = inProcessProcessor(db.url, sim.url, testSettings({ instanceTypeDefaults: { '1904136902449209346': 'plus' } }), api);
    const [own, byDefault] = await insertTasks(db.pool, 2);
    await db.pool.query(`UPDATE ai_tasks SET instance_type = 'default' WHERE id = $1`, [own]);
    await processor.start();
    const rows = await waitForStatuses(db.pool, [own!, byDefault!], ['SUCCESS', 'FAILED']);
    const typeOf = (id: string) => sim.tasks().find((t) => t.taskId === rows.find((r) => r.id === id)?.runninghub_task_id);
    expect(typeOf(own!)).toMatchObject({ instanceType: 'default', api });
    expect(typeOf(byDefault!)).toMatchObject({ instanceType: 'plus', api });
  });
});
