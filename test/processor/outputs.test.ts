// Kept outputs: the processor downloads every output into the output store before a task reads SUCCESS,
// against the simulator over real HTTP (its output files and its download faults) and a real PostgreSQL.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { outputFilePath } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ACCOUNT, cancelTask, getAccountUsage, inProcessProcessor, insertTasks, resetTestState, startTestSimulator, testSettings, waitForStatuses } from './harness.js';
import { waitFor } from '../support/wait.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const SHIPPED_WORKFLOW = '1904136902449209346'; // what insertTasks (test/support/ai-tasks.ts) submits

interface KeptRow {
  fileUrl: string;
  url: string;
  size: number;
  contentType: string;
  sha256: string;
}

describe('kept outputs (in-process processor, simulator files)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let processor: TaskProcessor | undefined;
  const settings = testSettings();

  beforeAll(async () => {
    db = await createTestDatabase('processor_outputs');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
    sim.setOptions({ workflows: {} }); // the first test's two-output workflow stays there otherwise
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    const usage = await getAccountUsage(db.pool, ACCOUNT);
    if (usage) expect(usage).toMatchObject({ running: 0, holders: 0 });
  });

  const start = async (overrides: Parameters<typeof testSettings>[0] = {}) => {
    processor = inProcessProcessor(db.url, sim.url, { ...settings, processorId: `keep-${Math.random().toString(36).slice(2, 8)}`, ...overrides });
    await processor.start();
  };

  it('keeps every output before SUCCESS: our URL, size, type and a SHA-256 equal to what the simulator served', async () => {
    // The shipped workflow with two SaveImage outputs (strict mode takes a workflow's outputs from its spec).
    sim.setOptions({ outputBytes: 300_000, workflows: { [SHIPPED_WORKFLOW]: { nodes: { '6': ['text'] }, outputs: [{ nodeId: '9', fileType: 'png', count: 2 }] } } });
    const timelineFile = path.join(await mkdtemp(path.join(tmpdir(), 'keep-timeline-')), 'timeline.jsonl');
    await start({ timelineFile });
    const ids = await insertTasks(db.pool, 3);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    for (const row of rows) {
      expect(row.status).toBe('SUCCESS');
      const outputs = row.outputs as unknown as KeptRow[];
      expect(outputs).toHaveLength(2);
      for (const [n, output] of outputs.entries()) {
        expect(output.fileUrl).toContain(sim.url);
        expect(output.url).toBe(`/api/tasks/${row.id}/outputs/${n}`);
        expect(output).toMatchObject({ size: 300_000, contentType: 'image/png' });
        // What the simulator serves for this URL, fetched now, byte for byte.
        const served = new Uint8Array(await (await fetch(output.fileUrl)).arrayBuffer());
        expect(served.length).toBe(300_000);
        expect(output.sha256).toBe(sha256(served));
        const kept = await readFile(outputFilePath(settings.outputDir, row.id, n));
        expect(sha256(kept)).toBe(output.sha256);
      }
    }
    const { rows: keeping } = await db.pool.query(`SELECT count(*)::int AS n FROM ai_tasks WHERE runninghub_outputs IS NOT NULL`);
    expect(keeping[0].n).toBe(0);
    // Each kept file is announced (GET /api/events) before its task's SUCCESS.
    const { rows: events } = await db.pool.query<{ task_id: string; kind: string; detail: { n?: number; sha256?: string } }>(
      `SELECT task_id, kind, detail FROM task_events WHERE task_id = ANY($1::uuid[]) AND kind IN ('output_kept', 'succeeded') ORDER BY id`,
      [ids],
    );
    for (const row of rows) {
      const own = events.filter((e) => e.task_id === row.id);
      expect(own.map((e) => e.kind)).toEqual(['output_kept', 'output_kept', 'succeeded']);
      // The outputs of a task are downloaded side by side, so their announcements come in either order.
      const announced = own.slice(0, 2).sort((a, b) => (a.detail.n ?? 0) - (b.detail.n ?? 0));
      expect(announced.map((e) => e.detail.sha256)).toEqual((row.outputs as unknown as KeptRow[]).map((o) => o.sha256));
    }
    // The keeping timeline (TASK_PROCESSOR_TIMELINE_FILE, written at stop): every step of every task and
    // output, in the order durability needs (each file's fdatasync before its rename, the renames before the
    // folder's fsync, that before the SUCCESS commit).
    await processor!.stop();
    processor = undefined;
    type Mark = { step: string; at: number; taskId?: string; n?: number };
    const marks = (await readFile(timelineFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Mark);
    await rm(path.dirname(timelineFile), { recursive: true, force: true });
    for (const id of ids) {
      const at = (step: string, n?: number) => marks.find((m) => m.step === step && m.taskId === id && m.n === n)?.at ?? Number.NaN;
      const renamed = [0, 1].map((n) => at('keep-renamed', n));
      for (const n of [0, 1]) {
        const steps = ['keep-request', 'keep-headers', 'keep-last-byte', 'keep-datasynced', 'keep-renamed'].map((step) => at(step, n));
        expect(steps.every((t, i) => t >= (i === 0 ? at('keep-taken') : steps[i - 1]!))).toBe(true);
      }
      expect(at('keep-dir-synced')).toBeGreaterThanOrEqual(Math.max(...renamed));
      expect(at('keep-committed')).toBeGreaterThanOrEqual(at('keep-dir-synced'));
    }
  });

  it('ignores a cancel that comes while the outputs are being kept: one keeping, SUCCESS', async () => {
    // The download waits 1.5 s: the cancel arrives during it.
    sim.setOptions({ faults: { files: { kind: 'delay', ms: 1_500, times: 1 } } });
    await start();
    const [id] = await insertTasks(db.pool, 1);
    // Keeping, and the keeper holds its lease (next_check_at pushed ahead): RunningHub's SUCCESS makes the
    // task due for keeping first, and the keeper's take follows in its own statement.
    await waitFor('the keeper to hold the task', async () => {
      const { rows } = await db.pool.query(
        `SELECT 1 FROM ai_tasks WHERE id = $1 AND runninghub_outputs IS NOT NULL AND next_check_at > now() + interval '1 minute'`,
        [id],
      );
      return rows.length === 1;
    });
    const before = await db.pool.query<{ next_check_at: Date }>('SELECT next_check_at FROM ai_tasks WHERE id = $1', [id]);
    expect((await cancelTask(db.pool, id!)).outcome).toBe('done');
    // The keeper's lease stands (it made the task due, and the same processor took it again and kept it twice).
    const after = await db.pool.query<{ next_check_at: Date }>('SELECT next_check_at FROM ai_tasks WHERE id = $1', [id]);
    expect(after.rows[0]!.next_check_at).toEqual(before.rows[0]!.next_check_at);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED', 'CANCELLED']);
    expect(row).toMatchObject({ status: 'SUCCESS' });
    expect(sim.counters().callsByEndpoint.files).toBe(1);
  });

  it('retries a failing download (5xx, a body cut off) and then keeps the file', async () => {
    sim.setOptions({ outputBytes: 100_000, defaultOutputs: [{ nodeId: '9', fileType: 'png', count: 1 }], faults: { files: { kind: 'http', status: 503, times: 1 } } });
    await start({ outputKeepAttempts: 4 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row!.status).toBe('SUCCESS');
    expect(sim.counters().faultsInjected).toBe(1);
    expect(sim.counters().callsByEndpoint.files).toBe(2);
    const kept = await readFile(outputFilePath(settings.outputDir, id!, 0));
    expect(kept.length).toBe(100_000);

    sim.setOptions({ faults: { files: { kind: 'truncate', times: 2 } } });
    const [second] = await insertTasks(db.pool, 1);
    const [done] = await waitForStatuses(db.pool, [second!], ['SUCCESS', 'FAILED']);
    expect(done!.status).toBe('SUCCESS');
    const outputs = done!.outputs as unknown as KeptRow[];
    expect(outputs[0]!.size).toBe(100_000);
    expect(sha256(await readFile(outputFilePath(settings.outputDir, second!, 0)))).toBe(outputs[0]!.sha256);
  });

  it('ends FAILED with OUTPUTS_NOT_KEPT when every attempt fails, keeping RunningHub\'s URLs, never SUCCESS', async () => {
    sim.setOptions({ outputBytes: 50_000, defaultOutputs: [{ nodeId: '9', fileType: 'png', count: 1 }], faults: { files: { kind: 'truncate' } } });
    await start({ outputKeepAttempts: 3 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'OUTPUTS_NOT_KEPT' });
    expect(row!.error_message).toMatch(/^output 0 \(http:.*\): the body broke off: the connection closed after 25000 of 50000 bytes; 3 attempts$/);
    // Nothing half-written stays in the store.
    const dir = path.dirname(outputFilePath(settings.outputDir, id!, 0));
    expect(await readdir(dir).catch(() => [])).toEqual([]);
    expect(row!.error_message).toContain('3 attempts');
    expect(row!.outputs?.[0]?.fileUrl).toContain(sim.url);
    expect(sim.counters().callsByEndpoint.files).toBe(3);
  });
});
