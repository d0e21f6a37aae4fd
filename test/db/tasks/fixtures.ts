// What the tests of src/db/tasks share: a task to create, the account, a row's state.
import { createHash } from 'node:crypto';
import type { NewTask, Pool } from '../../../src/db/index.js';

export const newTask = (overrides: Partial<NewTask> = {}): NewTask => ({
  entityType: 'shot',
  entityId: 's1',
  entityName: 'Shot 1',
  workflowId: '1904136902449209346',
  webappId: null,
  nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a cat' }],
  priority: 0,
  maxAttempts: 3,
  ...overrides,
});

export const ACCOUNT = createHash('sha256').update('test-key').digest('hex');

export async function statusOf(pool: Pool, id: string) {
  const { rows } = await pool.query(
    'SELECT status, attempts, error_code, runninghub_task_id, slot_account, outputs, claimed_by FROM ai_tasks WHERE id = $1',
    [id],
  );
  return rows[0];
}
