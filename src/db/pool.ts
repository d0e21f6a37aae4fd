import pg from 'pg';

// int8 (bigint) and numeric come back as strings by default (pg's choice, kept): count(*) results
// are converted where used. Timestamps are Date objects.

export interface PoolSettings {
  connectionString: string;
  max?: number;
  /** Name shown in pg_stat_activity, so an operator can tell the api from a processor. */
  applicationName: string;
  /** How long to wait for a connection before failing (a down database must fail fast). */
  connectionTimeoutMillis?: number;
  /** Server-side statement timeout, so a stuck query cannot hold a request forever. */
  statementTimeoutMillis?: number;
}

export function createPool(settings: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.connectionString,
    max: settings.max ?? 10,
    application_name: settings.applicationName,
    connectionTimeoutMillis: settings.connectionTimeoutMillis ?? 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: settings.statementTimeoutMillis ?? 10_000,
    // Client-side too: a server that is frozen (not stopped) never answers, so the server-side timeout
    // alone would not fire and the caller would wait until the TCP connection breaks.
    query_timeout: (settings.statementTimeoutMillis ?? 10_000) + 2_000,
    // Idle clients must not keep a process alive that is otherwise done.
    allowExitOnIdle: true,
  });
  // An idle client that loses its server (database restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

export type { Pool, PoolClient } from 'pg';
