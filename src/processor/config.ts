import os from 'node:os';
import { z } from 'zod';
import { ConfigError, envBytes, envDuration, envInt, envPostgresUrl, envSecret, logLevel, parseEnv } from '../shared/env.js';
import { loadProfiles, type Profile } from '../shared/profiles.js';
import { ACCOUNT_LIMIT_SOURCES, type AccountLimitSource } from './account-limit.js';
import { runningHubEnvSchema, type RunningHubApi } from '../runninghub/index.js';

const instanceTypeDefaultsSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON (expected {"<workflow or app id>": "plus" | "default"})' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().regex(/^\d+$/, 'keys are workflow or app ids'), z.enum(['default', 'plus'])));
import { storeDirsFromEnv, storeEnvSchema } from '../store/index.js';

/**
 * The processor's environment. Defaults are the original design's (poll 3 s, 5 pending and 20 active
 * per cycle, 10 min timeout, 10 consecutive errors, backoff 3 s steps up to 30 s).
 */
export const processorEnvSchema = runningHubEnvSchema
  .extend(storeEnvSchema.shape)
  .extend({
    DATABASE_URL: envPostgresUrl({ error: 'required (postgres:// URL of the task database)' }),
    PROCESSOR_ID: z.string().min(1).max(200).optional(),
    /** The fallback poll when no notification comes. */
    POLL_INTERVAL: envDuration('s').default(3_000),
    MAX_PENDING_BATCH: envInt(1, 100).default(5),
    MAX_ACTIVE_BATCH: envInt(1, 500).default(20),
    /** A submitted task still running after this is cancelled at RunningHub and FAILED (TIMEOUT). */
    TASK_TIMEOUT: envDuration('s').default(600_000),
    MAX_CONSECUTIVE_ERRORS: envInt(1, 1000).default(10),
    /** Step of the error backoff: 1x, 2x, 3x … up to ERROR_BACKOFF_MAX. */
    ERROR_BACKOFF: envDuration('s').default(3_000),
    ERROR_BACKOFF_MAX: envDuration('s').default(30_000),
    /** The account's limit of tasks at RunningHub at once, across every processor. */
    RUNNINGHUB_MAX_RUNNING: envInt(1, 1000).default(3),
    /** `runninghub`: follow v2 queue/status `concurrentLimit`, at most RUNNINGHUB_MAX_RUNNING (account-limit.ts). */
    RUNNINGHUB_ACCOUNT_LIMIT_SOURCE: z.enum(ACCOUNT_LIMIT_SOURCES).default('config'),
    /** With the source `runninghub`: how often queue/status is read after the read at start. */
    RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL: envDuration('s')
      .pipe(z.number().min(100, 'at least 100ms (each read is a call to RunningHub)'))
      .default(60_000),
    /** How long a claim may stay without a RunningHub id before another processor recovers it. */
    CLAIM_LEASE: envDuration('s').default(60_000),
    /** How often a submitted task is asked about when no webhook came (default 5 s, 15 s with a webhook). */
    CHECK_INTERVAL: envDuration('s').optional(),
    /** First retry after a retryable failure; doubles per attempt up to RETRY_BACKOFF_MAX. */
    RETRY_BACKOFF: envDuration('s').default(5_000),
    RETRY_BACKOFF_MAX: envDuration('s').default(300_000),
    /** Wait before resubmitting a task RunningHub refused for lack of capacity (421 …), ±20 %. */
    CAPACITY_BACKOFF: envDuration('s').default(3_000),
    HEARTBEAT_INTERVAL: envDuration('s').default(5_000),
    /** SIGTERM: how long to let in-flight submissions finish before exiting anyway (supervisord waits 30 s). */
    SHUTDOWN_TIMEOUT: envDuration('s').default(20_000),
    /** Where RunningHub POSTs TASK_END (the API's /api/runninghub/webhook); unset = poll only. */
    RUNNINGHUB_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    RUNNINGHUB_WEBHOOK_SECRET: envSecret.optional(),
    /** First accountStatus check after an empty wallet paused the account; doubles per check up to the max. */
    BALANCE_CHECK_BACKOFF: envDuration('s').default(30_000),
    BALANCE_CHECK_BACKOFF_MAX: envDuration('s').default(600_000),
    /** instanceType per workflow or app id when the task sets none, e.g. {"1904136902449209346":"plus"}. */
    INSTANCE_TYPE_DEFAULTS: instanceTypeDefaultsSchema.default({}),
    /** Tries per output download before the task ends FAILED (OUTPUTS_NOT_KEPT). */
    OUTPUT_KEEP_ATTEMPTS: envInt(1, 100).default(5),
    /** Wait after the first failed download; doubles per attempt up to OUTPUT_KEEP_BACKOFF_MAX. */
    OUTPUT_KEEP_BACKOFF: envDuration('s').default(1_000),
    OUTPUT_KEEP_BACKOFF_MAX: envDuration('s').default(30_000),
    /** Tasks whose outputs are downloaded at once by one processor. */
    OUTPUT_KEEP_CONCURRENCY: envInt(1, 100).default(4),
    /** A download that receives nothing for this long fails (and is retried). */
    OUTPUT_DOWNLOAD_IDLE_TIMEOUT: envDuration('s').default(30_000),
    /**
     * How long a file uploaded to RunningHub is reused for the same content. RunningHub does not document
     * how long it keeps uploads; a day is what its output URLs are reported to last, so half of that.
     */
    RUNNINGHUB_UPLOAD_VALID: envDuration('s').default(12 * 3_600_000),
    TASK_PROCESSOR_LOG_FILE: z.string().default('logs/task_processor.log'),
    /** The log file rotates when it reaches this size (0: never), keeping this many backups (.1, .2 …). */
    PROCESSOR_LOG_MAXBYTES: envBytes.default(10 * 1024 * 1024),
    PROCESSOR_LOG_BACKUPS: envInt(0, 1000).default(5),
    LOG_LEVEL: logLevel.default('info'),
    /** Secret of the HMAC-SHA256 signature of result callbacks (README: Callbacks); unset: this processor delivers none. */
    CALLBACK_SIGNING_SECRET: envSecret.optional(),
    /** A callback is retried until a 2xx or this many attempts, waiting CALLBACK_BACKOFF × 2^(n-1) ≤ CALLBACK_BACKOFF_MAX. */
    CALLBACK_MAX_ATTEMPTS: envInt(1, 100).default(8),
    CALLBACK_BACKOFF: envDuration('s').default(5_000),
    CALLBACK_BACKOFF_MAX: envDuration('s').default(600_000),
    CALLBACK_TIMEOUT: envDuration('s').default(10_000),
    /** Finished tasks and storyboards older than this are pruned (unset: kept forever), as do task_events. */
    RETENTION_MAX_AGE: envDuration('s').optional(),
    RETENTION_MODE: z.enum(['delete', 'archive'], { error: 'must be delete or archive' }).default('delete'),
    RETENTION_BATCH_SIZE: envInt(1, 10_000).default(500),
    RETENTION_INTERVAL: envDuration('s').default(60_000),
    /** Test only, never set in production: `crash-loop` makes the main loop throw after its first pass. */
    TASK_PROCESSOR_TEST_FAULT: z.enum(['crash-loop']).optional(),
    /** Debug only: write a timeline of slot handovers to this file at stop (timeline.ts, bench:processor). */
    TASK_PROCESSOR_TIMELINE_FILE: z.string().min(1, { error: 'must be a file path' }).optional(),
  })
  .refine((env) => env.CLAIM_LEASE > env.RUNNINGHUB_TIMEOUT, {
    path: ['CLAIM_LEASE'],
    message: 'must be longer than RUNNINGHUB_TIMEOUT, or a slow create would be recovered while it is still running',
  })
  .refine((env) => env.RUNNINGHUB_WEBHOOK_URL === undefined || env.RUNNINGHUB_WEBHOOK_SECRET !== undefined, {
    path: ['RUNNINGHUB_WEBHOOK_SECRET'],
    message: 'required when RUNNINGHUB_WEBHOOK_URL is set (the API rejects callbacks without it)',
  });

/** Result callbacks (migration 007's outbox). */
export interface CallbackSettings {
  /** Unset: this processor delivers no callbacks (they wait, pending, for one that has the secret). */
  signingSecret: string | undefined;
  maxAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
  /** Per POST; the claim's lease is this plus a margin, so a hung POST is retried only after it gave up. */
  timeoutMs: number;
}

/** Pruning of finished rows; absent: nothing is pruned. */
export interface RetentionSettings {
  maxAgeMs: number;
  batchSize: number;
  intervalMs: number;
  mode: 'delete' | 'archive';
}

export interface ProcessorSettings {
  processorId: string;
  pollIntervalMs: number;
  maxPendingBatch: number;
  maxActiveBatch: number;
  taskTimeoutMs: number;
  maxConsecutiveErrors: number;
  errorBackoffMs: number;
  errorBackoffMaxMs: number;
  maxRunning: number;
  claimLeaseMs: number;
  checkIntervalMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  capacityBackoffMs: number;
  heartbeatIntervalMs: number;
  shutdownTimeoutMs: number;
  /** Full callback URL including the secret, or undefined (poll only). Never logged. */
  webhookUrl: string | undefined;
  /** Absent: the defaults, without a secret (no deliveries). */
  callbacks?: CallbackSettings | undefined;
  retention?: RetentionSettings | undefined;
  /** First accountStatus check after a pause for an empty wallet; doubles per check up to the max. */
  balanceCheckBackoffMs: number;
  balanceCheckBackoffMaxMs: number;
  /** instanceType by workflow or app id, for tasks that set none. */
  instanceTypeDefaults: Readonly<Record<string, 'default' | 'plus'>>;
  /** The output store (OUTPUT_DIR, absolute) and the upload store (UPLOAD_DIR, absolute). */
  outputDir: string;
  uploadDir: string;
  outputKeepAttempts: number;
  outputKeepBackoffMs: number;
  outputKeepBackoffMaxMs: number;
  outputKeepConcurrency: number;
  outputDownloadIdleTimeoutMs: number;
  /** Reuse a RunningHub upload for this long; not when it expires within the margin (a create may queue). */
  runninghubUploadValidMs: number;
  runninghubUploadReuseMarginMs: number;
  /** Test only (TASK_PROCESSOR_TEST_FAULT): a fault to inject, to test how the program handles it. */
  testFault?: 'crash-loop' | undefined;
  /** Debug only (TASK_PROCESSOR_TIMELINE_FILE): where the slot-handover timeline is written at stop. */
  timelineFile?: string | undefined;
  /** PROFILES_FILE / PROFILES: limits within the account's, per-profile timeout, backoff, poll interval. */
  profiles?: Profile[] | undefined;
  accountLimitSource?: AccountLimitSource | undefined;
  /** RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL; absent: 60 s. */
  accountLimitIntervalMs?: number | undefined;
}

export interface ProcessorConfig {
  settings: ProcessorSettings;
  databaseUrl: string;
  runningHub: { baseUrl: string; apiKey: string; timeoutMs: number; api: RunningHubApi };
  logFile: string;
  logFileMaxBytes: number;
  logFileBackups: number;
  logLevel: z.output<typeof logLevel>;
}

/** The callback URL RunningHub is given: the configured one with the secret as `secret` query parameter. */
export function webhookCallbackUrl(base: string, secret: string): string {
  const url = new URL(base);
  url.searchParams.set('secret', secret);
  return url.toString();
}

export function loadProcessorConfig(env: NodeJS.ProcessEnv = process.env): ProcessorConfig {
  const e = parseEnv(processorEnvSchema, env);
  const profiles = loadProfiles(env);
  for (const profile of profiles) {
    if (profile.maxRunning > e.RUNNINGHUB_MAX_RUNNING) {
      throw new ConfigError(
        `invalid profiles: profiles.${profile.name}.maxRunning: ${profile.maxRunning} is more than the account's limit RUNNINGHUB_MAX_RUNNING=${e.RUNNINGHUB_MAX_RUNNING} (a profile's limit is within the account's)`,
      );
    }
  }
  const webhookUrl =
    e.RUNNINGHUB_WEBHOOK_URL !== undefined && e.RUNNINGHUB_WEBHOOK_SECRET !== undefined
      ? webhookCallbackUrl(e.RUNNINGHUB_WEBHOOK_URL, e.RUNNINGHUB_WEBHOOK_SECRET)
      : undefined;
  return {
    settings: {
      processorId: e.PROCESSOR_ID ?? `${os.hostname()}-${process.pid}`,
      pollIntervalMs: e.POLL_INTERVAL,
      maxPendingBatch: e.MAX_PENDING_BATCH,
      maxActiveBatch: e.MAX_ACTIVE_BATCH,
      taskTimeoutMs: e.TASK_TIMEOUT,
      maxConsecutiveErrors: e.MAX_CONSECUTIVE_ERRORS,
      errorBackoffMs: e.ERROR_BACKOFF,
      errorBackoffMaxMs: e.ERROR_BACKOFF_MAX,
      maxRunning: e.RUNNINGHUB_MAX_RUNNING,
      claimLeaseMs: e.CLAIM_LEASE,
      checkIntervalMs: e.CHECK_INTERVAL ?? (webhookUrl ? 15_000 : 5_000),
      retryBackoffMs: e.RETRY_BACKOFF,
      retryBackoffMaxMs: e.RETRY_BACKOFF_MAX,
      capacityBackoffMs: e.CAPACITY_BACKOFF,
      heartbeatIntervalMs: e.HEARTBEAT_INTERVAL,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
      webhookUrl,
      callbacks: {
        signingSecret: e.CALLBACK_SIGNING_SECRET,
        maxAttempts: e.CALLBACK_MAX_ATTEMPTS,
        backoffMs: e.CALLBACK_BACKOFF,
        backoffMaxMs: e.CALLBACK_BACKOFF_MAX,
        timeoutMs: e.CALLBACK_TIMEOUT,
      },
      retention:
        e.RETENTION_MAX_AGE === undefined
          ? undefined
          : { maxAgeMs: e.RETENTION_MAX_AGE, batchSize: e.RETENTION_BATCH_SIZE, intervalMs: e.RETENTION_INTERVAL, mode: e.RETENTION_MODE },
      balanceCheckBackoffMs: e.BALANCE_CHECK_BACKOFF,
      balanceCheckBackoffMaxMs: e.BALANCE_CHECK_BACKOFF_MAX,
      instanceTypeDefaults: e.INSTANCE_TYPE_DEFAULTS,
      ...storeDirsFromEnv(e),
      outputKeepAttempts: e.OUTPUT_KEEP_ATTEMPTS,
      outputKeepBackoffMs: e.OUTPUT_KEEP_BACKOFF,
      outputKeepBackoffMaxMs: e.OUTPUT_KEEP_BACKOFF_MAX,
      outputKeepConcurrency: e.OUTPUT_KEEP_CONCURRENCY,
      outputDownloadIdleTimeoutMs: e.OUTPUT_DOWNLOAD_IDLE_TIMEOUT,
      runninghubUploadValidMs: e.RUNNINGHUB_UPLOAD_VALID,
      runninghubUploadReuseMarginMs: Math.min(3_600_000, e.RUNNINGHUB_UPLOAD_VALID / 4),
      testFault: e.TASK_PROCESSOR_TEST_FAULT,
      timelineFile: e.TASK_PROCESSOR_TIMELINE_FILE,
      profiles,
      accountLimitSource: e.RUNNINGHUB_ACCOUNT_LIMIT_SOURCE,
      accountLimitIntervalMs: e.RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL,
    },
    databaseUrl: e.DATABASE_URL,
    runningHub: { baseUrl: e.RUNNINGHUB_BASE_URL, apiKey: e.RUNNINGHUB_API_KEY, timeoutMs: e.RUNNINGHUB_TIMEOUT, api: e.RUNNINGHUB_API },
    logFile: e.TASK_PROCESSOR_LOG_FILE,
    logFileMaxBytes: e.PROCESSOR_LOG_MAXBYTES,
    logFileBackups: e.PROCESSOR_LOG_BACKUPS,
    logLevel: e.LOG_LEVEL,
  };
}
