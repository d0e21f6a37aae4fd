import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, runMigrations } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate', { migrate: false });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('applies every numbered file once, even when several processes start at the same moment', async () => {
    const files = await loadMigrations();
    const results = await Promise.all([runMigrations(db.pool), runMigrations(db.pool), runMigrations(db.pool)]);
    // Exactly one runner applied everything; the others found it done.
    const applied = results.filter((r) => r.length > 0);
    expect(applied).toHaveLength(1);
    expect(applied[0]).toEqual(files.map((f) => f.version));
    const { rows } = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
  });

  it('keeps the columns operators already query', async () => {
    await db.pool.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('shot', '1', 'Shot 1', '19')`,
    );
    const { rows } = await db.pool.query(
      'SELECT id, status, entity_name, created_at FROM ai_tasks ORDER BY created_at DESC LIMIT 10',
    );
    expect(rows[0]).toMatchObject({ status: 'PENDING', entity_name: 'Shot 1' });
  });

  it('leaves the schema unchanged when a migration fails', async () => {
    const bad = [{ version: 9001, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();' }];
    await expect(runMigrations(db.pool, bad)).rejects.toThrow(/migration 9001_broken failed/);
    const { rows } = await db.pool.query(`SELECT to_regclass('half_done') AS t`);
    expect(rows[0].t).toBeNull();
    const recorded = await db.pool.query('SELECT 1 FROM schema_migrations WHERE version = 9001');
    expect(recorded.rowCount).toBe(0);
  });

  it('rejects, without crashing the process, when its connection dies while it waits for the lock', async () => {
    // Another session holds the migration lock, so runMigrations waits on pg_advisory_lock; then its
    // backend is terminated, as a database restart would. Without an error listener on the checked-out
    // client this is an unhandled 'error' event (vitest reports it and fails the run).
    const holder = await db.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(727274001)');
      // Settled into a value at once, so the rejection is never "unhandled" while we terminate the backend.
      const waiting = runMigrations(db.pool).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      const waiter = await waitFor('runMigrations waiting on the advisory lock', async () => {
        const { rows } = await holder.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock%' AND pid <> pg_backend_pid()`,
        );
        return rows[0]?.pid;
      });
      await holder.query('SELECT pg_terminate_backend($1)', [waiter]);
      expect(await waiting).toBeInstanceOf(Error);
      await holder.query('SELECT pg_advisory_unlock(727274001)');
      // The pool is still usable: the broken connection was discarded, not handed out again.
      expect(await runMigrations(db.pool)).toEqual([]);
    } finally {
      holder.release();
    }
  });

  it('notifies listeners when a PENDING task is created', async () => {
    const listener = await db.pool.connect();
    try {
      await listener.query('LISTEN ai_tasks_pending');
      const received = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.payload ?? '')));
      const { rows } = await db.pool.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, webapp_id) VALUES ('shot', '2', 'Shot 2', '77') RETURNING id`,
      );
      expect(await received).toBe(rows[0].id);
    } finally {
      await listener.query('UNLISTEN *');
      listener.release();
    }
  });
});
