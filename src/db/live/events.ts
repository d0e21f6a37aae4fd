// task_events (migration 007): what GET /api/events streams. The trigger appends them; this file reads
// them back (a reconnecting client's Last-Event-ID), parses the NOTIFY payload (the one parser of it),
// records RunningHub's phase (which makes an event) and appends the events no row change makes.
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { LIVE_CHANNELS, RUNNINGHUB_PHASES, TASK_EVENT_KINDS, TASK_STATUSES, type RunningHubPhase, type TaskEventKind } from '../tasks/life.js';

const kinds = Object.keys(TASK_EVENT_KINDS) as [TaskEventKind, ...TaskEventKind[]];

/** One event as clients see it (and as the NOTIFY payload carries it). `id` is a bigint, kept as a string. */
export const taskEventSchema = z.object({
  id: z.string().regex(/^[0-9]{1,19}$/),
  taskId: z.uuid(),
  storyboardId: z.uuid().nullable(),
  entityType: z.string(),
  entityId: z.string(),
  kind: z.enum(kinds),
  status: z.enum(TASK_STATUSES),
  runninghubPhase: z.enum(RUNNINGHUB_PHASES).nullable(),
  detail: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export type TaskEvent = z.output<typeof taskEventSchema>;

/** The payload of a notification on LIVE_CHANNELS.events, or null (with the reason) when it is not one. */
export function parseTaskEventPayload(payload: string): { event: TaskEvent } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  const parsed = taskEventSchema.safeParse(json);
  if (!parsed.success) return { problem: z.prettifyError(parsed.error) };
  // PostgreSQL's json text of a timestamptz is ISO 8601 with its offset: one form for clients.
  return { event: { ...parsed.data, at: new Date(parsed.data.at).toISOString() } };
}

/** Which events a stream wants: every condition given must hold. */
export interface TaskEventFilter {
  taskId?: string | undefined;
  storyboardId?: string | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
}

export function eventMatches(event: TaskEvent, filter: TaskEventFilter): boolean {
  return (
    (filter.taskId === undefined || event.taskId === filter.taskId) &&
    (filter.storyboardId === undefined || event.storyboardId === filter.storyboardId) &&
    (filter.entityType === undefined || event.entityType === filter.entityType) &&
    (filter.entityId === undefined || event.entityId === filter.entityId)
  );
}

interface EventRow {
  id: string;
  task_id: string;
  storyboard_id: string | null;
  entity_type: string;
  entity_id: string;
  kind: TaskEventKind;
  status: TaskEvent['status'];
  runninghub_phase: RunningHubPhase | null;
  detail: Record<string, unknown>;
  at: Date;
}

const toEvent = (row: EventRow): TaskEvent => ({
  id: row.id,
  taskId: row.task_id,
  storyboardId: row.storyboard_id,
  entityType: row.entity_type,
  entityId: row.entity_id,
  kind: row.kind,
  status: row.status,
  runninghubPhase: row.runninghub_phase,
  detail: row.detail,
  at: row.at.toISOString(),
});

/**
 * Events after `afterId` (exclusive) that match the filter, oldest first, at most `limit`: what a client
 * reconnecting with Last-Event-ID missed. Each filter has its index (task, storyboard, entity; the key).
 */
export async function readTaskEventsAfter(db: Queryable, afterId: string, filter: TaskEventFilter, limit: number): Promise<TaskEvent[]> {
  const where = ['e.id > $1::bigint'];
  const values: unknown[] = [afterId];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    values.push(value);
    where.push(`e.${column} = $${values.length}`);
  };
  add('task_id', filter.taskId);
  add('storyboard_id', filter.storyboardId);
  add('entity_type', filter.entityType);
  add('entity_id', filter.entityId);
  values.push(limit);
  const { rows } = await db.query<EventRow>(
    `SELECT id::text AS id, task_id, storyboard_id, entity_type, entity_id, kind, status, runninghub_phase, detail, at
       FROM task_events e WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT $${values.length}`,
    values,
  );
  return rows.map(toEvent);
}

// `id::text AS id` hides the bigint column from ORDER BY: the statements order by e.id, the number.

/** The newest event id, or '0' with none: a stream's starting point. */
export async function latestTaskEventId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM task_events');
  return rows[0]?.id ?? '0';
}

/**
 * Store RunningHub's phase of a submitted task as a poll saw it. Only a change is written, so only a
 * change makes an event (queued, running). False when the task is not ACTIVE with this id or unchanged.
 */
export async function recordRunningHubPhase(db: Queryable, runninghubTaskId: string, phase: RunningHubPhase): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ai_tasks SET runninghub_phase = $2, runninghub_phase_at = now()
      WHERE runninghub_task_id = $1 AND status = 'ACTIVE' AND runninghub_phase IS DISTINCT FROM $2`,
    [runninghubTaskId, phase],
  );
  return rowCount === 1;
}

/**
 * Append an event no row change of ai_tasks makes (output_kept: the uploads code keeps an output in our
 * store), and announce it like the trigger does, in the caller's transaction. Null when the task is gone.
 */
export async function recordTaskEvent(
  db: Queryable,
  taskId: string,
  kind: Extract<TaskEventKind, 'output_kept'>,
  detail: Record<string, unknown>,
): Promise<TaskEvent | null> {
  const { rows } = await db.query<EventRow>(
    `WITH event AS (
       INSERT INTO task_events (task_id, storyboard_id, entity_type, entity_id, kind, status, runninghub_phase, detail)
       SELECT t.id, t.storyboard_id, t.entity_type, t.entity_id, $2, t.status, t.runninghub_phase, $3::jsonb
         FROM ai_tasks t WHERE t.id = $1
       RETURNING *),
     sent AS (
       SELECT pg_notify($4, json_build_object(
         'id', id::text, 'taskId', task_id, 'storyboardId', storyboard_id, 'entityType', entity_type, 'entityId', entity_id,
         'kind', kind, 'status', status, 'runninghubPhase', runninghub_phase, 'detail', detail, 'at', at)::text)
       FROM event)
     SELECT id::text AS id, task_id, storyboard_id, entity_type, entity_id, kind, status, runninghub_phase, detail, at
       FROM event, sent`,
    [taskId, kind, JSON.stringify(detail), LIVE_CHANNELS.events],
  );
  return rows[0] ? toEvent(rows[0]) : null;
}
