// Every route of the API is registered here, in one place.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Pool } from '../../db/index.js';
import { bearerTokenHook } from '../auth.js';
import { ApiError } from '../errors.js';
import { healthRoutes } from './health.js';
import { outputRoutes } from './outputs.js';
import { uploadRoutes } from './uploads.js';
import { statsRoutes } from './stats.js';
import { taskRoutes } from './tasks.js';
import { runningHubWebhookRoutes } from './webhook.js';

export interface RouteDeps {
  pool: Pool;
  /** False until migrations have been applied (main.ts retries them while the database is down). */
  isSchemaReady: () => boolean;
}

export async function registerRoutes(
  app: FastifyInstance,
  deps: RouteDeps & {
    apiToken: string | undefined;
    webhookSecret?: string | undefined;
    metrics: Registry;
    stores: { outputDir: string; uploadDir: string; uploadMaxBytes: number };
  },
): Promise<void> {
  const routeDeps: RouteDeps = { pool: deps.pool, isSchemaReady: deps.isSchemaReady };
  // Open: probes and scrapers carry no token.
  await app.register(healthRoutes, { ...routeDeps, metrics: deps.metrics });
  // RunningHub's callback: open like the probes (it cannot send our token), guarded by its own secret.
  await app.register(runningHubWebhookRoutes, { pool: deps.pool, secret: deps.webhookSecret });

  // /api: behind the token when one is configured; the hook is scoped to this plugin.
  await app.register(
    async (api) => {
      if (deps.apiToken !== undefined) api.addHook('onRequest', bearerTokenHook(deps.apiToken));
      api.addHook('preHandler', async () => {
        if (!deps.isSchemaReady()) {
          throw new ApiError(503, 'DATABASE_UNAVAILABLE', 'the database is not ready yet (migrations pending); retry shortly');
        }
      });
      const uploads = { uploadDir: deps.stores.uploadDir, uploadMaxBytes: deps.stores.uploadMaxBytes };
      await api.register(taskRoutes, { ...routeDeps, uploads });
      await api.register(uploadRoutes, { ...routeDeps, uploads });
      await api.register(statsRoutes, routeDeps);
      await api.register(outputRoutes, { ...routeDeps, outputDir: deps.stores.outputDir });
    },
    { prefix: '/api' },
  );
}
