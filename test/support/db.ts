import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool, runMigrations, type Pool } from '../../src/db/index.js';

export interface TestDatabase {
  /** Connection string of this test file's own database. */
  url: string;
  /** A pool on it, closed by `drop()`. */
  pool: Pool;
  drop(): Promise<void>;
}

/** The shared server's URL with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A fresh database on the run's shared PostgreSQL, migrated, for one test file.
 * Call in `beforeAll`, and `drop()` in `afterAll`.
 */
export async function createTestDatabase(label: string, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = inject('postgresUrl');
  const name = `t_${label.replace(/\W+/g, '_').toLowerCase().slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = databaseUrl(serverUrl, name);
  const pool = createPool({ connectionString: url, applicationName: `test-${label}`, max: 10 });
  if (options.migrate !== false) await runMigrations(pool);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
