// Fair turns on real processes: three task-processor programs, a large storyboard and then a small
// one; the small one's shots are interleaved with the large one's instead of waiting behind them.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStoryboard, getStoryboard, type NewStoryboard } from '../../src/db/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { ACCOUNT, getAccountUsage, resetTestState, spawnProcessor, startTestSimulator, testSettings, type ProcessorProgram } from './harness.js';

function storyboard(name: string, shots: number): NewStoryboard {
  return {
    name,
    entityType: 'project',
    entityId: name,
    settings: { workflowId: '1904136902449209346', webappId: null, priority: null, maxAttempts: null, instanceType: null, profile: null, callbackUrl: null },
    shots: Array.from({ length: shots }, (_, i) => ({
      entityType: 'shot',
      entityId: `${name}-${i}`,
      entityName: `${name} #${i}`,
      workflowId: '1904136902449209346',
      webappId: null,
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `${name} ${i}` }],
      priority: 0,
      maxAttempts: 3,
    })),
    shotProfile: null,
  };
}

describe('storyboards on real processors', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let programs: ProcessorProgram[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('processor_storyboards');
    // RunningHub would take 10 at once: the limit of 3 is the processors' own.
    sim = await startTestSimulator({ concurrency: 10 });
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
    await db.pool.query('TRUNCATE storyboards CASCADE');
    sim.setOptions({ queuedMs: [0, 0], runningMs: [100, 100] });
  });
  afterEach(async () => {
    await Promise.all(programs.map((p) => p.cleanup()));
    programs = [];
  });

  it('interleaves a small storyboard sent after a large one, and every count comes out exact', async () => {
    const large = await createStoryboard(db.pool, storyboard('large', 40));
    programs = await Promise.all(['p1', 'p2', 'p3'].map((id) => spawnProcessor(db.url, sim.url, testSettings({ processorId: id }))));
    await waitFor('the large storyboard to be under way', async () => ((await getStoryboard(db.pool, large.storyboard.id))?.success ?? 0) >= 3);
    const small = await createStoryboard(db.pool, storyboard('small', 5));
    const smallId = small.storyboard.id;
    const { rows: createdRows } = await db.pool.query<{ created_at: Date }>('SELECT created_at FROM storyboards WHERE id = $1', [smallId]);
    const smallCreatedAt = createdRows[0]!.created_at;
    const done = await waitFor(
      'both storyboards to finish',
      async () => {
        const [l, s] = await Promise.all([getStoryboard(db.pool, large.storyboard.id), getStoryboard(db.pool, smallId)]);
        return l?.status === 'done' && s?.status === 'done' ? { l, s } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    const smallDoneAt = Math.max(...done.s.details.map((d) => d.finishedAt!.getTime()));
    // Large shots that finished while the small storyboard was waiting: in strict age order that would be
    // every large shot still pending at its submission (at least 30 here); taking turns, about one per
    // small shot plus the three that were running.
    const largeInBetween = done.l.details.filter((d) => d.finishedAt!.getTime() > smallCreatedAt.getTime() && d.finishedAt!.getTime() < smallDoneAt).length;
    const largeLeftAtSubmission = done.l.details.filter((d) => d.finishedAt!.getTime() > smallCreatedAt.getTime()).length;
    expect(largeLeftAtSubmission).toBeGreaterThanOrEqual(30);
    expect(largeInBetween).toBeLessThanOrEqual(12);
    console.log(`fairness: ${largeInBetween} large shots finished while the 5 small ones ran (${largeLeftAtSubmission} were left at its submission)`);
    // Counts kept by the trigger equal the shots' statuses, under three processors finishing shots at once.
    expect(done.l).toMatchObject({ total: 40, success: 40, pending: 0, active: 0, failed: 0, cancelled: 0 });
    expect(done.s).toMatchObject({ total: 5, success: 5, pending: 0, active: 0 });
    expect(done.l.details.every((d) => d.status === 'SUCCESS')).toBe(true);
    const counters = sim.counters();
    expect(counters.maxInFlight).toBeLessThanOrEqual(3);
    expect(counters.duplicateCreates).toBe(0);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
  });
});
