import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { isDatabaseUnavailable } from '../../db/index.js';
import { healthSchema, readySchema } from '../schemas.js';
import type { RouteDeps } from './index.js';

export interface HealthDeps extends RouteDeps {
  metrics: Registry;
}

/**
 * Probes and scrapes come every few seconds (Kubernetes, the image's HEALTHCHECK, Prometheus): their
 * request lines would bury the api's log, so only their warnings and errors are logged.
 */
const QUIET = { logLevel: 'warn' } as const;

export const healthRoutes: FastifyPluginAsyncZod<HealthDeps> = async (app, { pool, isSchemaReady, metrics }) => {
  // Liveness: the process answers. Never depends on the database (a restart would not fix it).
  app.get(
    '/healthz',
    { ...QUIET, schema: { summary: 'The process is alive', tags: ['health'], response: { 200: healthSchema } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      ...QUIET,
      schema: {
        summary: 'The database is reachable and migrated',
        tags: ['health'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (request, reply) => {
      if (!isSchemaReady()) return reply.code(503).send({ status: 'not_ready', database: 'migrations not applied yet' });
      try {
        await pool.query('SELECT 1');
        return { status: 'ready' as const, database: 'ok' };
      } catch (error) {
        if (!isDatabaseUnavailable(error)) request.log.error({ event: 'http.readiness_failed', err: error }, 'readiness query failed');
        return reply.code(503).send({ status: 'not_ready', database: (error as Error).message });
      }
    },
  );

  app.get('/metrics', { ...QUIET, schema: { hide: true } }, async (_request, reply) => {
    const body = await metrics.metrics();
    return reply.type(metrics.contentType).send(body);
  });
};
