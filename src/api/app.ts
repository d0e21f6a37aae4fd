import { randomUUID } from 'node:crypto';
import type { NodeInfoChecker } from './node-info-check.js';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Pool } from '../db/index.js';
import type { ApiConfig } from './config.js';
import { clientErrorHandler, errorBody, installErrorHandlers } from './errors.js';
import { installMetrics } from './metrics.js';
import { createEventHub } from './live/hub.js';
import { registerRoutes } from './routes/index.js';
import { AllowedHosts, storeDirsFromEnv, storeEnvSchema } from '../store/index.js';

/** The stores' defaults (OUTPUT_DIR, UPLOAD_DIR unset), for an app built without them (tests). */
const DEFAULT_STORES = storeDirsFromEnv(storeEnvSchema.parse({}));
const DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024;
const NO_HOSTS = AllowedHosts.parse('');
import { installTextBoundary, parseJsonBodyStrictly, parseQuerystringStrictly } from './text-boundary.js';

export interface AppDeps {
  pool: Pool;
  config: Pick<ApiConfig, 'apiToken' | 'bodyLimitBytes'> &
    Partial<Pick<ApiConfig, 'runningHubWebhookSecret' | 'apiReadToken' | 'sseHeartbeatMs' | 'storyboardMaxShots' | 'storyboardBodyLimitBytes' | 'profiles' | 'outputDir' | 'uploadDir' | 'uploadMaxBytes' | 'uploadUrlAllowedHosts' | 'supervisorConsoleUrl'>>;
  /** A pino logger (src/shared/logger.ts); request logs become its children. */
  logger: FastifyBaseLogger;
  /** Defaults to always ready: tests hand in a migrated database. */
  isSchemaReady?: () => boolean;
  /** VALIDATE_NODE_INFO's check (node-info-check.ts); absent: nodeInfoList is not checked against the workflow. */
  checkNodeInfo?: NodeInfoChecker | undefined;
}

/** The URL as logged: RunningHub's callback carries the webhook secret in its query (`?secret=`). */
function loggableUrl(url: string): string {
  return url.replace(/([?&]secret=)[^&#]*/gi, '$1[redacted]');
}

/** One info line per request, when it completes, instead of Fastify's two. */
class OneLinePerRequest extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: loggableUrl(request.url) }, 'incoming request');
  }
  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: loggableUrl(request.url),
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, event: 'http.request_errored', err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}

/** The API as a Fastify instance, routes registered, not listening (tests drive it directly). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.bodyLimitBytes,
    logController: new OneLinePerRequest(),
    // A caller's request id (e.g. from a proxy) shows up in our log lines.
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Keep-alive connections must not hold a graceful shutdown open.
    forceCloseConnections: 'idle',
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    // Fastify's own 503-while-closing and bad-URL replies have another shape: ours are below.
    return503OnClosing: false,
    // Undecodable bytes are refused (text-boundary.ts), not kept as `%FF` or turned into U+FFFD.
    routerOptions: { querystringParser: parseQuerystringStrictly },
    // A request Node's parser refuses (e.g. a NUL in a header) gets our error shape too.
    clientErrorHandler,
    frameworkErrors: (error, _request, reply) => {
      // Called before routing, so the reply carries no route schema types.
      const raw = reply as unknown as FastifyReply;
      void raw.code(400).send(errorBody('BAD_URL', error.message));
    },
  });
  // A request that arrives on a kept-alive connection after close() began is refused, so that
  // shutdown only waits for requests already in flight.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) {
      await reply
        .code(503)
        .header('connection', 'close')
        .send(errorBody('SHUTTING_DOWN', 'the API is shutting down; retry on another instance'));
      return reply;
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  installTextBoundary(app);
  // Bodies are JSON only: anything else is 415, not a string handed to a route that expects an object.
  app.removeContentTypeParser('text/plain');
  // cancel and retry take no body, but many clients send `content-type: application/json` on every
  // POST: an empty JSON body means "no body" (POST /api/tasks then fails validation, with a 400).
  // The bytes are decoded strictly and every string checked (text-boundary.ts).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    let parsed: unknown;
    try {
      parsed = parseJsonBodyStrictly(bytes, (text) => {
        const outcome: { error: Error | null; value: unknown } = { error: null, value: undefined };
        // Fastify's parser (secure against __proto__ / constructor.prototype) answers synchronously.
        void jsonParser(request, text, (error, value) => {
          outcome.error = error;
          outcome.value = value;
        });
        if (outcome.error) throw outcome.error;
        return outcome.value;
      });
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, parsed);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'storyboard-api',
        description: 'AI image-generation tasks (ai_tasks) run on RunningHub',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      ...(deps.config.apiToken !== undefined ? { security: [{ bearerAuth: [] }] } : {}),
    },
    transform: createJsonSchemaTransform({ skipList: ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/*', '/docs/*'] }),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const metrics = installMetrics(app, deps.pool);
  // GET /api/events: one LISTEN connection for every stream; open streams end before the server closes.
  const hub = createEventHub({ pool: deps.pool, logger: app.log, heartbeatMs: deps.config.sseHeartbeatMs ?? 15_000 });
  app.addHook('preClose', () => hub.close());
  await registerRoutes(app, {
    hub,
    pool: deps.pool,
    isSchemaReady: deps.isSchemaReady ?? (() => true),
    apiToken: deps.config.apiToken,
    apiReadToken: deps.config.apiReadToken,
    webhookSecret: deps.config.runningHubWebhookSecret,
    storyboards: {
      maxShots: deps.config.storyboardMaxShots ?? 1000,
      bodyLimitBytes: deps.config.storyboardBodyLimitBytes ?? 8 * 1024 * 1024,
      profiles: deps.config.profiles ?? [],
    },
    checkNodeInfo: deps.checkNodeInfo,
    supervisorConsoleUrl: deps.config.supervisorConsoleUrl,
    metrics,
    stores: {
      outputDir: deps.config.outputDir ?? DEFAULT_STORES.outputDir,
      uploadDir: deps.config.uploadDir ?? DEFAULT_STORES.uploadDir,
      uploadMaxBytes: deps.config.uploadMaxBytes ?? DEFAULT_UPLOAD_MAX_BYTES,
      urlAllowedHosts: deps.config.uploadUrlAllowedHosts ?? NO_HOSTS,
    },
  });
  return app;
}
