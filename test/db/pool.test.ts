import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPool,
  findFreePort,
  isDatabaseUnavailable,
  isUnsafeTextParameter,
  UnsafeTextParameterError,
  type Pool,
} from '../../src/db/index.js';
import { inTransaction } from '../../src/db/pool.js';
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

  describe('text PostgreSQL cannot keep', () => {
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => null,
        (e: unknown) => e,
      );

    it('refuses a NUL or a lone surrogate in a parameter before sending it, with an error of its own kind', async () => {
      for (const bad of ['a\u0000b', 'a\ud800b', '\udc00']) {
        const error = await refusal(db.pool.query('SELECT $1::text AS t', [bad]));
        expect(error).toBeInstanceOf(UnsafeTextParameterError);
        expect(isUnsafeTextParameter(error)).toBe(true);
        expect(isDatabaseUnavailable(error)).toBe(false);
        expect((error as Error).message).toMatch(/^query parameter \$1 contains/);
      }
      // Inside arrays and objects (sent as PostgreSQL arrays and JSON) too, named by path.
      const inArray = await refusal(db.pool.query('SELECT $1::text[] AS t', [['ok', 'x\u0000']]));
      expect((inArray as Error).message).toMatch(/^query parameter \$1 at 1 contains U\+0000/);
      const inObject = await refusal(db.pool.query('SELECT $1::jsonb AS t', [{ list: [{ value: 'a\ud83d' }] }]));
      expect((inObject as Error).message).toMatch(/^query parameter \$1 at list\.0\.value contains a lone surrogate U\+D83D/);
      // The pool is still usable, and good text (astral characters included) goes through unchanged.
      const { rows } = await db.pool.query<{ t: string }>('SELECT $1::text AS t', ['ok \ud83d\ude00 é']);
      expect(rows[0]!.t).toBe('ok \ud83d\ude00 é');
    });

    it("turns PostgreSQL's refusal of escaped NUL and surrogates in JSON text into the same error", async () => {
      for (const json of ['{"a":"\\u0000"}', '{"a":"\\ud800"}']) {
        const error = await refusal(db.pool.query('SELECT $1::jsonb AS j', [json]));
        expect(error).toBeInstanceOf(UnsafeTextParameterError);
        expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/^22/) });
      }
    });

    it('refuses inside a transaction on a checked-out client, and the transaction rolls back', async () => {
      await db.pool.query('CREATE TABLE IF NOT EXISTS text_check (t text)');
      const error = await refusal(
        inTransaction(db.pool, async (client) => {
          await client.query('INSERT INTO text_check VALUES ($1)', ['kept?']);
          await client.query('INSERT INTO text_check VALUES ($1)', ['a\u0000']);
        }),
      );
      expect(error).toBeInstanceOf(UnsafeTextParameterError);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM text_check');
      expect(rows[0]).toEqual({ n: 0 });
    });
  });
});
