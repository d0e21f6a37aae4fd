// The task as its row stores it and as callers see it: the one parser of node_info_list and outputs,
// and the mapping from snake_case columns to typed values (no caller ever sees raw jsonb).
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { asIllegalTransition, type RunningHubPhase, type TaskStatus } from './life.js';

/**
 * One override of a workflow or app input, the one parser for it: the API's create body, rows read
 * back (getTask, listTasks) and the processor's claims all go through this schema. RunningHub wants
 * every fieldValue as a string, so numbers and booleans are converted here (and stored converted).
 */
export const nodeInfoSchema = z.strictObject({
  nodeId: z.string().min(1).max(100),
  fieldName: z.string().min(1).max(200),
  fieldValue: z.union([z.string().max(100_000), z.number(), z.boolean()]).transform((value) => String(value)),
});
export const nodeInfoListSchema = z.array(nodeInfoSchema);
export type NodeInfo = z.output<typeof nodeInfoSchema>;

/** One output file as the processor stored it (RunningHub's own field names, extra fields kept). */
export const taskOutputSchema = z.looseObject({
  fileUrl: z.string(),
  fileType: z.string().nullish(),
});
export type TaskOutput = z.output<typeof taskOutputSchema>;
const storedOutputsSchema = z.array(taskOutputSchema).nullable();

export interface NewTask {
  entityType: string;
  entityId: string;
  entityName: string;
  /** Exactly one of workflowId and webappId is set (the schema's check enforces it too). */
  workflowId: string | null;
  webappId: string | null;
  nodeInfoList: NodeInfo[];
  priority: number;
  maxAttempts: number;
  /** Where the result is POSTed when the task ends (migration 007's outbox); absent or null: no callback. */
  callbackUrl?: string | null | undefined;
  /** RunningHub GPU: "default" 24 GB, "plus" 48 GB; null/absent = the workflow's default (migration 005). */
  instanceType?: InstanceType | null | undefined;
}

export const INSTANCE_TYPES = ['default', 'plus'] as const;
export type InstanceType = (typeof INSTANCE_TYPES)[number];

export interface AiTask extends NewTask {
  instanceType: InstanceType | null;
  id: string;
  status: TaskStatus;
  attempts: number;
  runAfter: Date;
  runninghubTaskId: string | null;
  /** RunningHub's own phase (QUEUED/RUNNING there) of an ACTIVE task, as last polled; null otherwise. */
  runninghubPhase: RunningHubPhase | null;
  callbackUrl: string | null;
  outputs: TaskOutput[] | null;
  error: { code: string; message: string } | null;
  cancelRequested: boolean;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date | null;
  finishedAt: Date | null;
  /** The storyboard this task is a shot of, and its place there; null for a task created alone. */
  storyboardId: string | null;
  shotIndex: number | null;
}

export interface TaskRow {
  id: string;
  status: TaskStatus;
  entity_type: string;
  entity_id: string;
  entity_name: string;
  workflow_id: string | null;
  webapp_id: string | null;
  node_info_list: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  runninghub_task_id: string | null;
  runninghub_phase: RunningHubPhase | null;
  callback_url: string | null;
  outputs: unknown;
  error_code: string | null;
  error_message: string | null;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  finished_at: Date | null;
  storyboard_id: string | null;
  shot_index: number | null;
  instance_type: InstanceType | null;
}

export const TASK_COLUMNS = `id, status, entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
  priority, attempts, max_attempts, run_after, runninghub_task_id, outputs, error_code, error_message,
  cancel_requested_at, created_at, updated_at, submitted_at, finished_at, storyboard_id, shot_index, runninghub_phase, callback_url,
  instance_type`;

export function toTask(row: TaskRow): AiTask {
  return {
    id: row.id,
    status: row.status,
    entityType: row.entity_type,
    entityId: row.entity_id,
    entityName: row.entity_name,
    workflowId: row.workflow_id,
    webappId: row.webapp_id,
    nodeInfoList: nodeInfoListSchema.parse(row.node_info_list),
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    runninghubTaskId: row.runninghub_task_id,
    runninghubPhase: row.runninghub_phase,
    callbackUrl: row.callback_url,
    outputs: storedOutputsSchema.parse(row.outputs),
    error:
      row.error_code === null && row.error_message === null
        ? null
        : { code: row.error_code ?? 'UNKNOWN', message: row.error_message ?? '' },
    cancelRequested: row.cancel_requested_at !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    submittedAt: row.submitted_at,
    finishedAt: row.finished_at,
    storyboardId: row.storyboard_id,
    shotIndex: row.shot_index,
    instanceType: row.instance_type,
  };
}

/**
 * Run a statement that changes a task's status: a change the life table does not allow comes back
 * from the database guard (migration 003) as an IllegalTransitionError. `preparedAs` names a
 * statement run often on the hot path: each connection parses and plans it once, then reuses it.
 */
export async function changeStatus<Row extends object>(db: Queryable, sql: string, values: unknown[], preparedAs?: string): Promise<Row[]> {
  try {
    const { rows } = preparedAs === undefined ? await db.query<Row>(sql, values) : await db.query<Row>({ name: preparedAs, text: sql, values });
    return rows;
  } catch (error) {
    throw asIllegalTransition(error);
  }
}
