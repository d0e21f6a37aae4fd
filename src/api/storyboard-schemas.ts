// The HTTP contract of /api/storyboards: bodies, queries and replies as zod schemas (validation and
// the OpenAPI document), and the resolution of each shot from the shared settings and its overrides.
import { z } from 'zod';
import {
  INSTANCE_TYPES,
  STORYBOARD_STATUSES,
  nodeInfoListSchema,
  type NewTask,
  type Storyboard,
  type StoryboardSettings,
  type StoryboardWithDetails,
} from '../db/index.js';
import { safeText } from '../shared/text-schema.js';
import { callbackDeliverySchema, taskSchema, toTaskJson } from './schemas.js';

const runninghubId = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? undefined : `${what} must be a string of digits (a JSON number would lose precision)`) })
    .regex(/^[0-9]{1,30}$/, `${what} must be a string of digits`);

/** One shot: a task body as for POST /api/tasks, where every field may come from the storyboard instead. */
export const shotBodySchema = z.strictObject({
  entityType: safeText().min(1).max(100).optional().describe('Default "shot"'),
  entityId: safeText().min(1).max(200).optional().describe('Default the shot number, from 1'),
  entityName: safeText().min(1).max(500).optional().describe('Default "<storyboard name> #<shot number>"'),
  workflowId: runninghubId('workflowId').optional(),
  webappId: runninghubId('webappId').optional(),
  nodeInfoList: nodeInfoListSchema.max(200).default([]),
  priority: z.int().min(-1000).max(1000).optional(),
  maxAttempts: z.int().min(1).max(100).optional(),
  instanceType: z.enum(INSTANCE_TYPES).optional().describe('RunningHub GPU for this shot ("default" 24 GB, "plus" 48 GB)'),
});

export const createStoryboardBodySchema = z
  .strictObject({
    name: safeText().min(1).max(500),
    entityType: safeText().min(1).max(100).describe('The entity the storyboard belongs to'),
    entityId: safeText().min(1).max(200),
    workflowId: runninghubId('workflowId').optional().describe('Shared: the workflow of every shot that names none'),
    webappId: runninghubId('webappId').optional(),
    priority: z.int().min(-1000).max(1000).optional().describe('Shared; higher runs first (default 0)'),
    maxAttempts: z.int().min(1).max(100).optional().describe("Shared (default: the profile's, else 3)"),
    instanceType: z.enum(INSTANCE_TYPES).optional().describe('Shared RunningHub GPU ("default" 24 GB, "plus" 48 GB); absent: the workflow\'s default'),
    profile: safeText().min(1).max(100).optional().describe('A configured profile (PROFILES / PROFILES_FILE) for every shot'),
    callbackUrl: z.url({ protocol: /^https?$/, error: 'callbackUrl must be an http(s) URL' }).max(2000).optional(),
    // The count limit (STORYBOARD_MAX_SHOTS) is checked by the route, with its own 422.
    shots: z.array(shotBodySchema).min(1, 'a storyboard needs at least one shot'),
  })
  .superRefine((body, ctx) => {
    if (body.workflowId !== undefined && body.webappId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['workflowId'], message: 'give workflowId or webappId, not both' });
    }
    body.shots.forEach((shot, index) => {
      if (shot.workflowId !== undefined && shot.webappId !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['shots', index, 'workflowId'], message: 'give workflowId or webappId, not both' });
      } else if (shot.workflowId === undefined && shot.webappId === undefined && body.workflowId === undefined && body.webappId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['shots', index, 'workflowId'],
          message: 'no workflowId or webappId, neither on the shot nor on the storyboard',
        });
      }
    });
  })
  .meta({ id: 'CreateStoryboard' });
export type CreateStoryboardBody = z.output<typeof createStoryboardBodySchema>;

/** Longest entity name (the tasks' schema, safeText().max(500): UTF-16 code units). */
const MAX_ENTITY_NAME = 500;

/**
 * "<storyboard name> #n", the name shortened (with "…") rather than the number cut off when the two do not
 * fit; never between the two halves of a surrogate pair.
 */
export function defaultShotName(storyboardName: string, n: number): string {
  const suffix = ` #${n}`;
  if (storyboardName.length + suffix.length <= MAX_ENTITY_NAME) return storyboardName + suffix;
  let cut = MAX_ENTITY_NAME - suffix.length - 1;
  const last = storyboardName.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${storyboardName.slice(0, cut)}…${suffix}`;
}

/** Each shot with the shared settings filled in (a shot's own target replaces the shared one). */
export function resolveShots(body: CreateStoryboardBody, defaultMaxAttempts: number): NewTask[] {
  return body.shots.map((shot, index) => {
    const ownTarget = shot.workflowId !== undefined || shot.webappId !== undefined;
    return {
      entityType: shot.entityType ?? 'shot',
      entityId: shot.entityId ?? String(index + 1),
      entityName: shot.entityName ?? defaultShotName(body.name, index + 1),
      workflowId: (ownTarget ? shot.workflowId : body.workflowId) ?? null,
      webappId: (ownTarget ? shot.webappId : body.webappId) ?? null,
      nodeInfoList: shot.nodeInfoList,
      priority: shot.priority ?? body.priority ?? 0,
      maxAttempts: shot.maxAttempts ?? body.maxAttempts ?? defaultMaxAttempts,
      instanceType: shot.instanceType ?? body.instanceType ?? null,
    };
  });
}

export function settingsOf(body: CreateStoryboardBody): StoryboardSettings {
  return {
    workflowId: body.workflowId ?? null,
    webappId: body.webappId ?? null,
    priority: body.priority ?? null,
    maxAttempts: body.maxAttempts ?? null,
    instanceType: body.instanceType ?? null,
    profile: body.profile ?? null,
    callbackUrl: body.callbackUrl ?? null,
  };
}

export const storyboardStatusSchema = z.enum(STORYBOARD_STATUSES);
const isoTime = z.iso.datetime();

const storyboardFields = {
  id: z.uuid(),
  name: z.string(),
  status: storyboardStatusSchema.describe('running while a shot is PENDING or ACTIVE; then cancelled, done_with_failures or done'),
  total: z.int(),
  pending: z.int(),
  active: z.int(),
  success: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  entityType: z.string(),
  entityId: z.string(),
  settings: z.object({
    workflowId: z.string().nullable(),
    webappId: z.string().nullable(),
    priority: z.int().nullable(),
    maxAttempts: z.int().nullable(),
    instanceType: z.string().nullable(),
    profile: z.string().nullable(),
    callbackUrl: z.string().nullable(),
  }),
  createdAt: isoTime,
  updatedAt: isoTime,
  finishedAt: isoTime.nullable(),
  cancelledAt: isoTime.nullable(),
};
export const storyboardSummarySchema = z.object(storyboardFields).meta({ id: 'StoryboardSummary' });
export const storyboardSchema = z
  .object({
    ...storyboardFields,
    details: z.array(taskSchema).describe('Every shot, in order'),
    callbackDeliveries: z.array(callbackDeliverySchema()).optional().describe('GET /api/storyboards/:id only: the storyboard\'s result callbacks and their state'),
  })
  .meta({ id: 'Storyboard' });

const iso = (date: Date): string => date.toISOString();
const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toStoryboardSummaryJson(storyboard: Storyboard): z.output<typeof storyboardSummarySchema> {
  return {
    id: storyboard.id,
    name: storyboard.name,
    status: storyboard.status,
    total: storyboard.total,
    pending: storyboard.pending,
    active: storyboard.active,
    success: storyboard.success,
    failed: storyboard.failed,
    cancelled: storyboard.cancelled,
    entityType: storyboard.entityType,
    entityId: storyboard.entityId,
    settings: storyboard.settings,
    createdAt: iso(storyboard.createdAt),
    updatedAt: iso(storyboard.updatedAt),
    finishedAt: isoOrNull(storyboard.finishedAt),
    cancelledAt: isoOrNull(storyboard.cancelledAt),
  };
}

export function toStoryboardJson(storyboard: StoryboardWithDetails): z.output<typeof storyboardSchema> {
  return { ...toStoryboardSummaryJson(storyboard), details: storyboard.details.map(toTaskJson) };
}

export const storyboardIdParamsSchema = z.object({ id: z.uuid({ error: 'storyboard ids are UUIDs' }) });

export const storyboardPageSchema = z.object({
  items: z.array(storyboardSummarySchema),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});

export { cursorSchema, encodeCursor } from './schemas.js';
