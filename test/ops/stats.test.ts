import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHeartbeat } from '../../src/db/index.js';
import { formatDuration, type QueueStats } from '../../src/ops/index.js';
import { activateTask, insertTasks } from '../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';

const storyboard = (args: string[], env: Record<string, string>) =>
  execa(process.execPath, [`${ROOT}bin/storyboard.js`, ...args], { env, reject: false, cwd: ROOT });

describe('storyboard stats', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('ops_stats');
    const pending = await insertTasks(db.pool, 4);
    await db.pool.query(`UPDATE ai_tasks SET created_at = now() - interval '125 seconds' WHERE id = $1`, [pending[0]]);
    const failed = await insertTasks(db.pool, 2);
    await activateTask(db.pool, failed);
    await db.pool.query(
      `UPDATE ai_tasks SET status = 'FAILED', error_code = 'RUNNINGHUB_805', finished_at = now() WHERE id = ANY($1)`,
      [failed],
    );
    await db.pool.query(`INSERT INTO runninghub_accounts (fingerprint, max_running, running) VALUES (repeat('b', 64), 3, 1)`);
    await recordHeartbeat(db.pool, {
      processorId: 'worker-a',
      host: 'h',
      pid: 42,
      startedAt: new Date(),
      submitted: 9,
      retried: 1,
      orphaned: 0,
      orphanCancelFailures: 0,
      consecutiveErrors: 6,
      lastError: 'DATABASE: connect ECONNREFUSED',
    });
    // Outcomes are credited to the claiming processor by the database (migration 003), not reported.
    await db.pool.query(`UPDATE processor_heartbeats SET succeeded = 7, failed = 2 WHERE processor_id = 'worker-a'`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('prints a readable table: counts, oldest PENDING, throughput, failures by code, slots, processors', async () => {
    const result = await storyboard(['stats'], { DATABASE_URL: db.url });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const text = result.stdout;
    expect(text).toMatch(/^ {2}PENDING\s+4$/m);
    expect(text).toMatch(/^ {2}FAILED\s+2$/m);
    expect(text).toMatch(/oldest PENDING: 0:02:0\d ago/);
    expect(text).toContain('Throughput: 2 finished in the last minute, 2 in the last 5 minutes');
    expect(text).toContain('RunningHub slots in use: 1 / 3');
    expect(text).toMatch(/^ {2}RUNNINGHUB_805\s+2$/m);
    expect(text).toMatch(/^ {2}worker-a\s+LIVE\s+0:00:0\d ago\s+6\s+9\s+7\s+2\s+1\s+DATABASE: connect ECONNREFUSED$/m);
  });

  it('prints JSON with --json', async () => {
    const result = await storyboard(['stats', '--json'], { DATABASE_URL: db.url });
    expect(result.exitCode).toBe(0);
    const stats = JSON.parse(result.stdout) as QueueStats;
    expect(stats.countsByStatus).toMatchObject({ PENDING: 4, FAILED: 2, ACTIVE: 0 });
    expect(stats.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(125);
    expect(stats.failuresByErrorCode).toEqual([{ code: 'RUNNINGHUB_805', count: 2 }]);
    expect(stats.slots).toEqual({ inUse: 1, limit: 3 });
    expect(stats.processors).toEqual([expect.objectContaining({ processorId: 'worker-a', live: true, consecutiveErrors: 6, submitted: 9 })]);
  });

  it('says in one line why it cannot read the database, and refuses unknown commands', async () => {
    const down = await storyboard(['stats'], { DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:1/postgres' });
    expect(down.exitCode).toBe(1);
    expect(down.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^storyboard stats: cannot query the database 127\.0\.0\.1:1\/postgres: .*ECONNREFUSED/)]);
    const wrong = await storyboard(['stat'], {});
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('storyboard: unknown command stat');
  });

  it('formats durations as supervisorctl does', () => {
    expect(formatDuration(125.7)).toBe('0:02:05');
    expect(formatDuration(90_061)).toBe('1 day, 1:01:01');
  });
});
