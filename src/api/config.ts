import { z } from 'zod';
import { AllowedHosts, storeDirsFromEnv, storeEnvSchema } from '../store/index.js';
import { ConfigError, envBool, envBytes, envDuration, envInt, envPostgresUrl, envSecret, logLevel, parseEnv } from '../shared/env.js';
import { loadProfiles, type Profile } from '../shared/profiles.js';
import { runningHubClientOptionsFromEnv, type RunningHubClientOptions } from '../runninghub/index.js';

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
  /** A second, read-only token: GET routes only (the dashboard shows no actions); needs API_TOKEN. */
  API_READ_TOKEN: envSecret.optional(),
  BODY_LIMIT_BYTES: envInt(1024, 100 * 1024 * 1024).default(1024 * 1024),
  DATABASE_POOL_SIZE: envInt(1, 200).default(20),
  /** How long a request waits for a database connection before answering 503. */
  DATABASE_CONNECT_TIMEOUT: envDuration('ms').default(2000),
  DATABASE_STATEMENT_TIMEOUT: envDuration('ms').default(10_000),
  /** How long SIGTERM waits for in-flight requests before giving up. */
  SHUTDOWN_TIMEOUT: envDuration('ms').default(10_000),
  /** Secret in RunningHub's callback URL (`?secret=`); unset: the webhook route answers 404. Same variable as the processor's. */
  RUNNINGHUB_WEBHOOK_SECRET: envSecret.optional(),
  /** How often GET /api/events writes a comment on every open stream, so proxies keep it open. */
  SSE_HEARTBEAT_INTERVAL: envDuration('s').default(15_000),
  /** POST /api/storyboards: at most this many shots (422 beyond), and a body of at most this many bytes (413). */
  STORYBOARD_MAX_SHOTS: envInt(1, 100_000).default(1000),
  STORYBOARD_BODY_LIMIT_BYTES: envInt(1024, 100 * 1024 * 1024).default(8 * 1024 * 1024),
  /**
   * Check a new workflow task's nodeInfoList against the workflow's API format (getJsonApiFormat through
   * RUNNINGHUB_BASE_URL / RUNNINGHUB_API_KEY, cached per workflow): 422 naming node and field.
   */
  VALIDATE_NODE_INFO: envBool.default(false),
  /** Largest reference image POST /api/uploads (or a fetched https URL) may be: 413 beyond. */
  UPLOAD_MAX_BYTES: envBytes.default(10 * 1024 * 1024),
  /**
   * Hosts an `upload:https://…` reference may name (and redirect to): comma-separated names and
   * `*.suffix`. Empty (the default): no URL is fetched, since the api would fetch from inside our network.
   */
  UPLOAD_URL_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return AllowedHosts.parse(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /**
   * supervisord's web console ([inet_http_server]) as an operator's browser reaches it; the dashboard's
   * processor panel links to it. Unset: no link. No credentials in it: every dashboard user would see them.
   */
  SUPERVISOR_CONSOLE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((url) => { const u = new URL(url); return u.username === '' && u.password === ''; }, 'must not carry a user name or password (the dashboard shows it to everyone)')
    .optional(),
});

export interface ApiConfig {
  databaseUrl: string | undefined;
  embeddedPostgresDir: string | undefined;
  embeddedPostgresPort: number | undefined;
  port: number;
  host: string;
  logLevel: z.output<typeof logLevel>;
  apiToken: string | undefined;
  apiReadToken: string | undefined;
  runningHubWebhookSecret: string | undefined;
  bodyLimitBytes: number;
  databasePoolSize: number;
  databaseConnectTimeoutMs: number;
  databaseStatementTimeoutMs: number;
  shutdownTimeoutMs: number;
  sseHeartbeatMs: number;
  storyboardMaxShots: number;
  storyboardBodyLimitBytes: number;
  /** PROFILES_FILE or PROFILES (src/shared/profiles.ts): the names a storyboard may use. */
  profiles: Profile[];
  /** Set when VALIDATE_NODE_INFO is on: the client that fetches workflows' API formats. */
  nodeInfoValidation: RunningHubClientOptions | undefined;
  /** The output store (kept task outputs) and the upload store (reference images), absolute. */
  outputDir: string;
  uploadDir: string;
  uploadMaxBytes: number;
  /** UPLOAD_URL_ALLOWED_HOSTS: the hosts an `upload:https://…` may name; empty: none. */
  uploadUrlAllowedHosts: AllowedHosts;
  /** SUPERVISOR_CONSOLE_URL: the dashboard links its processor panel there; undefined: no link. */
  supervisorConsoleUrl: string | undefined;
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = parseEnv(apiEnvSchema, env);
  // A read-only token alone would leave every write open to anyone without a token.
  if (parsed.API_READ_TOKEN !== undefined && parsed.API_TOKEN === undefined) {
    throw new ConfigError('invalid environment: API_READ_TOKEN: needs API_TOKEN as well (without it every route is open, writes included)');
  }
  if (parsed.API_READ_TOKEN !== undefined && parsed.API_READ_TOKEN === parsed.API_TOKEN) {
    throw new ConfigError('invalid environment: API_READ_TOKEN: must differ from API_TOKEN');
  }
  return {
    databaseUrl: parsed.DATABASE_URL,
    embeddedPostgresDir: parsed.EMBEDDED_DATABASE_DIR,
    embeddedPostgresPort: parsed.EMBEDDED_DATABASE_PORT,
    port: parsed.PORT,
    host: parsed.HOST,
    logLevel: parsed.LOG_LEVEL,
    apiToken: parsed.API_TOKEN,
    apiReadToken: parsed.API_READ_TOKEN,
    runningHubWebhookSecret: parsed.RUNNINGHUB_WEBHOOK_SECRET,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    databasePoolSize: parsed.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT,
    databaseStatementTimeoutMs: parsed.DATABASE_STATEMENT_TIMEOUT,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT,
    sseHeartbeatMs: parsed.SSE_HEARTBEAT_INTERVAL,
    storyboardMaxShots: parsed.STORYBOARD_MAX_SHOTS,
    storyboardBodyLimitBytes: parsed.STORYBOARD_BODY_LIMIT_BYTES,
    profiles: loadProfiles(env),
    // Parsed only when needed: without VALIDATE_NODE_INFO the api needs no RunningHub key.
    nodeInfoValidation: parsed.VALIDATE_NODE_INFO ? runningHubClientOptionsFromEnv(env) : undefined,
    ...storeDirsFromEnv(parsed),
    uploadMaxBytes: parsed.UPLOAD_MAX_BYTES,
    uploadUrlAllowedHosts: parsed.UPLOAD_URL_ALLOWED_HOSTS,
    supervisorConsoleUrl: parsed.SUPERVISOR_CONSOLE_URL,
  };
}
