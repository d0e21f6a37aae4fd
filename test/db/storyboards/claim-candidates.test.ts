// The bounded claim (claimPendingTasks reading only each group's first due tasks, migration 008) picks
// the same tasks, in the same order, as ranking every due PENDING task (the claim of migration 006,
// kept below as the reference) — on randomised queues, on a real PostgreSQL.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPendingTasks, ensureAccount, syncProfiles, type PoolClient } from '../../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ACCOUNT } from '../tasks/fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('storyboards_claim_candidates');
});
afterAll(async () => {
  await db.drop();
});

// Migration 006's claim with every due PENDING task ranked (no locks, nothing changed): the choice the
// bounded claim must reproduce.
const REFERENCE = `
  WITH account AS (
    SELECT greatest(max_running - running, 0) AS free FROM runninghub_accounts WHERE fingerprint = $2),
  profiles AS (
    SELECT name, greatest(max_running - running, 0) AS free, workflow_ids, webapp_ids
      FROM task_profiles WHERE (SELECT free FROM account) > 0),
  due AS (
    SELECT t.id, t.priority, t.created_at, t.shot_index, coalesce(t.storyboard_id, t.id) AS task_group, s.last_turn,
           coalesce(s.active, 0) AS group_active,
           coalesce(t.profile, (SELECT p.name FROM profiles p
                                 WHERE t.workflow_id = ANY (p.workflow_ids) OR t.webapp_id = ANY (p.webapp_ids)
                                 ORDER BY p.name LIMIT 1)) AS profile
      FROM ai_tasks t LEFT JOIN storyboards s ON s.id = t.storyboard_id
     WHERE t.status = 'PENDING' AND t.run_after <= now() AND t.cancel_requested_at IS NULL),
  ranked AS (
    SELECT due.*, group_active + row_number() OVER (PARTITION BY task_group, priority ORDER BY created_at, shot_index, id) AS turn_in_group
      FROM due),
  ordered AS (
    SELECT ranked.*,
           row_number() OVER (ORDER BY priority DESC, turn_in_group, last_turn NULLS FIRST, created_at, shot_index, id) AS turn,
           row_number() OVER (PARTITION BY profile
                              ORDER BY priority DESC, turn_in_group, last_turn NULLS FIRST, created_at, shot_index, id) AS nth_of_profile
      FROM ranked)
  SELECT o.id FROM ordered o LEFT JOIN profiles p ON p.name = o.profile
   WHERE p.name IS NULL OR o.nth_of_profile <= p.free
   ORDER BY o.turn
   LIMIT least($1::int, coalesce((SELECT free FROM account), 0))`;

const WORKFLOWS = ['wf-a', 'wf-b', 'wf-c'] as const;

const boardArb = fc.record({
  workflow: fc.constantFrom(...WORKFLOWS),
  ownProfile: fc.constantFrom(null, 'alpha', 'beta'),
  lastTurn: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
  active: fc.integer({ min: 0, max: 3 }),
});
const taskArb = fc.record({
  // -1: a lone task; otherwise the storyboard's index (modulo the storyboards there are).
  board: fc.integer({ min: -1, max: 5 }),
  priority: fc.integer({ min: 0, max: 2 }),
  // created_at steps of 0..2 ms, so ties (broken by shot_index, then id) happen.
  step: fc.integer({ min: 0, max: 2 }),
  workflow: fc.constantFrom(...WORKFLOWS),
  // About one in five waits for a retry (run_after in the future): not due, never a candidate.
  notDue: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});
const queueArb = fc.record({
  boards: fc.array(boardArb, { maxLength: 6 }),
  tasks: fc.array(taskArb, { maxLength: 60 }),
  accountMax: fc.integer({ min: 1, max: 8 }),
  accountRunning: fc.integer({ min: 0, max: 3 }),
  alpha: fc.record({ max: fc.integer({ min: 1, max: 4 }), running: fc.integer({ min: 0, max: 4 }) }),
  beta: fc.record({ max: fc.integer({ min: 1, max: 4 }), running: fc.integer({ min: 0, max: 4 }) }),
  limit: fc.integer({ min: 1, max: 6 }),
});
interface QueueShape {
  boards: { workflow: string; ownProfile: string | null; lastTurn: number | null; active: number }[];
  tasks: { board: number; priority: number; step: number; workflow: string; notDue: boolean }[];
  accountMax: number;
  accountRunning: number;
  alpha: { max: number; running: number };
  beta: { max: number; running: number };
  limit: number;
}

/** Write the queue inside the open transaction of `client` (rolled back by the caller). */
async function buildQueue(client: PoolClient, q: QueueShape): Promise<void> {
  await ensureAccount(client, ACCOUNT, q.accountMax);
  await client.query('UPDATE runninghub_accounts SET running = least($2::int, max_running) WHERE fingerprint = $1', [ACCOUNT, q.accountRunning]);
  await syncProfiles(client, [
    { name: 'alpha', maxRunning: q.alpha.max, workflowIds: ['wf-a'], webappIds: [] },
    { name: 'beta', maxRunning: q.beta.max, workflowIds: ['wf-a', 'wf-b'], webappIds: [] },
  ]);
  await client.query(`UPDATE task_profiles SET running = CASE name WHEN 'alpha' THEN $1::int ELSE $2::int END`, [q.alpha.running, q.beta.running]);
  const boardIds: string[] = [];
  for (const [i, b] of q.boards.entries()) {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO storyboards (name, entity_type, entity_id) VALUES ($1, 'project', $1) RETURNING id`,
      [`board-${i}`],
    );
    const id = rows[0]!.id;
    boardIds.push(id);
    // Shots already running: they count in storyboards.active (the group's slots held).
    await client.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, storyboard_id, shot_index, profile, created_at)
       SELECT 'shot', 'run-' || g, 'Running ' || g, $2, $1, 1000 + g, $3, now() - interval '1 hour' FROM generate_series(1, $4::int) g`,
      [id, b.workflow, b.ownProfile, b.active],
    );
    await client.query(`UPDATE ai_tasks SET status = 'ACTIVE' WHERE storyboard_id = $1`, [id]);
    await client.query('UPDATE storyboards SET last_turn = $2 WHERE id = $1', [id, b.lastTurn]);
  }
  let ms = 0;
  const shotIndex = new Map<number, number>();
  for (const t of q.tasks) {
    ms += t.step;
    const board = t.board >= 0 && boardIds.length > 0 ? t.board % boardIds.length : -1;
    const shot = board >= 0 ? (shotIndex.get(board) ?? 0) : null;
    if (board >= 0) shotIndex.set(board, shot! + 1);
    const settings = board >= 0 ? q.boards[board]! : null;
    await client.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, priority, run_after, created_at,
                             storyboard_id, shot_index, profile)
       VALUES ('shot', 'e', 'E', $1, $2, now() + CASE WHEN $3 THEN interval '1 hour' ELSE interval '0' END,
               now() - interval '1 minute' + make_interval(secs => $4::double precision / 1000), $5, $6, $7)`,
      [settings ? settings.workflow : t.workflow, t.priority, t.notDue, ms, board >= 0 ? boardIds[board] : null, shot, settings?.ownProfile ?? null],
    );
  }
}

async function compare(q: QueueShape): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await buildQueue(client, q);
    const { rows: expected } = await client.query<{ id: string }>(REFERENCE, [q.limit, ACCOUNT]);
    const claimed = await claimPendingTasks(client, { account: ACCOUNT, processorId: 'p1', limit: q.limit, leaseMs: 30_000 });
    expect(claimed.map((t) => t.id)).toEqual(expected.map((r) => r.id));
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('the bounded claim', () => {
  it('picks what ranking every due task picks, on randomised queues (storyboards, lone tasks, priorities, profiles)', async () => {
    await fc.assert(fc.asyncProperty(queueArb, compare), { seed: 20261207, numRuns: 60, endOnFailure: true });
  });
});

describe('the documented edge', () => {
  it('a mixed-profile storyboard whose first `limit` shots wait on a full profile keeps its later shots waiting too', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await buildQueue(client, {
        boards: [{ workflow: 'wf-a', ownProfile: null, lastTurn: null, active: 0 }],
        tasks: [],
        accountMax: 3,
        accountRunning: 0,
        alpha: { max: 1, running: 1 },
        beta: { max: 1, running: 1 },
        limit: 1,
      });
      // Shot 0 runs wf-a (profile alpha, full), shot 1 wf-c (no profile): per-shot workflows.
      await client.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, storyboard_id, shot_index, created_at)
         SELECT 'shot', 'e', 'E', CASE g WHEN 0 THEN 'wf-a' ELSE 'wf-c' END, (SELECT id FROM storyboards), g,
                now() - interval '1 minute' + make_interval(secs => g) FROM generate_series(0, 1) g`,
      );
      const { rows: shots } = await client.query<{ id: string }>('SELECT id FROM ai_tasks WHERE shot_index = 1');
      const { rows: expected } = await client.query<{ id: string }>(REFERENCE, [1, ACCOUNT]);
      expect(expected.map((r) => r.id)).toEqual([shots[0]!.id]);
      const claimed = await claimPendingTasks(client, { account: ACCOUNT, processorId: 'p1', limit: 1, leaseMs: 30_000 });
      expect(claimed).toEqual([]);
      // With room for two, the second shot is a candidate and is taken, as ranking every task would.
      const two = await claimPendingTasks(client, { account: ACCOUNT, processorId: 'p1', limit: 2, leaseMs: 30_000 });
      expect(two.map((t) => t.id)).toEqual([shots[0]!.id]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
