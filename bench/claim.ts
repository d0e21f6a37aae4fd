// npm run bench:claim — the cost of one claim (claimPendingTasks, limit 3) as the backlog grows:
// 0, 1,000, 10,000 and 100,000 due PENDING tasks (half lone, half shots of 50 storyboards), then with
// 1,000,000 finished rows besides the 100,000. Goal: p50 flat, within 1.2x of the empty table's.
// Each claim runs in a transaction that is rolled back, so every sample sees the same queue. Beside
// it, the p50 of ranking every due task (migration 006's claim, as a plain SELECT) for comparison.
// Real embedded PostgreSQL in its own folder.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { claimPendingTasks, createPool, ensureAccount, runMigrations, startEmbeddedPostgres, type Pool } from '../src/db/index.js';

const ACCOUNT = createHash('sha256').update('bench-claim-key').digest('hex');
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? '300');
const REFERENCE_SAMPLES = 10;
const GOAL_RATIO = 1.2;

// Migration 006's claim choice: every due PENDING task ranked (what the bounded claim replaced).
const RANK_EVERYTHING = `
  WITH due AS (
    SELECT t.id, t.priority, t.created_at, t.shot_index, coalesce(t.storyboard_id, t.id) AS task_group, s.last_turn,
           coalesce(s.active, 0) AS group_active
      FROM ai_tasks t LEFT JOIN storyboards s ON s.id = t.storyboard_id
     WHERE t.status = 'PENDING' AND t.run_after <= now() AND t.cancel_requested_at IS NULL),
  ranked AS (
    SELECT due.*, group_active + row_number() OVER (PARTITION BY task_group, priority ORDER BY created_at, shot_index, id) AS turn_in_group
      FROM due)
  SELECT id FROM ranked ORDER BY priority DESC, turn_in_group, last_turn NULLS FIRST, created_at, shot_index, id LIMIT 3`;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

async function timeClaims(pool: Pool, samples: number): Promise<{ p50: number; p99: number; claimed: number }> {
  const client = await pool.connect();
  const times: number[] = [];
  let claimed = 0;
  try {
    for (let i = 0; i < samples; i++) {
      await client.query('BEGIN');
      const start = process.hrtime.bigint();
      const tasks = await claimPendingTasks(client, { account: ACCOUNT, processorId: 'bench', limit: 3, leaseMs: 30_000 });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      claimed = tasks.length;
      await client.query('ROLLBACK');
    }
  } finally {
    client.release();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), claimed };
}

async function timeReference(pool: Pool): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REFERENCE_SAMPLES; i++) {
    const start = process.hrtime.bigint();
    await pool.query(RANK_EVERYTHING);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return percentile(times, 50);
}

/** Add `count` due PENDING tasks: half lone, half shots spread over the 50 storyboards. */
async function addDue(pool: Pool, boards: string[], count: number, firstShot: number): Promise<void> {
  const lone = Math.floor(count / 2);
  await pool.query(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, priority, created_at)
     SELECT 'shot', 'lone-' || g, 'Lone ' || g, 'wf', 0, now() - interval '1 day' + make_interval(secs => g)
       FROM generate_series(1, $1::int) g`,
    [lone],
  );
  await pool.query(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, priority, created_at, storyboard_id, shot_index)
     SELECT 'shot', 'shot-' || g, 'Shot ' || g, 'wf', 0, now() - interval '1 day' + make_interval(secs => g),
            ($3::uuid[])[1 + g % 50], $2::int + g / 50
       FROM generate_series(0, $1::int - 1) g`,
    [count - lone, firstShot, boards],
  );
}

async function explain(pool: Pool): Promise<void> {
  {
      // The claim's own statement and parameters, captured, then run under EXPLAIN ANALYZE (rolled back).
      let captured: { sql: string; values: unknown[] } | undefined;
      const capture = {
        // The claim is a prepared statement: its text and values come as one config object.
        query: (config: { text: string; values: unknown[] }) => {
          captured = { sql: config.text, values: config.values };
          return Promise.resolve({ rows: [] });
        },
      } as unknown as Pool;
      await claimPendingTasks(capture, { account: ACCOUNT, processorId: 'bench', limit: 3, leaseMs: 30_000 });
      const client = await pool.connect();
      try {
        for (const [name, sql, values] of [
          ['the bounded claim', captured!.sql, captured!.values],
          ['ranking every due task', RANK_EVERYTHING, []],
        ] as const) {
          await client.query('BEGIN');
          const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, [...values]);
          console.log(`\n${name}:\n` + plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
          await client.query('ROLLBACK');
        }
      } finally {
        client.release();
      }
    }
}

async function main(): Promise<void> {
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'bench-claim-'));
  await chmod(dataRoot, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataRoot, 'data'), ephemeral: true });
  const pool = createPool({ connectionString: pg.url, applicationName: 'bench-claim', max: 2 });
  try {
    await runMigrations(pool);
    await ensureAccount(pool, ACCOUNT, 1000);
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO storyboards (name, entity_type, entity_id) SELECT 'board ' || g, 'project', 'p' || g
         FROM generate_series(1, 50) g RETURNING id`,
    );
    const boards = rows.map((r) => r.id);
    console.log(`bench:claim — claim of 3 (BEGIN, claim, ROLLBACK), ${SAMPLES} samples per row; goal: p50 within ${GOAL_RATIO}x of the empty table`);
    const results: { label: string; p50: number; p99: number }[] = [];
    let due = 0;
    const measure = async (label: string) => {
      await pool.query('ANALYZE ai_tasks');
      await pool.query('ANALYZE storyboards');
      const claim = await timeClaims(pool, SAMPLES);
      const reference = await timeReference(pool);
      results.push({ label, p50: claim.p50, p99: claim.p99 });
      console.log(
        `  ${label.padEnd(44)} claim p50 ${claim.p50.toFixed(2)} ms  p99 ${claim.p99.toFixed(2)} ms  (took ${claim.claimed})` +
          `   ranking every due task: p50 ${reference.toFixed(2)} ms`,
      );
      if (process.env.BENCH_EXPLAIN === label.split(' ')[0]) await explain(pool);
    };
    await measure('0 due');
    for (const target of [1_000, 10_000, 100_000]) {
      await addDue(pool, boards, target - due, due);
      due = target;
      await measure(`${target.toLocaleString('en')} due`);
    }
    // 1,000,000 finished rows: lone ones and shots of the same 50 storyboards.
    for (let from = 1; from <= 1_000_000; from += 100_000) await pool.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, status, finished_at, created_at, storyboard_id, shot_index)
       SELECT 'shot', 'done-' || g, 'Done ' || g, 'wf', 'SUCCESS', now(), now() - interval '2 days',
              CASE WHEN g % 2 = 0 THEN ($1::uuid[])[1 + g % 50] END, CASE WHEN g % 2 = 0 THEN 10000000 + g END
         FROM generate_series($2::int, $2::int + 99999) g`,
      [boards, from],
    );
    await pool.query('VACUUM ANALYZE ai_tasks');
    await measure('100,000 due + 1,000,000 finished rows');
    const base = results[0]!.p50;
    const worst = Math.max(...results.map((r) => r.p50));
    const ratio = worst / base;
    console.log(`  goal: p50 <= ${GOAL_RATIO}x of empty (${base.toFixed(2)} ms) at every size: worst ${worst.toFixed(2)} ms = ${ratio.toFixed(2)}x — ${ratio <= GOAL_RATIO ? 'MET' : 'NOT MET'}`);
  } finally {
    await pool.end();
    await pg.stop();
    await rm(dataRoot, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
