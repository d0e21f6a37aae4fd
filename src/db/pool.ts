import pg from 'pg';
import { findUnsafeTextIn, formatTextPath } from '../shared/text.js';

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
    Client: TextCheckingClient,
  });
  // An idle client that loses its server (database restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

export type { Pool, PoolClient } from 'pg';

/**
 * A query parameter holds text PostgreSQL cannot store faithfully (U+0000, a lone surrogate; see
 * src/shared/text.ts), or PostgreSQL refused such text inside a JSON parameter. Every boundary refuses
 * that text before it gets here, so this error means a path that forgot the boundary rule: it is
 * never a driver error, and the statement was not sent (or was rolled back by PostgreSQL).
 */
export class UnsafeTextParameterError extends Error {
  override name = 'UnsafeTextParameterError';
}

export function isUnsafeTextParameter(error: unknown): error is UnsafeTextParameterError {
  return error instanceof UnsafeTextParameterError;
}

/** The problem with a statement's parameters, or null. pg sends objects as JSON and arrays as arrays. */
function unsafeParameter(values: readonly unknown[]): UnsafeTextParameterError | null {
  for (const [index, value] of values.entries()) {
    const issue = findUnsafeTextIn(value)[0];
    if (issue) {
      const where = issue.path.length > 0 ? ` at ${formatTextPath(issue.path)}` : '';
      return new UnsafeTextParameterError(`query parameter $${index + 1}${where} ${issue.message}`);
    }
  }
  return null;
}

// PostgreSQL's own refusals of such text when it arrives escaped in JSON (`"\u0000"`, `"\ud800"`):
// 22P05 untranslatable_character, 22021 character_not_in_repertoire, and 22P02 for a lone surrogate.
function asUnsafeText(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const { code, detail } = error as { code?: unknown; detail?: unknown };
  const surrogate = code === '22P02' && typeof detail === 'string' && /surrogate/i.test(detail);
  if (code === '22P05' || code === '22021' || surrogate) {
    return new UnsafeTextParameterError(`PostgreSQL refused text in a parameter: ${error.message}`, { cause: error });
  }
  return error;
}

type QueryCallback = (error: Error | null, result: unknown) => void;

/**
 * pg.Client whose every statement (pool.query, client.query in withClient/inTransaction) has its
 * parameters checked first: pg itself would turn a lone surrogate into U+FFFD without a word, and
 * U+0000 into a driver error that looks like a bug in the SQL.
 */
class TextCheckingClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const send = this.query.bind(this) as (...args: unknown[]) => unknown;
    const checked = (...args: unknown[]): unknown => {
      const [config, values] = args;
      const params = Array.isArray(values)
        ? values
        : typeof config === 'object' && config !== null && Array.isArray((config as { values?: unknown }).values)
          ? ((config as { values: unknown[] }).values)
          : [];
      const callbackAt = args.findIndex((arg, index) => index > 0 && typeof arg === 'function');
      const callback = callbackAt === -1 ? undefined : (args[callbackAt] as QueryCallback);
      const refused = unsafeParameter(params);
      if (refused) {
        if (callback) {
          process.nextTick(callback, refused, undefined);
          return undefined;
        }
        return Promise.reject(refused);
      }
      if (callback) {
        args[callbackAt] = ((error, result) => callback(error === null ? null : asUnsafeText(error), result)) satisfies QueryCallback;
        return send(...args);
      }
      const sent = send(...args);
      return sent instanceof Promise ? sent.catch((error: unknown) => Promise.reject(asUnsafeText(error))) : sent;
    };
    this.query = checked as pg.Client['query'];
  }
}

/** Anything a single statement can run on: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Lets work on a checked-out client say that the connection can no longer be trusted. */
export type DiscardConnection = (reason: unknown) => void;

/**
 * Run `work` on one pooled connection. A checked-out client has no error listener (the pool removes its
 * own): without one, the server going away between two statements would be an unhandled 'error' event
 * that kills the process. A connection that emitted an error, failed because the database is
 * unavailable, or that `work` discarded, is destroyed instead of going back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient, discard: DiscardConnection) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const discard: DiscardConnection = (reason) => {
    broken ??= reason instanceof Error ? reason : new Error(String(reason));
  };
  client.on('error', discard);
  try {
    return await work(client, discard);
  } catch (error) {
    if (isDatabaseUnavailable(error)) discard(error);
    throw error;
  } finally {
    // A discarded connection keeps its listener: pg may still emit the server's FATAL message as an
    // 'error' event after the failed query has rejected.
    if (broken === undefined) client.removeListener('error', discard);
    client.release(broken);
  }
}

/** Run `work` in a transaction on one pooled connection (see withClient for broken connections). */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, discard) => {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A failed ROLLBACK (the connection is gone, or a timed-out query is still running on it) means
      // the connection cannot be trusted.
      await client.query('ROLLBACK').catch(discard);
      throw error;
    }
  });
}

// SQLSTATE classes and node/pg messages that mean "the database cannot be reached right now", as
// opposed to a bug in a query: 08 connection exception, 57P01-57P03 shutdown/crash/starting up,
// 53300 too many connections.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection timeout',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  // pg's client-side query_timeout: the server is frozen rather than stopped.
  'Query read timeout',
];

/** True when `error` says the database is unreachable (retry later), false for a failed query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) {
    return true;
  }
  if (UNAVAILABLE_MESSAGES.some((m) => error.message.includes(m))) return true;
  // pg wraps some socket errors (AggregateError for several addresses).
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return error.cause !== undefined && error.cause !== error && isDatabaseUnavailable(error.cause);
}

/**
 * True when PostgreSQL refused the login itself (28P01 wrong password, 28000 no such role or no pg_hba
 * entry): DATABASE_URL is wrong, and waiting will not make it right.
 */
export function isLoginRefused(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === '28P01' || code === '28000';
}
