// The replies of the dashboard's read routes (/api/queue, /api/failures, /api/access) as zod schemas,
// in their own file so that schemas.ts (tasks, stats) stays the tasks' contract.
import { z } from 'zod';
import { processorStatsSchema } from './schemas.js';
import { TASK_STATUSES, type FailureGroup, type LiveProcessor, type ProcessorErrorGroup, type QueueOverview } from '../db/index.js';

const isoTime = z.iso.datetime();

const slotHolderSchema = z.object({
  taskId: z.uuid(),
  entityType: z.string(),
  entityId: z.string(),
  entityName: z.string(),
  status: z.enum(TASK_STATUSES),
  phase: z.enum(['claimed', 'submitted', 'cancelRequested']),
  runninghubTaskId: z.string().nullable(),
  claimedBy: z.string().nullable(),
  attempts: z.int(),
  submittedAt: isoTime.nullable(),
  updatedAt: isoTime,
});

const processorSchema = processorStatsSchema.omit({ retried: true, orphaned: true, orphanCancelFailures: true });

export const queueSchema = z
  .object({
    now: isoTime.describe("The database's clock: ages and heartbeats are relative to it"),
    accounts: z
      .array(
        z.object({
          account: z.string().describe("First 12 hex digits of the API key's sha256"),
          maxRunning: z.int(),
          running: z.int(),
          holders: z.array(slotHolderSchema).describe('The tasks holding a slot now'),
          pause: z
            .object({
              pausedAt: isoTime,
              code: z.string().describe('RunningHub code of the refusal, e.g. 416 or 812'),
              reason: z.string(),
              checks: z.int().describe('accountStatus checks since the pause'),
              nextCheckAt: isoTime.nullable().describe('When a processor next asks RunningHub for the balance'),
            })
            .nullable()
            .describe('Set while claiming is paused for this account (wallet empty): tasks stay PENDING until coins are back'),
        }),
      )
      .describe('RunningHub accounts (API keys) and their slots; empty until a processor has started'),
    backlog: z.object({ pending: z.int(), due: z.int(), oldestPendingAgeSeconds: z.number().nullable() }),
    lastHour: z
      .array(z.object({ minute: isoTime, succeeded: z.int(), failed: z.int() }))
      .describe('Tasks finished per minute over the last 60 minutes, oldest first'),
    processors: z.array(processorSchema).describe('Task processors that sent a heartbeat in the last 30 seconds'),
    supervisorConsoleUrl: z.string().nullable().describe("supervisord's web console (SUPERVISOR_CONSOLE_URL); null: not reachable from here, no link"),
  })
  .meta({ id: 'Queue' });

export function toQueueJson(overview: QueueOverview, processors: LiveProcessor[], supervisorConsoleUrl: string | undefined): z.input<typeof queueSchema> {
  return {
    now: overview.now.toISOString(),
    accounts: overview.accounts.map((a) => ({
      ...a,
      holders: a.holders.map((h) => ({ ...h, submittedAt: h.submittedAt?.toISOString() ?? null, updatedAt: h.updatedAt.toISOString() })),
    })),
    backlog: overview.backlog,
    lastHour: overview.lastHour.map((m) => ({ minute: m.minute.toISOString(), succeeded: m.succeeded, failed: m.failed })),
    processors: processors.map((p) => ({
      processorId: p.processorId,
      host: p.host,
      pid: p.pid,
      startedAt: p.startedAt,
      lastBeatAt: p.lastBeatAt,
      submitted: p.submitted,
      succeeded: p.succeeded,
      failed: p.failed,
      consecutiveErrors: p.consecutiveErrors,
      lastError: p.lastError,
    })),
    supervisorConsoleUrl: supervisorConsoleUrl ?? null,
  };
}

export const failuresQuerySchema = z.strictObject({
  sinceHours: z.coerce.number().int().min(1).max(24 * 30).default(24).describe('Look back this many hours (1 to 720)'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const failuresSchema = z
  .object({
    sinceHours: z.int(),
    tasks: z
      .array(z.object({ code: z.string(), message: z.string(), count: z.int(), firstSeen: isoTime, lastSeen: isoTime, latestTaskId: z.uuid() }))
      .describe('FAILED tasks grouped by error code and message, most frequent first'),
    processorErrors: z
      .array(z.object({ code: z.string(), message: z.string(), count: z.int(), firstSeen: isoTime, lastSeen: isoTime }))
      .describe("The processors' own errors (RunningHub unreachable, refused, database), aggregated by code and message"),
  })
  .meta({ id: 'Failures' });

export function toFailuresJson(sinceHours: number, tasks: FailureGroup[], processorErrors: ProcessorErrorGroup[]): z.input<typeof failuresSchema> {
  return {
    sinceHours,
    tasks: tasks.map((g) => ({ ...g, firstSeen: g.firstSeen.toISOString(), lastSeen: g.lastSeen.toISOString() })),
    processorErrors: processorErrors.map((e) => ({ code: e.code, message: e.message, count: e.count, firstSeen: e.firstAt.toISOString(), lastSeen: e.lastAt.toISOString() })),
  };
}

export const accessSchema = z
  .object({
    access: z.enum(['open', 'read', 'write']).describe('open: no token configured; read: API_READ_TOKEN (no actions); write: API_TOKEN'),
  })
  .meta({ id: 'Access' });
