// RUNNINGHUB_ACCOUNT_LIMIT_SOURCE=runninghub with a real processor, database and simulator: the account's
// limit follows v2 queue/status `concurrentLimit`, capped by RUNNINGHUB_MAX_RUNNING, and a failing
// queue/status keeps the last known limit. The simulator itself would take 10 at once (`concurrency`),
// and reports what the test sets (`reportedConcurrentLimit`): any cap below 10 is the processor's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import {
  ACCOUNT,
  API_KEY,
  eventsIn,
  getAccountUsage,
  inProcessProcessor,
  insertTasks,
  resetTestState,
  spawnProcessor,
  startTestSimulator,
  testSettings,
  waitForStatuses,
  type ProcessorProgram,
} from './harness.js';

// Long enough runs that the slots fill up even on a loaded machine: the peak in flight is the limit.
const TASKS = 12;

describe('the account limit read from RunningHub', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let processor: TaskProcessor | undefined;
  let program: ProcessorProgram | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('processor_follow_limit');
    sim = await startTestSimulator({ concurrency: 10, queuedMs: [20, 40], runningMs: [300, 400] });
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    await program?.cleanup();
    program = undefined;
    await resetTestState(db.pool, sim);
    sim.setOptions({ concurrency: 10, queuedMs: [20, 40], runningMs: [300, 400], reportedConcurrentLimit: undefined });
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });

  async function runTasks(): Promise<void> {
    const ids = await insertTasks(db.pool, TASKS);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED'], 60_000);
    expect(rows.filter((r) => r.status !== 'SUCCESS')).toEqual([]);
  }

  it('a reported 2 caps RunningHub at 2 in flight (configured 3), also after a restart while queue/status fails', async () => {
    sim.setOptions({ reportedConcurrentLimit: 2 });
    processor = inProcessProcessor(db.url, sim.url, testSettings({ maxRunning: 3, accountLimitSource: 'runninghub' }));
    await processor.start();
    await runTasks();
    expect((await getAccountUsage(db.pool, ACCOUNT))?.maxRunning).toBe(2);
    const counters = sim.counters();
    expect(counters.maxInFlightByKey[API_KEY]).toBe(2);
    expect(counters.createsRefused421).toBe(0);

    // A restart while queue/status fails keeps the 2 the account row holds, not the configured 3.
    await processor.stop();
    sim.reset();
    sim.setOptions({ reportedConcurrentLimit: 3, faults: { v2QueueStatus: { kind: 'http', status: 503 } } });
    processor = inProcessProcessor(db.url, sim.url, testSettings({ maxRunning: 3, accountLimitSource: 'runninghub' }));
    await processor.start();
    await runTasks();
    expect(sim.counters().faultsInjected).toBeGreaterThanOrEqual(1);
    expect((await getAccountUsage(db.pool, ACCOUNT))?.maxRunning).toBe(2);
    expect(sim.counters().maxInFlightByKey[API_KEY]).toBe(2);
  });

  it('a reported 10 stays at the configured 3', async () => {
    sim.setOptions({ reportedConcurrentLimit: 10 });
    processor = inProcessProcessor(db.url, sim.url, testSettings({ maxRunning: 3, accountLimitSource: 'runninghub' }));
    await processor.start();
    await runTasks();
    expect((await getAccountUsage(db.pool, ACCOUNT))?.maxRunning).toBe(3);
    expect(sim.counters().maxInFlightByKey[API_KEY]).toBe(3);
  });

  it('with the source `config` the configured 3 holds whatever RunningHub reports', async () => {
    sim.setOptions({ reportedConcurrentLimit: 1 });
    processor = inProcessProcessor(db.url, sim.url, testSettings({ maxRunning: 3 }));
    await processor.start();
    await runTasks();
    expect((await getAccountUsage(db.pool, ACCOUNT))?.maxRunning).toBe(3);
    expect(sim.counters().maxInFlightByKey[API_KEY]).toBe(3);
    expect(sim.counters().callsByEndpoint.v2QueueStatus).toBeUndefined();
  });

  it('the real program: follows a change, logs it once, keeps the last value while queue/status fails', async () => {
    sim.setOptions({ reportedConcurrentLimit: 2 });
    program = await spawnProcessor(db.url, sim.url, testSettings({ maxRunning: 3 }), {
      RUNNINGHUB_ACCOUNT_LIMIT_SOURCE: 'runninghub',
      RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL: '100ms',
    });
    const started = program;
    const maxRunning = async () => (await getAccountUsage(db.pool, ACCOUNT))?.maxRunning;
    await waitFor('the limit 2 from RunningHub', async () => ((await maxRunning()) === 2 ? true : undefined));

    // queue/status fails (HTTP 500) while RunningHub would now report 1: the last known 2 stays.
    sim.setOptions({ reportedConcurrentLimit: 1, faults: { v2QueueStatus: { kind: 'http', status: 500 } } });
    await waitFor('a failed read', () => (eventsIn(started.output(), 'account.limit_check_failed').length >= 1 ? true : undefined), { timeoutMs: 30_000 });
    const reads = () => sim.counters().callsByEndpoint.v2QueueStatus ?? 0;
    const readsAfterFirstFailure = reads();
    await waitFor('two more failed reads', () => (reads() >= readsAfterFirstFailure + 2 ? true : undefined), { timeoutMs: 30_000 });
    expect(await maxRunning()).toBe(2);
    await runTasks();
    expect(sim.counters().maxInFlightByKey[API_KEY]).toBe(2);
    // One warning for the whole outage, not one per read.
    const failures = eventsIn(started.output(), 'account.limit_check_failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'HTTP_500', keeping: 2 });

    // queue/status answers again: the 1 it reports is followed.
    sim.setOptions({ faults: {} });
    await waitFor('the limit 1 from RunningHub', async () => ((await maxRunning()) === 1 ? true : undefined), { timeoutMs: 30_000 });
    // The line is logged after the row is written: wait for it (on a loaded machine it comes some ms later).
    const changes = await waitFor('the change to 1 logged', () => {
      const logged = eventsIn(started.output(), 'account.limit_changed');
      return logged.some((c) => c.to === 1) ? logged : undefined;
    });
    // Logged once per change, not once per read (the reads come every 100 ms).
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      [3, 2],
      [2, 1],
    ]);

    // A limit that is no whole number from 1 is not followed either.
    sim.setOptions({ reportedConcurrentLimit: 0 });
    await waitFor('an unusable report', () => (eventsIn(started.output(), 'account.limit_unusable').length >= 1 ? true : undefined), { timeoutMs: 30_000 });
    expect(eventsIn(started.output(), 'account.limit_unusable')[0]).toMatchObject({ reported: '0', keeping: 1 });
    expect(await maxRunning()).toBe(1);
  });
});
