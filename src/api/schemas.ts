// The HTTP contract: every body, query, parameter and reply of /api, as zod schemas. Fastify
// validates with them and @fastify/swagger turns the same schemas into the OpenAPI document.
import { z } from 'zod';
import {
  INSTANCE_TYPES,
  RUNNINGHUB_PHASES,
  TASK_STATUSES,
  nodeInfoListSchema,
  taskOutputSchema,
  type AiTask,
  type CallbackDelivery,
  type TaskCursor,
} from '../db/index.js';
import { safeText } from '../shared/text-schema.js';

/** RunningHub ids are 19-digit numbers: JSON numbers that long lose digits, so only strings pass. */
const runninghubId = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? undefined : `${what} must be a string of digits (a JSON number would lose precision)`) })
    .regex(/^[0-9]{1,30}$/, `${what} must be a string of digits`);

export const taskStatusSchema = z.enum(TASK_STATUSES);

/** Where a finished task's (or storyboard's) result is POSTed, signed (README: Callbacks). */
export const callbackUrlSchema = z
  .url({ protocol: /^https?$/, error: 'callbackUrl must be an absolute http:// or https:// URL' })
  .max(2000, 'callbackUrl must be at most 2000 characters')
  .describe('POSTed the result once the task ends, signed with HMAC-SHA256 (see the README)');

export const createTaskBodySchema = z
  .strictObject({
    // The parsers refuse such text first (text-boundary.ts); the schema states the rule as well.
    entityType: safeText().min(1).max(100),
    entityId: safeText().min(1).max(200),
    entityName: safeText().min(1).max(500),
    workflowId: runninghubId('workflowId').optional(),
    webappId: runninghubId('webappId').optional(),
    nodeInfoList: nodeInfoListSchema.max(200).default([]),
    priority: z.int().min(-1000).max(1000).default(0).describe('Higher runs first'),
    maxAttempts: z.int().min(1).max(100).default(3),
    callbackUrl: callbackUrlSchema.optional(),
    instanceType: z
      .enum(INSTANCE_TYPES)
      .optional()
      .describe('RunningHub GPU: "default" 24 GB, "plus" 48 GB; absent = the workflow\'s default (INSTANCE_TYPE_DEFAULTS)'),
  })
  .superRefine((body, ctx) => {
    if ((body.workflowId === undefined) === (body.webappId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['workflowId'], message: 'exactly one of workflowId and webappId is required' });
    }
  })
  .meta({ id: 'CreateTask' });

export const idempotencyHeadersSchema = z.object({
  'idempotency-key': safeText()
    .min(1)
    .max(255)
    .optional()
    .describe('Replays with the same key and body return the first task; a different body is 409'),
});

const isoTime = z.iso.datetime();

export const taskSchema = z
  .object({
    id: z.uuid(),
    status: taskStatusSchema,
    entityType: z.string(),
    entityId: z.string(),
    entityName: z.string(),
    workflowId: z.string().nullable(),
    webappId: z.string().nullable(),
    nodeInfoList: z.array(z.object({ nodeId: z.string(), fieldName: z.string(), fieldValue: z.string() })),
    priority: z.int(),
    attempts: z.int(),
    maxAttempts: z.int(),
    instanceType: z.enum(INSTANCE_TYPES).nullable(),
    runAfter: isoTime,
    runninghubTaskId: z.string().nullable().describe("RunningHub's task id: a 19-digit string"),
    runninghubPhase: z.enum(RUNNINGHUB_PHASES).nullable().describe("RunningHub's own phase of an ACTIVE task, as last polled"),
    callbackUrl: z.string().nullable(),
    callbackDeliveries: z.array(callbackDeliverySchema()).optional().describe('GET /api/tasks/:id only: the result callbacks and their state'),
    outputs: z.array(taskOutputSchema).nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    cancelRequested: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
    submittedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    storyboardId: z.uuid().nullable().describe('The storyboard this task is a shot of; null for a task created alone'),
    shotIndex: z.int().nullable().describe("The shot's place in its storyboard, from 0"),
  })
  .meta({ id: 'Task' });
export type TaskJson = z.output<typeof taskSchema>;

export function callbackDeliverySchema() {
  return z.object({
    id: z.string(),
    url: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.int(),
    nextAttemptAt: isoTime.nullable(),
    lastStatus: z.int().nullable().describe('HTTP status of the last attempt; null when there was no answer'),
    lastError: z.string().nullable(),
    createdAt: isoTime,
    deliveredAt: isoTime.nullable(),
  });
}

export function toCallbackDeliveryJson(delivery: CallbackDelivery) {
  return {
    ...delivery,
    nextAttemptAt: isoOrNull(delivery.nextAttemptAt),
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: isoOrNull(delivery.deliveredAt),
  };
}

const iso = (date: Date): string => date.toISOString();
const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toTaskJson(task: AiTask): TaskJson {
  return {
    id: task.id,
    status: task.status,
    entityType: task.entityType,
    entityId: task.entityId,
    entityName: task.entityName,
    workflowId: task.workflowId,
    webappId: task.webappId,
    nodeInfoList: task.nodeInfoList,
    priority: task.priority,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    instanceType: task.instanceType,
    runAfter: iso(task.runAfter),
    runninghubTaskId: task.runninghubTaskId,
    runninghubPhase: task.runninghubPhase,
    callbackUrl: task.callbackUrl,
    outputs: task.outputs,
    error: task.error,
    cancelRequested: task.cancelRequested,
    createdAt: iso(task.createdAt),
    updatedAt: iso(task.updatedAt),
    submittedAt: isoOrNull(task.submittedAt),
    finishedAt: isoOrNull(task.finishedAt),
    storyboardId: task.storyboardId,
    shotIndex: task.shotIndex,
  };
}

export const taskIdParamsSchema = z.object({ id: z.uuid({ error: 'task ids are UUIDs' }) });

/** Opaque to clients: base64url of "<created_at in µs>.<id>". */
export function encodeCursor(cursor: TaskCursor): string {
  return Buffer.from(`${cursor.createdAtMicros}.${cursor.id}`).toString('base64url');
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in µs since the epoch. */
const CURSOR_MIN_MICROS = -62_135_596_800_000_000n;
const CURSOR_MAX_MICROS = 253_402_300_799_999_999n;

export const cursorSchema = z.string().transform((text, ctx): TaskCursor => {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const match = /^(-?\d{1,20})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(decoded);
  // A creation time this API wrote lies within years 1 to 9999; outside, PostgreSQL could not even compute it.
  if (!match || BigInt(match[1]!) < CURSOR_MIN_MICROS || BigInt(match[1]!) > CURSOR_MAX_MICROS) {
    ctx.addIssue({ code: 'custom', message: 'not a cursor returned by this API (use nextCursor as given)' });
    return z.NEVER;
  }
  return { createdAtMicros: match[1]!, id: match[2]! };
});

export const listTasksQuerySchema = z.strictObject({
  status: z
    .union([z.string(), z.array(z.string())])
    .transform((given, ctx) => {
      // `?status=A,B` and `?status=A&status=B` alike.
      const statuses = (Array.isArray(given) ? given : [given]).flatMap((text) => text.split(',')).map((s) => s.trim().toUpperCase());
      const parsed = z.array(taskStatusSchema).safeParse(statuses);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `status must be a comma-separated list of ${TASK_STATUSES.join(', ')}` });
        return z.NEVER;
      }
      return parsed.data;
    })
    .optional()
    .describe(`One status or a comma-separated list: ${TASK_STATUSES.join(', ')}`),
  entityType: safeText().min(1).max(100).optional(),
  entityId: safeText().min(1).max(200).optional(),
  storyboardId: z.uuid({ error: 'storyboardId must be a storyboard id (a UUID)' }).optional().describe('Only the shots of this storyboard'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema.optional().describe('nextCursor of the previous page'),
});

export const taskPageSchema = z.object({
  items: z.array(taskSchema),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});

/** A task processor as its heartbeat row shows it (/api/stats; /api/queue shows it without the claim counters). */
export const processorStatsSchema = z.object({
  processorId: z.string(),
  host: z.string(),
  pid: z.int(),
  startedAt: isoTime,
  lastBeatAt: isoTime,
  submitted: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  retried: z.int(),
  orphaned: z.int().describe('RunningHub tasks this processor created but could not record (cancelled there)'),
  orphanCancelFailures: z.int().describe('Cancels of those orphans that failed: each may still hold a RunningHub slot'),
  consecutiveErrors: z.int(),
  lastError: z.string().nullable(),
});

export const statsSchema = z
  .object({
    countsByStatus: z.record(taskStatusSchema, z.int()),
    oldestPendingAgeSeconds: z.number().nullable(),
    finishedLastMinute: z.int(),
    finishedLastFiveMinutes: z.int(),
    failuresByErrorCode: z
      .array(z.object({ code: z.string(), count: z.int() }))
      .describe('FAILED tasks finished in the last 24 hours, by error code'),
    processors: z
      .array(processorStatsSchema)
      .describe('Task processors that sent a heartbeat in the last 30 seconds'),
    accountPauses: z
      .array(
        z.object({
          account: z.string().describe('First 12 hex digits of the API key hash'),
          pausedAt: isoTime,
          code: z.string().describe('RunningHub code of the refusal, e.g. 416 or 812'),
          reason: z.string(),
          checks: z.int().describe('accountStatus checks since the pause'),
          nextCheckAt: isoTime.nullable(),
        }),
      )
      .describe('RunningHub accounts whose claiming is paused: wallet empty; tasks stay PENDING until coins are back'),
  })
  .describe('Task statistics, the live task processors, and paused RunningHub accounts');

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .meta({ id: 'Error' });

export const healthSchema = z.object({ status: z.literal('ok') });
export const readySchema = z.object({ status: z.enum(['ready', 'not_ready']), database: z.string() });
