// Prometheus metrics for one app instance, on its own registry (several apps can live in one
// process, as in the tests). Task counts are read from the database at scrape time.
import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { countTasksByStatus, TASK_STATUSES, type Pool, type TaskStatus } from '../db/index.js';

export function installMetrics(app: FastifyInstance, pool: Pool): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'storyboard_api_' });

  const requestDuration = new Histogram({
    name: 'storyboard_api_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Both gauges below come from one query per scrape: prom-client collects metrics concurrently.
  let inFlight: Promise<Record<TaskStatus, number> | null> | null = null;
  const taskCounts = (): Promise<Record<TaskStatus, number> | null> => {
    inFlight ??= countTasksByStatus(pool)
      .catch(() => null)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  new Gauge({
    name: 'storyboard_api_database_up',
    help: '1 when this scrape could query the database, else 0',
    registers: [registry],
    async collect() {
      this.set((await taskCounts()) === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'storyboard_ai_tasks',
    help: 'Rows of ai_tasks by status, counted at scrape time',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await taskCounts();
      // Without the database the series disappear rather than report stale numbers.
      if (counts === null) this.reset();
      else for (const status of TASK_STATUSES) this.set({ status }, counts[status]);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL: one series per route, not one per task id.
    const route = request.routeOptions.url ?? 'unmatched';
    requestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  return registry;
}
