// Shared set-up for the processor tests: a migrated database, the RunningHub simulator, a webhook
// receiver (the real route in a bare Fastify), and processors in-process or as real programs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { cancelTask, createPool, getAccountUsage, type Pool } from '../../src/db/index.js';
import { runningHubWebhookRoutes, WEBHOOK_PATH } from '../../src/api/index.js';
import {
  accountFingerprint,
  createTaskProcessor,
  webhookCallbackUrl,
  type ProcessorSettings,
  type TaskProcessor,
} from '../../src/processor/index.js';
import { createRunningHubClient, createUploader, type RunningHubApi } from '../../src/runninghub/index.js';
import { startSimulator, type RunningSimulator, type SimulatorOptionsInput } from '../../src/runninghub/simulator/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { insertTasks } from '../support/ai-tasks.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

export const API_KEY = 'processor-test-key';
export const ACCOUNT = accountFingerprint(API_KEY);
export const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';

/** The stores of this test file's processors (a fresh directory per test file, removed after it). */
export const TEST_STORE_DIR = mkdtempSync(path.join(os.tmpdir(), 'processor-store-'));
afterAll(async () => {
  await rm(TEST_STORE_DIR, { recursive: true, force: true });
});

/** Fast settings for tests: short polls and backoffs so nothing waits for the production defaults. */
export function testSettings(overrides: Partial<ProcessorSettings> = {}): ProcessorSettings {
  return {
    processorId: `test-${Math.random().toString(36).slice(2, 8)}`,
    pollIntervalMs: 200,
    maxPendingBatch: 5,
    maxActiveBatch: 20,
    taskTimeoutMs: 60_000,
    maxConsecutiveErrors: 10,
    errorBackoffMs: 100,
    errorBackoffMaxMs: 500,
    maxRunning: 3,
    claimLeaseMs: 5_000,
    checkIntervalMs: 200,
    retryBackoffMs: 50,
    retryBackoffMaxMs: 200,
    capacityBackoffMs: 100,
    heartbeatIntervalMs: 500,
    shutdownTimeoutMs: 10_000,
    webhookUrl: undefined,
    balanceCheckBackoffMs: 100,
    balanceCheckBackoffMaxMs: 400,
    instanceTypeDefaults: {},
    outputDir: path.join(TEST_STORE_DIR, 'outputs'),
    uploadDir: path.join(TEST_STORE_DIR, 'uploads'),
    outputKeepAttempts: 3,
    outputKeepBackoffMs: 20,
    outputKeepBackoffMaxMs: 100,
    outputKeepConcurrency: 4,
    outputDownloadIdleTimeoutMs: 5_000,
    runninghubUploadValidMs: 3_600_000,
    runninghubUploadReuseMarginMs: 60_000,
    ...overrides,
  };
}

/** The same settings as environment variables, for the real program. */
export function settingsEnv(settings: ProcessorSettings): Record<string, string> {
  const env: Record<string, string> = {
    PROCESSOR_ID: settings.processorId,
    POLL_INTERVAL: `${settings.pollIntervalMs}ms`,
    MAX_PENDING_BATCH: String(settings.maxPendingBatch),
    MAX_ACTIVE_BATCH: String(settings.maxActiveBatch),
    TASK_TIMEOUT: `${settings.taskTimeoutMs}ms`,
    MAX_CONSECUTIVE_ERRORS: String(settings.maxConsecutiveErrors),
    ERROR_BACKOFF: `${settings.errorBackoffMs}ms`,
    ERROR_BACKOFF_MAX: `${settings.errorBackoffMaxMs}ms`,
    RUNNINGHUB_MAX_RUNNING: String(settings.maxRunning),
    CLAIM_LEASE: `${settings.claimLeaseMs}ms`,
    CHECK_INTERVAL: `${settings.checkIntervalMs}ms`,
    RETRY_BACKOFF: `${settings.retryBackoffMs}ms`,
    RETRY_BACKOFF_MAX: `${settings.retryBackoffMaxMs}ms`,
    CAPACITY_BACKOFF: `${settings.capacityBackoffMs}ms`,
    HEARTBEAT_INTERVAL: `${settings.heartbeatIntervalMs}ms`,
    SHUTDOWN_TIMEOUT: `${settings.shutdownTimeoutMs}ms`,
    BALANCE_CHECK_BACKOFF: `${settings.balanceCheckBackoffMs}ms`,
    BALANCE_CHECK_BACKOFF_MAX: `${settings.balanceCheckBackoffMaxMs}ms`,
    INSTANCE_TYPE_DEFAULTS: JSON.stringify(settings.instanceTypeDefaults),
    OUTPUT_DIR: settings.outputDir,
    UPLOAD_DIR: settings.uploadDir,
    OUTPUT_KEEP_ATTEMPTS: String(settings.outputKeepAttempts),
    OUTPUT_KEEP_BACKOFF: `${settings.outputKeepBackoffMs}ms`,
    OUTPUT_KEEP_BACKOFF_MAX: `${settings.outputKeepBackoffMaxMs}ms`,
    OUTPUT_KEEP_CONCURRENCY: String(settings.outputKeepConcurrency),
    OUTPUT_DOWNLOAD_IDLE_TIMEOUT: `${settings.outputDownloadIdleTimeoutMs}ms`,
    RUNNINGHUB_UPLOAD_VALID: `${settings.runninghubUploadValidMs}ms`,
  };
  return env;
}

export interface TaskRow {
  id: string;
  status: string;
  attempts: number;
  priority: number;
  runninghub_task_id: string | null;
  outputs: { fileUrl: string }[] | null;
  error_code: string | null;
  error_message: string | null;
  submitted_at: Date | null;
  finished_at: Date | null;
}

export async function tasksById(pool: Pool, ids: string[]): Promise<TaskRow[]> {
  const { rows } = await pool.query<TaskRow>(
    `SELECT id, status, attempts, priority, runninghub_task_id, outputs, error_code, error_message, submitted_at, finished_at
       FROM ai_tasks WHERE id = ANY($1::uuid[]) ORDER BY created_at`,
    [ids],
  );
  return rows;
}

export async function waitForStatuses(pool: Pool, ids: string[], statuses: string[], timeoutMs = 30_000): Promise<TaskRow[]> {
  return waitFor(
    `${ids.length} task(s) to reach ${statuses.join('/')}`,
    async () => {
      const rows = await tasksById(pool, ids);
      return rows.length === ids.length && rows.every((r) => statuses.includes(r.status)) ? rows : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

export { cancelTask, getAccountUsage, insertTasks };

/** Short RunningHub queue and run times, so a test's tasks finish in well under a second. */
const FAST_TASKS = { queuedMs: [10, 30], runningMs: [50, 150], failureRate: 0 } satisfies Partial<SimulatorOptionsInput>;

export async function startTestSimulator(options: Partial<SimulatorOptionsInput> = {}): Promise<RunningSimulator> {
  // Strict, as RunningHub: only our key, only the shipped workflow (insertTasks' node 6 `text`).
  return startSimulator({ ...FAST_TASKS, keys: { [API_KEY]: {} }, concurrency: 3, webhook: { maxRetries: 1, backoffMs: [50], timeoutMs: 2000 }, ...options });
}

/** Between tests: no tasks, heartbeats or webhook results, every slot free, the simulator as started. */
export async function resetTestState(pool: Pool, sim: RunningSimulator): Promise<void> {
  await pool.query('TRUNCATE ai_tasks, runninghub_webhook_events, processor_heartbeats');
  await pool.query(
    'UPDATE runninghub_accounts SET running = 0, paused_at = NULL, pause_code = NULL, pause_reason = NULL, next_balance_check_at = NULL, balance_checks = 0',
  );
  sim.reset();
  sim.setOptions({ faults: {}, ...FAST_TASKS });
}

/** The real webhook route on a real socket: the callback URL for the simulator. */
export async function startWebhookReceiver(pool: Pool, secret = WEBHOOK_SECRET): Promise<{ app: FastifyInstance; url: string; callbackUrl: string }> {
  const app = Fastify();
  await app.register(runningHubWebhookRoutes, { pool, secret });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `${address}${WEBHOOK_PATH}`;
  return { app, url, callbackUrl: webhookCallbackUrl(url, secret) };
}

const TEST_LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';

/** A processor in this process, with its own pool, on the given database and simulator. */
export function inProcessProcessor(databaseUrl: string, simulatorUrl: string, settings: ProcessorSettings, api: RunningHubApi = 'v1'): TaskProcessor {
  const logger = createLogger({ name: 'task-processor-test', level: TEST_LOG_LEVEL, pretty: false });
  return createTaskProcessor({
    settings,
    account: ACCOUNT,
    databaseUrl,
    logger,
    createPool: () => createPool({ connectionString: databaseUrl, applicationName: `test ${settings.processorId}`, max: 5 }),
    createClient: () => createRunningHubClient({ baseUrl: simulatorUrl, apiKey: API_KEY, timeoutMs: 2_000, api }),
    // The upload of the same generation as the client (v1 or v2 form), as main.ts chooses it.
    uploadFile: createUploader({ baseUrl: simulatorUrl, apiKey: API_KEY, timeoutMs: 5_000, api }),
  });
}

export interface ProcessorProgram {
  child: ChildProcess;
  settings: ProcessorSettings;
  logDir: string;
  output(): string;
  /** Its stderr as written (warnings and errors, and each start). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running; removes its log folder. */
  cleanup(): Promise<void>;
}

/** `node dist/task-processor.js` as a real child process. */
export async function spawnProcessor(
  databaseUrl: string,
  simulatorUrl: string,
  settings: ProcessorSettings,
  extraEnv: Record<string, string> = {},
): Promise<ProcessorProgram> {
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'processor-test-'));
  const child = spawn(process.execPath, [distProgram('task-processor')], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl,
      RUNNINGHUB_BASE_URL: simulatorUrl,
      RUNNINGHUB_API_KEY: API_KEY,
      RUNNINGHUB_TIMEOUT: '2s',
      TASK_PROCESSOR_LOG_FILE: path.join(logDir, 'task_processor.log'),
      LOG_LEVEL: 'info',
      ...settingsEnv(settings),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Warnings and errors are on stderr too, as copies of stdout's JSON lines: count each line once.
  const output = () => `${stdout}${stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{')).map((line) => `${line}\n`).join('')}`;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    settings,
    logDir,
    output,
    stderr: () => stderr,
    exited,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(logDir, { recursive: true, force: true });
    },
  };
}

/** Lines of a processor's JSON log with this event name. */
export function eventsIn(output: string, event: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
