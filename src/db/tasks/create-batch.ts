// The INSERT behind createTask. Creates that arrive while earlier ones are on their way to PostgreSQL
// go together: one prepared statement inserts them all (unnest of one array per column) and commits
// once. Why: under load most of a create's cost was its own statement, plan and commit in PostgreSQL
// and the driver, more than the HTTP work around it (issue 16, bench/api.ts). Nothing waits for a batch
// to fill: a create that finds a statement slot free is sent at once, alone, so a lone request is as
// fast as before; only those that would have waited for a pooled connection anyway are gathered.
// Every create is durable when its caller hears of it (the statement has committed), and each row's
// triggers (the wake-up NOTIFY, task_events) fire per row as for a single INSERT.
import type pg from 'pg';
import { isDatabaseUnavailable } from '../pool.js';
import { TASK_COLUMNS, type TaskRow } from './row.js';

/** One ai_tasks row to insert: the columns createTask sets, the id chosen by the caller (to find its row). */
export interface TaskInsert {
  id: string;
  entityType: string;
  entityId: string;
  entityName: string;
  workflowId: string | null;
  webappId: string | null;
  /** node_info_list as JSON text. */
  nodeInfoList: string;
  priority: number;
  maxAttempts: number;
  idempotencyKey: string | null;
  requestFingerprint: string | null;
  callbackUrl: string | null;
  instanceType: string | null;
}

/**
 * One text for any number of rows, so that each connection prepares it once (a named statement). A row
 * whose idempotency key is taken (by another create, or an earlier row of the same statement) is not
 * inserted and not returned; NULL keys never conflict.
 */
const INSERT_TASKS = `INSERT INTO ai_tasks (id, entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
    priority, max_attempts, idempotency_key, request_fingerprint, callback_url, instance_type)
  SELECT id, entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list::jsonb,
    priority, max_attempts, idempotency_key, request_fingerprint, callback_url, instance_type
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::int[], $9::int[], $10::text[], $11::text[], $12::text[], $13::text[])
    AS new_task(id, entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
      priority, max_attempts, idempotency_key, request_fingerprint, callback_url, instance_type)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING ${TASK_COLUMNS}`;
const INSERT_TASKS_NAME = 'ai_tasks_create_v1';

/** At most this many rows per statement (a statement stays short, a failing one is retried row by row). */
const MAX_ROWS_PER_STATEMENT = 100;
/**
 * Creates in flight at once, per pool: enough to keep PostgreSQL's group commit busy on a small machine,
 * few enough that the rest gather into the next statements instead of waiting for a connection each.
 * Never the whole pool (at most its size less one): reads and other statements keep a connection to run on.
 */
const MAX_STATEMENTS_IN_FLIGHT = 4;

interface Waiting {
  row: TaskInsert;
  resolve: (row: TaskRow | null) => void;
  reject: (error: unknown) => void;
  /** Set while the create waits for a statement slot (see CreateQueue.insert). */
  giveUp?: NodeJS.Timeout;
}

function columns(rows: TaskInsert[]): unknown[][] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.entityType),
    rows.map((r) => r.entityId),
    rows.map((r) => r.entityName),
    rows.map((r) => r.workflowId),
    rows.map((r) => r.webappId),
    rows.map((r) => r.nodeInfoList),
    rows.map((r) => r.priority),
    rows.map((r) => r.maxAttempts),
    rows.map((r) => r.idempotencyKey),
    rows.map((r) => r.requestFingerprint),
    rows.map((r) => r.callbackUrl),
    rows.map((r) => r.instanceType),
  ];
}

/** Runs one statement for `batch` and answers each waiting create; never rejects. */
async function insertBatch(pool: pg.Pool, batch: Waiting[]): Promise<void> {
  let inserted: TaskRow[];
  try {
    ({ rows: inserted } = await pool.query<TaskRow>({ name: INSERT_TASKS_NAME, text: INSERT_TASKS, values: columns(batch.map((w) => w.row)) }));
  } catch (error) {
    if (batch.length === 1 || isDatabaseUnavailable(error)) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    // The statement inserted nothing (it is atomic). One bad row must not fail the others: each again
    // alone, so that each create gets its own answer.
    await Promise.all(batch.map((waiting) => insertBatch(pool, [waiting])));
    return;
  }
  const byId = new Map(inserted.map((row) => [row.id, row]));
  for (const waiting of batch) waiting.resolve(byId.get(waiting.row.id) ?? null);
}

class CreateQueue {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxWaitMs: number;

  constructor(private readonly pool: pg.Pool) {
    this.maxInFlight = Math.min(MAX_STATEMENTS_IN_FLIGHT, Math.max(1, (pool.options.max ?? 10) - 1));
    this.maxWaitMs = pool.options.connectionTimeoutMillis ?? 0;
  }

  insert(row: TaskInsert): Promise<TaskRow | null> {
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { row, resolve, reject };
      this.waiting.push(waiting);
      this.send();
      // send() takes from the front: a create it did not take is still the last one waiting.
      if (this.waiting[this.waiting.length - 1] !== waiting || this.maxWaitMs <= 0) return;
      // Not sent: the statements in flight still hold their connections (a slow or frozen database). Give
      // up when a query waiting for a pooled connection would (connectionTimeoutMillis), with pg's words,
      // so that the caller sees the database as unavailable (the API's 503) rather than waiting on.
      waiting.giveUp = setTimeout(() => {
        const at = this.waiting.indexOf(waiting);
        if (at === -1) return;
        this.waiting.splice(at, 1);
        reject(new Error(`timeout exceeded when trying to connect: the creates in flight held their connections for ${this.maxWaitMs} ms`));
      }, this.maxWaitMs);
      waiting.giveUp.unref();
    });
  }

  private send(): void {
    while (this.waiting.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.waiting.splice(0, MAX_ROWS_PER_STATEMENT);
      for (const waiting of batch) clearTimeout(waiting.giveUp);
      this.inFlight += 1;
      void insertBatch(this.pool, batch).finally(() => {
        this.inFlight -= 1;
        this.send();
      });
    }
  }
}

const queues = new WeakMap<pg.Pool, CreateQueue>();

/**
 * Inserts `row` (with the creates waiting beside it) and resolves with the stored row once committed, or
 * null when its idempotency key was already taken. A failure is this row's own (or the database's).
 */
export function insertTask(pool: pg.Pool, row: TaskInsert): Promise<TaskRow | null> {
  let queue = queues.get(pool);
  if (!queue) {
    queue = new CreateQueue(pool);
    queues.set(pool, queue);
  }
  return queue.insert(row);
}
