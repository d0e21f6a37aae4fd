// Every route of the API is registered here, in one place.
import type { FastifyInstance } from 'fastify';
import type { NodeInfoChecker } from '../node-info-check.js';
import type { Registry } from 'prom-client';
import type { Pool } from '../../db/index.js';
import type { AllowedHosts } from '../../store/index.js';
import { bearerTokenHook } from '../auth.js';
import { installJsonCompression } from '../compression.js';
import { ApiError } from '../errors.js';
import { dashboardRoutes } from './dashboard.js';
import type { EventHub } from '../live/hub.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { queueRoutes } from './queue.js';
import { outputRoutes } from './outputs.js';
import { uploadRoutes } from './uploads.js';
import { statsRoutes } from './stats.js';
import { storyboardRoutes, type StoryboardLimits } from './storyboards.js';
import { taskRoutes } from './tasks.js';
import { runningHubWebhookRoutes } from './webhook.js';

export interface RouteDeps {
  pool: Pool;
  /** False until migrations have been applied (main.ts retries them while the database is down). */
  isSchemaReady: () => boolean;
  /** VALIDATE_NODE_INFO: checks a new workflow task's nodeInfoList before it is queued (absent: no check). */
  checkNodeInfo?: NodeInfoChecker | undefined;
}

export async function registerRoutes(
  app: FastifyInstance,
  deps: RouteDeps & {
    apiToken: string | undefined;
    apiReadToken?: string | undefined;
    webhookSecret?: string | undefined;
    /** SUPERVISOR_CONSOLE_URL, handed to the dashboard by GET /api/queue. */
    supervisorConsoleUrl?: string | undefined;
    storyboards: StoryboardLimits;
    metrics: Registry;
    hub: EventHub;
    stores: { outputDir: string; uploadDir: string; uploadMaxBytes: number; urlAllowedHosts: AllowedHosts };
  },
): Promise<void> {
  const routeDeps: RouteDeps = { pool: deps.pool, isSchemaReady: deps.isSchemaReady, checkNodeInfo: deps.checkNodeInfo };
  // Open: probes and scrapers carry no token.
  await app.register(healthRoutes, { ...routeDeps, metrics: deps.metrics });
  // The dashboard's pages and assets: open (they hold no data; the page asks for the token and sends it to /api).
  await app.register(dashboardRoutes);
  // RunningHub's callback: open like the probes (it cannot send our token), guarded by its own secret.
  await app.register(runningHubWebhookRoutes, { pool: deps.pool, secret: deps.webhookSecret });

  // /api: behind the token when one is configured; the hook is scoped to this plugin.
  await app.register(
    async (api) => {
      if (deps.apiToken !== undefined) api.addHook('onRequest', bearerTokenHook(deps.apiToken, deps.apiReadToken));
      installJsonCompression(api);
      api.addHook('preHandler', async () => {
        if (!deps.isSchemaReady()) {
          throw new ApiError(503, 'DATABASE_UNAVAILABLE', 'the database is not ready yet (migrations pending); retry shortly');
        }
      });
      const uploads = { uploadDir: deps.stores.uploadDir, uploadMaxBytes: deps.stores.uploadMaxBytes, urlAllowedHosts: deps.stores.urlAllowedHosts };
      await api.register(taskRoutes, { ...routeDeps, uploads });
      await api.register(uploadRoutes, { ...routeDeps, uploads });
      await api.register(statsRoutes, routeDeps);
      await api.register(queueRoutes, { ...routeDeps, supervisorConsoleUrl: deps.supervisorConsoleUrl });
      await api.register(eventRoutes, { ...routeDeps, hub: deps.hub });
      await api.register(storyboardRoutes, { ...routeDeps, limits: deps.storyboards, uploads });
      await api.register(outputRoutes, { ...routeDeps, outputDir: deps.stores.outputDir });
    },
    { prefix: '/api' },
  );
}
