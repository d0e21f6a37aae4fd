// A storyboard's status is one rule written twice: statusOf (TypeScript, what the API answers) and
// storyboard_status (SQL, migration 009: the list's filter and the finished callback). Every combination of
// small counts, with and without a cancel, must give the same answer in both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusOf } from '../../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

describe('storyboard_status (SQL) and statusOf (TypeScript)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('db_storyboard_status');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('agree on every combination of counts, cancelled or not', async () => {
    const cases: { pending: number; active: number; success: number; failed: number; cancelled: number; cancelledAt: Date | null }[] = [];
    for (const pending of [0, 1])
      for (const active of [0, 2])
        for (const success of [0, 1])
          for (const failed of [0, 1])
            for (const cancelled of [0, 3])
              for (const cancelledAt of [null, new Date('2026-12-07T10:00:00Z')]) cases.push({ pending, active, success, failed, cancelled, cancelledAt });
    const { rows } = await db.pool.query<{ status: string }>(
      `SELECT storyboard_status(c.pending, c.active, c.failed, c.cancelled, c.cancelled_at) AS status
         FROM jsonb_to_recordset($1::jsonb) AS c(n int, pending int, active int, failed int, cancelled int, cancelled_at timestamptz)
        ORDER BY n`,
      [JSON.stringify(cases.map((c, n) => ({ ...c, n, cancelled_at: c.cancelledAt })))],
    );
    const fromTypeScript = cases.map((c) => statusOf({ total: c.pending + c.active + c.success + c.failed + c.cancelled, ...c }, c.cancelledAt));
    expect(rows.map((r) => r.status)).toEqual(fromTypeScript);
    // The cases cover every status, and the two that a cancel decides.
    expect(new Set(fromTypeScript)).toEqual(new Set(['running', 'cancelled', 'done_with_failures', 'done']));
    expect(statusOf({ total: 2, pending: 0, active: 0, success: 2, failed: 0, cancelled: 0 }, new Date())).toBe('done');
    expect(statusOf({ total: 2, pending: 0, active: 0, success: 1, failed: 0, cancelled: 1 }, new Date())).toBe('cancelled');
    expect(statusOf({ total: 2, pending: 0, active: 0, success: 1, failed: 0, cancelled: 1 }, null)).toBe('done_with_failures');
  });
});
