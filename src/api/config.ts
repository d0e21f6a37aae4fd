import { z } from 'zod';
import { storeDirsFromEnv, storeEnvSchema } from '../store/index.js';
import { envBytes, envDuration, envInt, envPostgresUrl, envSecret, logLevel, parseEnv } from '../shared/env.js';

/** Environment variables of the API program (the table in `.notes/api.md` mirrors this). */
const apiEnvSchema = storeEnvSchema.extend({
  /** Absent: the API starts an embedded PostgreSQL in `EMBEDDED_DATABASE_DIR`. */
  DATABASE_URL: envPostgresUrl().optional(),
  EMBEDDED_DATABASE_DIR: z.string().optional(),
  EMBEDDED_DATABASE_PORT: envInt(1, 65_535).optional(),
  PORT: envInt(0, 65_535).default(8000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: logLevel.default('info'),
  /** With a token, every /api route needs `Authorization: Bearer <token>`. */
  API_TOKEN: envSecret.optional(),
  BODY_LIMIT_BYTES: envInt(1024, 100 * 1024 * 1024).default(1024 * 1024),
  DATABASE_POOL_SIZE: envInt(1, 200).default(20),
  /** How long a request waits for a database connection before answering 503. */
  DATABASE_CONNECT_TIMEOUT: envDuration('ms').default(2000),
  DATABASE_STATEMENT_TIMEOUT: envDuration('ms').default(10_000),
  /** How long SIGTERM waits for in-flight requests before giving up. */
  SHUTDOWN_TIMEOUT: envDuration('ms').default(10_000),
  /** Secret in RunningHub's callback URL (`?secret=`); unset: the webhook route answers 404. Same variable as the processor's. */
  RUNNINGHUB_WEBHOOK_SECRET: envSecret.optional(),
  /** Largest reference image POST /api/uploads (or a fetched https URL) may be: 413 beyond. */
  UPLOAD_MAX_BYTES: envBytes.default(10 * 1024 * 1024),
});

export interface ApiConfig {
  databaseUrl: string | undefined;
  embeddedPostgresDir: string | undefined;
  embeddedPostgresPort: number | undefined;
  port: number;
  host: string;
  logLevel: z.output<typeof logLevel>;
  apiToken: string | undefined;
  runningHubWebhookSecret: string | undefined;
  bodyLimitBytes: number;
  databasePoolSize: number;
  databaseConnectTimeoutMs: number;
  databaseStatementTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** The output store (kept task outputs) and the upload store (reference images), absolute. */
  outputDir: string;
  uploadDir: string;
  uploadMaxBytes: number;
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = parseEnv(apiEnvSchema, env);
  return {
    databaseUrl: parsed.DATABASE_URL,
    embeddedPostgresDir: parsed.EMBEDDED_DATABASE_DIR,
    embeddedPostgresPort: parsed.EMBEDDED_DATABASE_PORT,
    port: parsed.PORT,
    host: parsed.HOST,
    logLevel: parsed.LOG_LEVEL,
    apiToken: parsed.API_TOKEN,
    runningHubWebhookSecret: parsed.RUNNINGHUB_WEBHOOK_SECRET,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    databasePoolSize: parsed.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT,
    databaseStatementTimeoutMs: parsed.DATABASE_STATEMENT_TIMEOUT,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT,
    ...storeDirsFromEnv(parsed),
    uploadMaxBytes: parsed.UPLOAD_MAX_BYTES,
  };
}
