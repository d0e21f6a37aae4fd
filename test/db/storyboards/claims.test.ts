// Fair claims and profile limits (src/db/tasks/queue.ts claimPendingTasks with migration 006) and the
// storyboard statements of src/db/storyboards on a real PostgreSQL, with concurrent claimers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  claimPendingTasks,
  createPool,
  createStoryboard,
  ensureAccount,
  finishTask,
  getAccountUsage,
  getProfileUsage,
  getStoryboard,
  syncProfiles,
  type NewStoryboard,
  type NewTask,
  type Pool,
} from '../../../src/db/index.js';
import { insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ACCOUNT, newTask } from '../tasks/fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('storyboards_claims');
});
afterAll(async () => {
  await db.drop();
});

const NO_SETTINGS = { workflowId: null, webappId: null, priority: null, maxAttempts: null, instanceType: null, profile: null, callbackUrl: null };

function storyboard(name: string, shots: number, overrides: Partial<NewTask> = {}, shotProfile: string | null = null): NewStoryboard {
  return {
    name,
    entityType: 'project',
    entityId: name,
    settings: { ...NO_SETTINGS, profile: shotProfile },
    shots: Array.from({ length: shots }, (_, i) => newTask({ entityId: `${name}-${i}`, entityName: `${name} #${i}`, ...overrides })),
    shotProfile,
  };
}

async function makeBoard(input: NewStoryboard): Promise<string[]> {
  const made = await createStoryboard(db.pool, input);
  if (made.outcome !== 'created') throw new Error('not created');
  return made.storyboard.details.map((d) => d.id);
}

const claimOne = async (pool: Pool = db.pool, who = 'p1') =>
  (await claimPendingTasks(pool, { account: ACCOUNT, processorId: who, limit: 1, leaseMs: 30_000 }))[0];

describe('fair claims', () => {
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks, storyboards');
    await db.pool.query('DELETE FROM runninghub_accounts');
    await db.pool.query('DELETE FROM task_profiles');
    await ensureAccount(db.pool, ACCOUNT, 3);
  });

  it('takes turns between storyboards and lone tasks, oldest first within each, one slot at a time', async () => {
    const big = await makeBoard(storyboard('big', 20));
    const small = await makeBoard(storyboard('small', 3));
    const [alone] = await insertTasks(db.pool, 1);
    const order: string[] = [];
    for (let i = 0; i < 9; i++) {
      const task = await claimOne();
      order.push(task!.id);
      await finishTask(db.pool, { taskId: task!.id, claimToken: task!.claimToken }, { status: 'SUCCESS', outputs: [] });
    }
    // Every group's first shot before any group's second; then the group served longest ago.
    expect(order).toEqual([big[0], small[0], alone, big[1], small[1], big[2], small[2], big[3], big[4]]);
  });

  it('counts the slots a group already holds: a storyboard running two waits while a new one has a shot due', async () => {
    const big = await makeBoard(storyboard('big', 10));
    const running = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 2, leaseMs: 30_000 });
    expect(running.map((t) => t.id)).toEqual([big[0], big[1]]);
    const small = await makeBoard(storyboard('small', 3));
    expect((await claimOne())!.id).toBe(small[0]);
    await finishTask(db.pool, { taskId: running[0]!.id, claimToken: running[0]!.claimToken }, { status: 'SUCCESS', outputs: [] });
    // Each holds one slot now: the tie goes to the group served longest ago.
    expect((await claimOne())!.id).toBe(big[2]);
  });

  it('serves higher priority first, and round-robin within a claim of several', async () => {
    const a = await makeBoard(storyboard('a', 5));
    const b = await makeBoard(storyboard('b', 5));
    const [urgent] = await insertTasks(db.pool, 1, { priority: 5 });
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 3, leaseMs: 30_000 });
    expect(claimed.map((t) => t.id)).toEqual([urgent, a[0], b[0]]);
  });

  it('passes over a profile\'s tasks once its slots are taken, and gives its slots back with the account\'s', async () => {
    await syncProfiles(db.pool, [{ name: 'lumina', maxRunning: 1, workflowIds: ['42'], webappIds: [] }]);
    const lumina = await insertTasks(db.pool, 4);
    await db.pool.query(`UPDATE ai_tasks SET workflow_id = '42' WHERE id = ANY($1)`, [lumina]);
    const plain = await insertTasks(db.pool, 2);
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 3, leaseMs: 30_000 });
    expect(new Set(claimed.map((t) => t.id))).toEqual(new Set([lumina[0], plain[0], plain[1]]));
    expect(await getProfileUsage(db.pool)).toEqual([{ name: 'lumina', running: 1, maxRunning: 1, holders: 1 }]);
    const first = claimed.find((t) => t.id === lumina[0])!;
    await finishTask(db.pool, { taskId: first.id, claimToken: first.claimToken }, { status: 'FAILED', code: 'X', message: 'x' });
    expect(await getProfileUsage(db.pool)).toEqual([{ name: 'lumina', running: 0, maxRunning: 1, holders: 0 }]);
    const next = await claimOne();
    expect(next!.id).toBe(lumina[1]);
  });

  it('uses the storyboard\'s profile for its shots before any workflow match', async () => {
    await syncProfiles(db.pool, [
      { name: 'slow', maxRunning: 1, workflowIds: [], webappIds: [] },
      { name: 'by-workflow', maxRunning: 3, workflowIds: ['1904136902449209346'], webappIds: [] },
    ]);
    await makeBoard(storyboard('b', 3, {}, 'slow'));
    const claimed = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p1', limit: 3, leaseMs: 30_000 });
    expect(claimed).toHaveLength(1);
    expect(await getProfileUsage(db.pool)).toEqual([
      { name: 'by-workflow', running: 0, maxRunning: 3, holders: 0 },
      { name: 'slow', running: 1, maxRunning: 1, holders: 1 },
    ]);
  });

  it('holds two profiles\' limits and the account\'s under 4 pools x 8 concurrent claimers, and the storyboard counts stay exact', async () => {
    await syncProfiles(db.pool, [
      { name: 'one', maxRunning: 1, workflowIds: ['11'], webappIds: [] },
      { name: 'two', maxRunning: 2, workflowIds: [], webappIds: [] },
    ]);
    const oneTasks = await insertTasks(db.pool, 40);
    await db.pool.query(`UPDATE ai_tasks SET workflow_id = '11' WHERE id = ANY($1)`, [oneTasks]);
    await makeBoard(storyboard('two-board', 60, {}, 'two'));
    const plainBoard = await makeBoard(storyboard('plain', 60));
    const total = 160;
    const pools = Array.from({ length: 4 }, (_, i) => createPool({ connectionString: db.url, applicationName: `claimer-${i}`, max: 8 }));
    const running = new Map<string, number>([['one', 0], ['two', 0], ['all', 0]]);
    const highest = new Map<string, number>([['one', 0], ['two', 0], ['all', 0]]);
    const profileOf = new Map<string, string>();
    for (const id of oneTasks) profileOf.set(id, 'one');
    let done = 0;
    const seen = new Set<string>();
    const bump = (key: string, by: number) => {
      running.set(key, running.get(key)! + by);
      highest.set(key, Math.max(highest.get(key)!, running.get(key)!));
    };
    const claimer = async (pool: Pool, who: string) => {
      for (;;) {
        const task = await claimOne(pool, who);
        if (!task) {
          if (done === total) return;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        expect(seen.has(task.id)).toBe(false);
        seen.add(task.id);
        const profile = profileOf.get(task.id) ?? (plainBoard.includes(task.id) ? undefined : 'two');
        bump('all', 1);
        if (profile) bump(profile, 1);
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 3));
        bump('all', -1);
        if (profile) bump(profile, -1);
        await finishTask(pool, { taskId: task.id, claimToken: task.claimToken }, { status: 'SUCCESS', outputs: [] });
        done++;
      }
    };
    try {
      await Promise.all(pools.flatMap((pool, p) => Array.from({ length: 8 }, (_, c) => claimer(pool, `p${p}-${c}`))));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    expect(done).toBe(total);
    expect(highest.get('one')).toBe(1);
    expect(highest.get('two')).toBeLessThanOrEqual(2);
    expect(highest.get('all')).toBeLessThanOrEqual(3);
    expect(highest.get('all')).toBeGreaterThanOrEqual(2); // the claimers did overlap
    expect(await getAccountUsage(db.pool, ACCOUNT)).toEqual({ running: 0, maxRunning: 3, holders: 0 });
    expect((await getProfileUsage(db.pool)).map((p) => p.running)).toEqual([0, 0]);
    const { rows } = await db.pool.query(
      `SELECT s.name, s.success, s.pending, s.active, (SELECT count(*)::int FROM ai_tasks t WHERE t.storyboard_id = s.id AND t.status = 'SUCCESS') AS counted
         FROM storyboards s ORDER BY s.name`,
    );
    expect(rows).toEqual([
      { name: 'plain', success: 60, pending: 0, active: 0, counted: 60 },
      { name: 'two-board', success: 60, pending: 0, active: 0, counted: 60 },
    ]);
  });
});

describe('storyboards in the database', () => {
  it('creates all shots or none', async () => {
    const before = await db.pool.query('SELECT (SELECT count(*)::int FROM storyboards) AS b, (SELECT count(*)::int FROM ai_tasks) AS t');
    const broken = storyboard('broken', 3);
    broken.shots[2] = { ...broken.shots[2]!, maxAttempts: 0 }; // refused by the table's check
    await expect(createStoryboard(db.pool, broken)).rejects.toThrow(/max_attempts/);
    const after = await db.pool.query('SELECT (SELECT count(*)::int FROM storyboards) AS b, (SELECT count(*)::int FROM ai_tasks) AS t');
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('keeps a profile\'s running count when its settings change, and removes profiles no longer configured', async () => {
    await db.pool.query('DELETE FROM task_profiles');
    await syncProfiles(db.pool, [
      { name: 'a', maxRunning: 2, workflowIds: [], webappIds: [] },
      { name: 'b', maxRunning: 2, workflowIds: [], webappIds: [] },
    ]);
    await db.pool.query(`UPDATE task_profiles SET running = 1 WHERE name = 'a'`);
    await syncProfiles(db.pool, [{ name: 'a', maxRunning: 1, workflowIds: ['7'], webappIds: [], timeoutMs: 5000 }]);
    const { rows } = await db.pool.query('SELECT name, running, max_running, workflow_ids, timeout_ms FROM task_profiles');
    expect(rows).toEqual([{ name: 'a', running: 1, max_running: 1, workflow_ids: ['7'], timeout_ms: 5000 }]);
  });

  it('reads a storyboard with its shots in order', async () => {
    const made = await createStoryboard(db.pool, storyboard('ordered', 12));
    const read = await getStoryboard(db.pool, made.storyboard.id);
    expect(read!.details.map((d) => d.shotIndex)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(read!.details[0]!.createdAt).toBeInstanceOf(Date);
    expect(read).toMatchObject({ total: 12, pending: 12, status: 'running' });
  });
});
