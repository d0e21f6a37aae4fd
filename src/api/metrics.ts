// Prometheus metrics for one app instance, on its own registry (several apps can live in one
// process, as in the tests). Task counts are read from the database at scrape time.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  countTasksByStatus,
  getMonitoringSnapshot,
  listAccountPauses,
  listTasksFinishedSince,
  TASK_STATUSES,
  type MonitoringSnapshot,
  type Pool,
  type TaskStatus,
} from '../db/index.js';

/** Seconds a task waits before RunningHub takes it, and spends there: from instant to the 10 min timeout. */
const TASK_SECONDS_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** One promise per scrape for several collectors (prom-client collects metrics concurrently). */
function oncePerScrape<T>(load: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

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

  installProcessorMetrics(registry, pool);

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

/**
 * What the processors report (heartbeats: consecutive errors, heartbeat age), the RunningHub slots in use,
 * the backlog's oldest task, and tasks finished since this api started (by outcome, with their time queued
 * and at RunningHub as histograms), all read from the database at scrape time.
 */
function installProcessorMetrics(registry: Registry, pool: Pool): void {
  const snapshot = oncePerScrape<MonitoringSnapshot | null>(() => getMonitoringSnapshot(pool).catch(() => null));
  const gauge = (name: string, help: string, read: (s: MonitoringSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const current = await snapshot();
        if (current === null) this.reset();
        else this.set(read(current));
      },
    });
  gauge('storyboard_ai_tasks_oldest_pending_age_seconds', 'Age of the oldest PENDING task (0 when none)', (s) => s.oldestPendingAgeSeconds ?? 0);
  gauge('storyboard_runninghub_slots_in_use', 'RunningHub slots held by tasks now (all accounts)', (s) => s.slotsInUse);
  gauge('storyboard_runninghub_slots_limit', "The accounts' limit of tasks at RunningHub at once", (s) => s.slotsLimit);
  gauge('storyboard_task_processors_live', 'Processors with a heartbeat in the last 30 s', (s) => s.processors.filter((p) => p.live).length);
  const perProcessor = (name: string, help: string, read: (p: MonitoringSnapshot['processors'][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['processor'] as const,
      registers: [registry],
      async collect() {
        const current = await snapshot();
        // A processor that stopped (or vanished an hour ago) must not keep its last value.
        this.reset();
        for (const processor of current?.processors ?? []) this.set({ processor: processor.processorId }, read(processor));
      },
    });
  new Gauge({
    name: 'storyboard_runninghub_account_paused',
    help: 'RunningHub accounts whose claiming is paused (wallet empty), 1 per account with the refusal code',
    labelNames: ['account', 'code'] as const,
    registers: [registry],
    async collect() {
      const pauses = await listAccountPauses(pool).catch(() => null);
      this.reset();
      for (const pause of pauses ?? []) this.set({ account: pause.account, code: pause.code }, 1);
    },
  });
  perProcessor('storyboard_task_processor_consecutive_errors', 'Consecutive errors a processor reported in its last heartbeat', (p) => p.consecutiveErrors);
  perProcessor('storyboard_task_processor_heartbeat_age_seconds', "Seconds since a processor's last heartbeat", (p) => p.heartbeatAgeSeconds);

  const finished = new Counter({
    name: 'storyboard_ai_tasks_finished_total',
    help: 'Tasks finished since this api started, by outcome (SUCCESS, FAILED, CANCELLED)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      await readFinished();
    },
  });
  const queued = new Histogram({
    name: 'storyboard_ai_task_queued_seconds',
    help: 'Time from creation to the (last) submission to RunningHub, of tasks finished since this api started',
    buckets: TASK_SECONDS_BUCKETS,
    registers: [registry],
    async collect() {
      await readFinished();
    },
  });
  const atRunningHub = new Histogram({
    name: 'storyboard_ai_task_runninghub_seconds',
    help: 'Time from the (last) submission to RunningHub to the result, of tasks finished since this api started',
    buckets: TASK_SECONDS_BUCKETS,
    registers: [registry],
    async collect() {
      await readFinished();
    },
  });
  for (const outcome of ['SUCCESS', 'FAILED', 'CANCELLED'] as const) finished.inc({ outcome }, 0);
  let watermark = new Date().toISOString();
  const readFinished = oncePerScrape(async () => {
    try {
      const page = await listTasksFinishedSince(pool, watermark);
      watermark = page.watermark;
      for (const task of page.tasks) {
        finished.inc({ outcome: task.status });
        if (task.queuedSeconds !== null) queued.observe(task.queuedSeconds);
        if (task.atRunningHubSeconds !== null) atRunningHub.observe(task.atRunningHubSeconds);
      }
    } catch {
      // Database down: storyboard_api_database_up says so; these catch up at the next scrape.
    }
  });
}
