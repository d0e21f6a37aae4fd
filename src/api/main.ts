// The API program (dist/api.js): config → database → listen → migrations in the background.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPool, runMigrations, startEmbeddedPostgres, type Pool, type RunningPostgres } from '../db/index.js';
import { loadConfigOrExit } from '../shared/env.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { handleStopSignals, type StopSignal } from '../shared/signals.js';
import { runProgram } from '../shared/program.js';
import { buildApp } from './app.js';
import { createNodeInfoChecker } from './node-info-check.js';
import { createRunningHubClient } from '../runninghub/index.js';
import { loadApiConfig, type ApiConfig } from './config.js';

/** The folder holding package.json, from src/api/ or dist/ alike. */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

async function connectDatabase(config: ApiConfig, logger: Logger): Promise<{ url: string; embedded: RunningPostgres | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  const dataDir = config.embeddedPostgresDir ?? path.join(projectRoot(), '.data', 'postgres');
  logger.info({ dataDir }, 'DATABASE_URL is not set: starting an embedded PostgreSQL');
  const pgLogger = logger.child({ component: 'postgres' });
  const embedded = await startEmbeddedPostgres({
    dataDir,
    ...(config.embeddedPostgresPort !== undefined ? { port: config.embeddedPostgresPort } : {}),
    onLog: (line) => pgLogger.debug(line),
  });
  logger.info({ port: embedded.port, dataDir }, 'embedded PostgreSQL is up');
  return { url: embedded.url, embedded };
}

/**
 * Under supervisord the API may start before PostgreSQL accepts connections: keep trying, with
 * backoff up to 3 s, until the migrations are applied or the program is stopped.
 */
async function migrateUntilDone(pool: Pool, logger: Logger, stopped: AbortSignal): Promise<boolean> {
  let delayMs = 250;
  for (let attempt = 1; !stopped.aborted; attempt += 1) {
    try {
      const applied = await runMigrations(pool);
      logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'schema is up to date');
      return true;
    } catch (error) {
      logger.warn({ err: error, attempt, retryInMs: delayMs }, 'migrations failed; retrying');
      // Rejects when aborted: that ends the loop through the condition above.
      await sleep(delayMs, undefined, { signal: stopped }).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, 3_000);
    }
  }
  return false;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('api', () => loadApiConfig());
  const logger = createLogger({ name: 'api', level: config.logLevel });
  // The program's one stop handler, from the start: a signal that comes while the database or the
  // listener is still starting is kept and acted on as soon as there is something to stop cleanly.
  let stop: ((signal: StopSignal) => Promise<void>) | undefined = undefined;
  let stopRequested: StopSignal | undefined;
  handleStopSignals('api', (signal) => {
    // A second signal changes nothing: the shutdown deadline (or supervisord's SIGKILL) ends a stuck one.
    if (stop) void stop(signal);
    else stopRequested ??= signal;
  });
  const { url, embedded } = await connectDatabase(config, logger);
  const pool = createPool({
    connectionString: url,
    applicationName: 'storyboard-api',
    max: config.databasePoolSize,
    connectionTimeoutMillis: config.databaseConnectTimeoutMs,
    statementTimeoutMillis: config.databaseStatementTimeoutMs,
  });

  let schemaReady = false;
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    const checkNodeInfo = config.nodeInfoValidation ? createNodeInfoChecker(createRunningHubClient({ ...config.nodeInfoValidation, logger })) : undefined;
    app = await buildApp({ pool, config, logger, isSchemaReady: () => schemaReady, checkNodeInfo });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // E.g. the port is taken: do not leave the embedded server behind.
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const stopping = new AbortController();

  let shuttingDown = false;
  const shutdown = async (signal: StopSignal): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    stopping.abort();
    // A request that never ends must not keep the program from stopping.
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await app.close();
      await pool.end();
      await embedded?.stop();
      logger.info('stopped');
      logger.flush();
      process.exitCode = 0;
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    }
    clearTimeout(deadline);
  };
  stop = shutdown;
  if (stopRequested) {
    void shutdown(stopRequested);
    return;
  }

  void migrateUntilDone(pool, logger, stopping.signal).then((done) => {
    schemaReady = done;
    if (done) logger.info('ready');
  });
}

runProgram('api', main);
