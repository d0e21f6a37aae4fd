import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, findFreePort, isDatabaseUnavailable, type Pool } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('isDatabaseUnavailable', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('recognises connection failures by SQLSTATE, errno, message and cause', () => {
    expect(isDatabaseUnavailable(withCode('08006'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('57P01'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([withCode('ECONNREFUSED')], 'all failed'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
  });

  it('does not mistake a failed query for an unreachable database', () => {
    expect(isDatabaseUnavailable(withCode('42P01', 'relation "nope" does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('23505', 'duplicate key'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});

describe('pool against a real server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pool');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reports a refused connection as unavailable', async () => {
    const url = new URL(db.url);
    // A port nobody listens on.
    url.port = String(await findFreePort());
    const pool: Pool = createPool({ connectionString: url.toString(), applicationName: 'test-refused', connectionTimeoutMillis: 2_000 });
    try {
      const error: unknown = await pool.query('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('reports a failed query as not unavailable', async () => {
    const error: unknown = await db.pool.query('SELECT * FROM no_such_table').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
