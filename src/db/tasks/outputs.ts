// Kept outputs: the keepingOutputs phase of life.ts. RunningHub's SUCCESS moves a task here (its slot
// given back in the same statement); a processor takes it under a lease, downloads every output into
// the output store, and ends it SUCCESS with our copies, or FAILED (OUTPUTS_NOT_KEPT) after its attempts.
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { OUTPUTS_NOT_KEPT } from './life.js';
import type { FinishedTask, TaskRef } from './queue.js';
import { refCondition, slotReleasingCtes } from './queue.js';
import { changeStatus, taskOutputSchema, type TaskOutput } from './row.js';

/** One output as kept: RunningHub's fields (fileUrl is RunningHub's URL) and our copy. */
export const keptOutputSchema = taskOutputSchema.extend({
  /** Where our copy is served: /api/tasks/<id>/outputs/<n>. */
  url: z.string(),
  size: z.number().int().nonnegative(),
  contentType: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type KeptOutput = z.output<typeof keptOutputSchema>;

/**
 * startKeepingOutputs's writes as CTEs (old, moved, freed), parameters numbered from $firstParam: `moved`
 * returns the task's id, entity_name and runninghub_task_id. `andWhere` narrows which task (the webhook's
 * statement adds its lock there, results.ts).
 */
export function keepingOutputsCtes(ref: TaskRef, outputs: unknown[], firstParam: number, andWhere = ''): { sql: string; params: unknown[] } {
  const where = refCondition(ref, firstParam + 1);
  return {
    sql: slotReleasingCtes(
      `${where.sql} ${andWhere}`,
      `runninghub_outputs = $${firstParam}::jsonb, slot_account = NULL, claim_expires_at = NULL, next_check_at = now()`,
    ),
    params: [JSON.stringify(outputs), ...where.params],
  };
}

/**
 * RunningHub reported SUCCESS: the task enters keepingOutputs with RunningHub's outputs, gives its
 * slot back, and is due for keeping at once (the slot_freed wake-up brings a processor). Null when the
 * task is no longer a submitted ACTIVE one (already keeping, or ended): nothing happens twice.
 */
export async function startKeepingOutputs(db: Queryable, ref: TaskRef, outputs: unknown[]): Promise<FinishedTask | null> {
  const ctes = keepingOutputsCtes(ref, outputs, 1);
  const rows = await changeStatus<{ id: string; entity_name: string; runninghub_task_id: string | null }>(
    db,
    `WITH ${ctes.sql}
     SELECT id, entity_name, runninghub_task_id FROM moved`,
    ctes.params,
    // RunningHub's SUCCESS frees a slot here: prepared, as the claim that follows (one text per kind of ref).
    `start_keeping_outputs_by_${'runninghubTaskId' in ref ? 'runninghub_id' : 'claim'}`,
  );
  const row = rows[0];
  return row ? { id: row.id, entityName: row.entity_name, runninghubTaskId: row.runninghub_task_id, status: 'SUCCESS' } : null;
}

export interface TaskToKeep {
  id: string;
  entityName: string;
  runninghubTaskId: string | null;
  /** This keeper's token: finish and fail only succeed while it is still the task's. */
  keepToken: string;
  /** RunningHub's outputs, each with at least fileUrl; an entry without one is reported as a problem. */
  outputs: TaskOutput[];
  /** Why the stored list does not parse, or null (the task then fails with OUTPUTS_NOT_KEPT). */
  outputsProblem: string | null;
}

/**
 * Tasks in keepingOutputs whose lease is due (new ones are due at once), taken by this processor: a
 * new token and the lease pushed `leaseMs` ahead, so a keeper that dies is replaced after its lease.
 */
export async function takeOutputsToKeep(
  db: Queryable,
  input: { processorId: string; limit: number; leaseMs: number; keeping?: readonly string[] },
): Promise<TaskToKeep[]> {
  if (input.limit <= 0) return [];
  const { rows } = await db.query<{ id: string; entity_name: string; runninghub_task_id: string | null; claim_token: string; runninghub_outputs: unknown }>(
    `WITH due AS (
       SELECT id FROM ai_tasks
        WHERE status = 'ACTIVE' AND runninghub_outputs IS NOT NULL
          -- Due, or leased by this processor but no longer being kept by it (the attempt died with the
          -- database, say): without the second case such a task would wait out the whole lease.
          AND (next_check_at <= now() OR (claimed_by = $2 AND NOT (id = ANY ($4::uuid[]))))
        ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE ai_tasks t SET claim_token = gen_random_uuid(), claimed_by = $2,
            next_check_at = now() + make_interval(secs => $3::double precision / 1000)
       FROM due WHERE t.id = due.id
     RETURNING t.id, t.entity_name, t.runninghub_task_id, t.claim_token, t.runninghub_outputs`,
    [input.limit, input.processorId, input.leaseMs, input.keeping ?? []],
  );
  return rows.map((r) => {
    const parsed = z.array(taskOutputSchema).safeParse(r.runninghub_outputs);
    return {
      id: r.id,
      entityName: r.entity_name,
      runninghubTaskId: r.runninghub_task_id,
      keepToken: r.claim_token,
      outputs: parsed.success ? parsed.data : [],
      outputsProblem: parsed.success ? null : `RunningHub's outputs are not a list of {fileUrl}: ${z.prettifyError(parsed.error)}`,
    };
  });
}

/** Every output kept: SUCCESS with our copies. Null when the lease was lost (another keeper took over). */
export async function finishKeepingOutputs(db: Queryable, task: { id: string; keepToken: string }, outputs: KeptOutput[]): Promise<boolean> {
  const rows = await changeStatus<{ id: string }>(
    db,
    `UPDATE ai_tasks SET status = 'SUCCESS', outputs = $3::jsonb, runninghub_outputs = NULL, finished_at = now(),
            next_check_at = NULL, error_code = NULL, error_message = NULL
      WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_outputs IS NOT NULL
     RETURNING id`,
    [task.id, task.keepToken, JSON.stringify(outputs)],
  );
  return rows.length === 1;
}

/**
 * The outputs could not be kept after every attempt: FAILED with OUTPUTS_NOT_KEPT, never SUCCESS with
 * missing images. RunningHub's outputs stay in `outputs` (their URLs work for about a day).
 */
export async function failKeepingOutputs(db: Queryable, task: { id: string; keepToken: string }, message: string): Promise<boolean> {
  const rows = await changeStatus<{ id: string }>(
    db,
    `UPDATE ai_tasks SET status = 'FAILED', outputs = runninghub_outputs, runninghub_outputs = NULL, finished_at = now(),
            next_check_at = NULL, error_code = $3, error_message = $4
      WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_outputs IS NOT NULL
     RETURNING id`,
    [task.id, task.keepToken, OUTPUTS_NOT_KEPT, message],
  );
  return rows.length === 1;
}

/** Push the lease of a task being kept (a long download must not be taken over). */
export async function extendKeepingLease(db: Queryable, task: { id: string; keepToken: string }, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ai_tasks SET next_check_at = now() + make_interval(secs => $3::double precision / 1000)
      WHERE id = $1 AND claim_token = $2 AND status = 'ACTIVE' AND runninghub_outputs IS NOT NULL`,
    [task.id, task.keepToken, leaseMs],
  );
  return rowCount === 1;
}
