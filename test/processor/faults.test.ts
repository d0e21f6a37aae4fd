// 300 tasks through two processors while the simulator misbehaves in turn: HTTP 5xx, connections
// dropped before and after handling, replies slower than the client's timeout, 421 storms, malformed
// bodies, and the wallet running dry mid-run. On both API generations: every task ends SUCCESS or
// FAILED with a named code, none is lost, the account's limit holds, and duplicates come only from
// creates whose reply was lost (the claim window: RunningHub did create the task, we could not know).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSystemStats } from '../../src/db/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { SimulatorFault, SimulatorOptionsInput, RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { ACCOUNT, API_KEY, getAccountUsage, inProcessProcessor, insertTasks, startTestSimulator, testSettings, waitForStatuses } from './harness.js';

const TASKS = 300;

type FaultPlan = { create?: SimulatorFault; follow?: SimulatorFault; balanceRunsOut?: true; orphans?: number };

/** One phase per ~20 creates; `orphans` = creates that took effect although we saw a failure. */
const PLAN: FaultPlan[] = [
  { create: { kind: 'http', status: 503, times: 3 }, follow: { kind: 'http', status: 500, times: 5 } },
  { create: { kind: 'code', code: 421, times: 15 }, follow: { kind: 'malformed', times: 3 } },
  { create: { kind: 'drop', afterHandling: false, times: 2 }, follow: { kind: 'drop', afterHandling: false, times: 3 } },
  { create: { kind: 'drop', afterHandling: true, times: 2 }, follow: { kind: 'delay', ms: 300, times: 5 }, orphans: 2 },
  { create: { kind: 'malformed', times: 2 }, follow: { kind: 'drop', afterHandling: true, times: 3 } },
  { balanceRunsOut: true },
  // Slower than the client's 2 s timeout: the create happened, its reply never arrived in time.
  { create: { kind: 'delay', ms: 2_500, times: 1 }, orphans: 1 },
  { create: { kind: 'code', code: 421, times: 30 }, follow: { kind: 'http', status: 502, times: 4 } },
  { create: { kind: 'http', status: 500, times: 2 } },
];

describe.each(['v1', 'v2'] as const)('faults, %s', (api) => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  const processors: TaskProcessor[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(`processor_faults_${api}`);
    // RunningHub would take 10: the limit of 3 must come from the processors. 5 % of runs fail there (805).
    sim = await startTestSimulator({ concurrency: 10, failureRate: 0.05 } satisfies Partial<SimulatorOptionsInput>);
  });
  afterAll(async () => {
    await Promise.all(processors.map((p) => p.stop()));
    await sim.stop();
    await db.drop();
  });

  it(`${TASKS} tasks under injected faults: all end with a named code, none lost, ≤ 3 at RunningHub, duplicates only from lost create replies`, async () => {
    const createEndpoint = api === 'v1' ? 'create' : 'v2RunWorkflow';
    const followEndpoint = api === 'v1' ? 'outputs' : 'v2Query';
    for (const id of ['a', 'b']) {
      const processor = inProcessProcessor(db.url, sim.url, testSettings({ processorId: `faults-${api}-${id}`, checkIntervalMs: 100 }), api);
      processors.push(processor);
      await processor.start();
    }
    const ids = await insertTasks(db.pool, TASKS, { maxAttempts: 6 });

    let orphans = 0;
    let maxAccountRunning = 0;
    for (const [phase, plan] of PLAN.entries()) {
      const before = sim.counters().tasksCreated;
      if (plan.balanceRunsOut) {
        sim.setBalance(API_KEY, 0);
        await waitFor('the account to pause', async () => (await getSystemStats(db.pool)).accountPauses[0]);
        sim.setBalance(API_KEY, 1_000_000);
        await waitFor('the account to resume', async () => ((await getSystemStats(db.pool)).accountPauses.length === 0 ? true : undefined));
      } else {
        sim.setOptions({
          faults: { ...(plan.create ? { [createEndpoint]: plan.create } : {}), ...(plan.follow ? { [followEndpoint]: plan.follow } : {}) },
        });
        orphans += plan.orphans ?? 0;
      }
      // Event-driven phases: the next fault set once ~20 more tasks were created at RunningHub.
      await waitFor(`phase ${phase}: 20 more creates`, async () => {
        const usage = await getAccountUsage(db.pool, ACCOUNT);
        maxAccountRunning = Math.max(maxAccountRunning, usage?.running ?? 0);
        return sim.counters().tasksCreated >= Math.min(before + 20, TASKS) ? true : undefined;
      }, { timeoutMs: 60_000 });
    }
    sim.setOptions({ faults: {} });

    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED'], 180_000);
    expect(rows).toHaveLength(TASKS);
    const failed = rows.filter((r) => r.status === 'FAILED');
    for (const row of failed) expect(row.error_code, `task ${row.id}`).toMatch(/^[A-Z0-9_]+$/);
    for (const row of rows.filter((r) => r.status === 'SUCCESS')) expect(row.outputs?.length).toBe(1);
    // Most tasks succeed: only RunningHub's own 5 % failures (805) and attempts used up end FAILED.
    expect(rows.filter((r) => r.status === 'SUCCESS').length).toBeGreaterThan(TASKS * 0.8);

    const counters = sim.counters();
    expect(maxAccountRunning).toBeLessThanOrEqual(3);
    // At RunningHub: our 3, plus at most the orphans of lost create replies while they still ran.
    expect(counters.maxInFlightByKey[API_KEY] ?? 0).toBeLessThanOrEqual(3 + orphans);
    expect(counters.createsRefused421).toBe(0);
    expect(counters.duplicateCreates).toBeLessThanOrEqual(orphans);
    expect(counters.faultsInjected).toBeGreaterThan(30);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
  });
});
