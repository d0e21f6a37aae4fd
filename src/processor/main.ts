// The `task-processor` program (supervisord runs it): submits PENDING ai_tasks to RunningHub.
import './threadpool.js';
import { loadConfigOrExit } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { runProgram } from '../shared/program.js';
import { handleStopSignals, type StopSignal } from '../shared/signals.js';
import { createPool, isLoginRefused, runMigrations } from '../db/index.js';
import { createRunningHubClient, createUploader } from '../runninghub/index.js';
import { removeTaskOutputs } from '../store/index.js';
import { loadProcessorConfig } from './config.js';
import { accountFingerprint } from './policy.js';
import { createTaskProcessor } from './processor.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit('task-processor', () => loadProcessorConfig());
  const logger = createLogger({
    name: 'task-processor',
    level: config.logLevel,
    file: config.logFile,
    fileMaxBytes: config.logFileMaxBytes,
    fileBackups: config.logFileBackups,
    // Each start on stderr too: `supervisorctl tail -1000 task-processor stderr` shows the restarts (the guide).
    stderrEvents: ['processor.started'],
  });
  const { settings } = config;
  const makePool = () =>
    createPool({ connectionString: config.databaseUrl, applicationName: `task-processor ${settings.processorId}`.slice(0, 63), max: 10 });

  // The program's one stop handler, from the start: before the processor exists a signal only marks
  // the start-up as stopping; afterwards it drains the processor (shutdown, below).
  let stopping = false;
  let shutdown: ((signal: StopSignal) => void) | undefined = undefined;
  handleStopSignals('task-processor', (signal) => {
    stopping = true;
    shutdown?.(signal);
  });

  // The API normally migrates; doing it here too (under the advisory lock) lets the processor start
  // first. Under supervisord the database may not accept connections yet: wait for it here rather
  // than exit and burn through startretries.
  const migrationPool = makePool();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await runMigrations(migrationPool);
        break;
      } catch (error) {
        if (stopping) process.exit(0);
        if (isLoginRefused(error)) {
          // A wrong user or password is not "the database is not ready": exit 2 with the cause on stderr, so
          // that supervisord shows the program FATAL after its retries and its error log says what to change.
          logger.error({ event: 'processor.database_login_refused', err: String(error) }, 'the database refused the login');
          logger.flush();
          process.stderr.write(`task-processor: the database refused the login of DATABASE_URL (${String(error)}): check its user and password\n`);
          process.exit(2);
        }
        const waitMs = Math.min(250 * 2 ** (attempt - 1), 3_000);
        logger.warn({ event: 'processor.waiting_for_database', attempt, err: String(error), retryInMs: waitMs }, 'database not ready');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        if (stopping) process.exit(0);
      }
    }
  } finally {
    await migrationPool.end();
  }
  if (stopping) process.exit(0);

  const processor = createTaskProcessor({
    settings,
    account: accountFingerprint(config.runningHub.apiKey),
    databaseUrl: config.databaseUrl,
    logger,
    createPool: makePool,
    createClient: () => createRunningHubClient({ ...config.runningHub, logger }),
    uploadFile: createUploader(config.runningHub, logger),
    // Retention deletes a pruned task's kept outputs with its row.
    onTasksPruned: (taskIds) => removeTaskOutputs(settings.outputDir, taskIds),
  });

  let shuttingDown = false;
  shutdown = (signal: StopSignal) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ event: 'processor.signal', signal }, `received ${signal}`);
    const force = setTimeout(() => {
      logger.warn({ event: 'processor.shutdown_timeout', ms: settings.shutdownTimeoutMs }, 'shutdown took too long; exiting (leases will be recovered)');
      logger.flush();
      process.exit(0);
    }, settings.shutdownTimeoutMs);
    force.unref();
    processor.stop().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ event: 'processor.error', err: String(error) }, 'error while stopping');
        logger.flush();
        process.exit(1);
      },
    );
  };

  await processor.start();

  // A crashed loop must end the program (supervisord restarts it): its LISTEN connection and
  // heartbeat would otherwise keep a dead processor looking alive. The loop logged processor.crashed.
  const end = await processor.finished;
  if (end.kind === 'crashed' && !shuttingDown) {
    shuttingDown = true;
    const force = setTimeout(() => process.exit(1), settings.shutdownTimeoutMs);
    force.unref();
    await processor.stop().catch(() => undefined);
    logger.flush();
    process.exit(1);
  }
}

runProgram('task-processor', main);
