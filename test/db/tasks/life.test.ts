// The life table (src/db/tasks/life.ts) and what migration 003 makes of it in the database: the guard
// that refuses any other status change, and the one trigger function that sends every wake-up.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ALLOWED_STATUS_CHANGES,
  IllegalTransitionError,
  TASK_CHANNELS,
  TASK_PHASES,
  TASK_STATUSES,
  TRANSITIONS,
  applyTaskResult,
  asIllegalTransition,
  assertStatusChange,
  cancelTask,
  claimPendingTasks,
  endOf,
  ensureAccount,
  finishTask,
  isAllowedStatusChange,
  recordSubmission,
  retryTask,
  type TaskEnd,
} from '../../../src/db/index.js';
import { insertTasks } from '../../support/ai-tasks.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ROOT } from '../../support/programs.js';
import { waitFor } from '../../support/wait.js';
import { ACCOUNT } from './fixtures.js';

/** The diagram of ARCHITECTURE.md, drawn from the table (mermaid). */
function lifeDiagram(): string {
  const lines = ['stateDiagram-v2'];
  for (const [phase, { status }] of Object.entries(TASK_PHASES)) lines.push(`  ${phase} : ${phase} (${status})`);
  for (const t of TRANSITIONS) lines.push(`  ${t.from ?? '[*]'} --> ${t.to} : ${t.cause.replaceAll(':', '')} (${t.by})`);
  return lines.join('\n');
}

describe('the life table', () => {
  it('is what ARCHITECTURE.md draws', async () => {
    const page = await readFile(`${ROOT}ARCHITECTURE.md`, 'utf8');
    // On a change of the table, paste this block into ARCHITECTURE.md.
    expect(page).toContain(`\`\`\`mermaid\n${lifeDiagram()}\n\`\`\``);
  });

  it('allows exactly the status changes its transitions make', () => {
    expect([...ALLOWED_STATUS_CHANGES].sort()).toEqual(
      ['ACTIVE>CANCELLED', 'ACTIVE>FAILED', 'ACTIVE>PENDING', 'ACTIVE>SUCCESS', 'CANCELLED>PENDING', 'FAILED>PENDING', 'PENDING>ACTIVE', 'PENDING>CANCELLED'],
    );
    // Every phase is reached by some transition, and every phase but SUCCESS is left by one.
    const phases = Object.keys(TASK_PHASES);
    expect(new Set(TRANSITIONS.map((t) => t.to))).toEqual(new Set(phases));
    const left = new Set<string | null>(TRANSITIONS.map((t) => t.from));
    expect(phases.filter((phase) => !left.has(phase))).toEqual(['succeeded']);
  });

  it('refuses any other change with an IllegalTransitionError', () => {
    expect(() => assertStatusChange('SUCCESS', 'PENDING')).toThrow(IllegalTransitionError);
    expect(() => assertStatusChange('PENDING', 'SUCCESS')).toThrow(/cannot go from PENDING to SUCCESS/);
    expect(() => assertStatusChange('ACTIVE', 'SUCCESS')).not.toThrow();
    expect(isAllowedStatusChange('CANCELLED', 'CANCELLED')).toBe(true);
  });

  it('maps every result to its end', () => {
    expect(endOf({ kind: 'success', outputs: [1] })).toEqual({ status: 'SUCCESS', outputs: [1] });
    expect(endOf({ kind: 'failed', code: '805', message: 'm' })).toEqual({ status: 'FAILED', code: '805', message: 'm' });
    expect(endOf({ kind: 'cancelled' })).toEqual({ status: 'CANCELLED', code: 'CANCELLED', message: 'cancelled on request' });
    expect(endOf({ kind: 'timed-out', message: 't' })).toEqual({ status: 'FAILED', code: 'TIMEOUT', message: 't' });
  });
});

describe('the life in the database (migration 003)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('tasks_life');
    await ensureAccount(db.pool, ACCOUNT, 3);
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
    await db.pool.query('UPDATE runninghub_accounts SET running = 0');
  });

  it('refuses every status change the table does not allow, and makes every allowed one', async () => {
    const ended = (s: string) => ['SUCCESS', 'FAILED', 'CANCELLED'].includes(s);
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        const { rows } = await db.pool.query<{ id: string }>(
          `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, status, finished_at)
           VALUES ('shot', 'g', 'guard', '1', $1, CASE WHEN $2 THEN now() END) RETURNING id`,
          [from, ended(from)],
        );
        const change = db.pool.query(`UPDATE ai_tasks SET status = $2, finished_at = CASE WHEN $3 THEN now() END WHERE id = $1`, [
          rows[0]!.id,
          to,
          ended(to),
        ]);
        if (isAllowedStatusChange(from, to)) {
          await expect(change, `${from} -> ${to}`).resolves.toMatchObject({ rowCount: 1 });
        } else {
          const error = await change.then(
            () => undefined,
            (e: unknown) => asIllegalTransition(e),
          );
          expect(error, `${from} -> ${to}`).toBeInstanceOf(IllegalTransitionError);
          expect(error).toMatchObject({ from, to });
        }
      }
    }
  });

  it('refuses an end that is not one (finishTask) before it reaches the database', async () => {
    const [id] = await insertTasks(db.pool, 1);
    const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
    expect(task!.id).toBe(id);
    const notAnEnd = { status: 'PENDING' } as unknown as TaskEnd;
    await expect(finishTask(db.pool, { taskId: id!, claimToken: task!.claimToken }, notAnEnd)).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(finishTask(db.pool, { taskId: id!, claimToken: task!.claimToken }, { status: 'FAILED', code: 'X', message: 'x' })).resolves.toMatchObject({ status: 'FAILED' });
  });

  it('sends every wake-up from one trigger: pending, cancel, slot freed', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(`${n.channel}:${n.payload ?? ''}`));
    try {
      for (const channel of [...Object.values(TASK_CHANNELS), 'test_sentinel']) await listener.query(`LISTEN "${channel}"`);
      const [id] = await insertTasks(db.pool, 1);
      const [task] = await claimPendingTasks(db.pool, { account: ACCOUNT, processorId: 'p', limit: 1, leaseMs: 30_000 });
      expect(task!.id).toBe(id);
      expect((await cancelTask(db.pool, id!)).outcome).toBe('done');
      const rh = '1910246754753899001';
      await recordSubmission(db.pool, { taskId: id!, claimToken: task!.claimToken, runninghubTaskId: rh, firstCheckInMs: 0 });
      expect(await applyTaskResult(db.pool, { runninghubTaskId: rh }, { kind: 'cancelled' })).toMatchObject({ status: 'CANCELLED' });
      expect((await retryTask(db.pool, id!)).outcome).toBe('done');
      // Notifications of one server arrive in commit order: once the sentinel is heard, all are.
      await db.pool.query(`NOTIFY test_sentinel, 'end'`);
      await waitFor('the sentinel notification', () => heard.includes('test_sentinel:end'));
      expect(heard).toEqual([
        `${TASK_CHANNELS.pending}:${id}`,
        `${TASK_CHANNELS.cancel}:${id}`,
        `${TASK_CHANNELS.slotFreed}:${id}`,
        `${TASK_CHANNELS.pending}:${id}`,
        'test_sentinel:end',
      ]);
    } finally {
      await listener.end();
    }
  });
});
