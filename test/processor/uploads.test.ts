// Reference images: the processor uploads an upload:<id> image to RunningHub just before the create,
// reuses the upload for the same content, and retries an upload failure like a create failure.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { insertUpload } from '../../src/db/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { uploadFilePath } from '../../src/store/index.js';
import { startTestApp } from '../api/support.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { solidPngForTests } from '../support/images.js';
import { ACCOUNT, getAccountUsage, inProcessProcessor, resetTestState, startTestSimulator, testSettings, waitForStatuses } from './harness.js';

describe('reference images (in-process processor, simulator uploads)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let processor: TaskProcessor | undefined;
  const settings = testSettings();

  beforeAll(async () => {
    db = await createTestDatabase('processor_uploads');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
    await db.pool.query('TRUNCATE uploads, runninghub_uploads');
    sim.setOptions({ requireUploadedImages: true, outputBytes: 0, defaultOutputs: [{ nodeId: '9', fileType: 'png', count: 1 }] });
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    const usage = await getAccountUsage(db.pool, ACCOUNT);
    if (usage) expect(usage).toMatchObject({ running: 0, holders: 0 });
  });

  const start = async (overrides: Partial<typeof settings> = {}) => {
    processor = inProcessProcessor(db.url, sim.url, { ...settings, processorId: `uploads-${Math.random().toString(36).slice(2, 8)}`, ...overrides });
    await processor.start();
  };

  /** An upload as POST /api/uploads leaves it: a row and its file in the upload store. */
  const storedUpload = async (rgb: [number, number, number]) => {
    const png = solidPngForTests(rgb);
    const sha256 = createHash('sha256').update(png).digest('hex');
    const file = uploadFilePath(settings.uploadDir, sha256);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, png);
    return insertUpload(db.pool, { sha256, size: png.length, contentType: 'image/png' });
  };

  const tasksWithImage = async (fieldValue: string, count: number, maxAttempts = 3) => {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, max_attempts, created_at)
       SELECT 'shot', 'ref-' || g, 'Ref ' || g, '1904136902449209346',
              jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'shot ' || g),
                                jsonb_build_object('nodeId', '10', 'fieldName', 'image', 'fieldValue', $1::text)),
              $3, clock_timestamp()
         FROM generate_series(1, $2) g RETURNING id`,
      [fieldValue, count, maxAttempts],
    );
    return rows.map((r) => r.id);
  };

  it('uploads the image once for the same content and account, and every task runs with RunningHub\'s file name', async () => {
    const upload = await storedUpload([10, 200, 30]);
    await start();
    const ids = await tasksWithImage(`upload:${upload.id}`, 4);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    // The simulator refuses (803) an image field naming a file this key did not upload: SUCCESS proves the name.
    expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(sim.counters().callsByEndpoint.upload).toBe(1);
    const { rows: remembered } = await db.pool.query('SELECT account, sha256, file_name FROM runninghub_uploads');
    expect(remembered).toEqual([{ account: ACCOUNT, sha256: upload.sha256, file_name: expect.stringMatching(/^api\/[0-9a-f]{64}\.png$/) }]);
    // The task keeps its reference (the RunningHub name is per account and expires).
    const { rows: stored } = await db.pool.query(`SELECT node_info_list->1->>'fieldValue' AS v FROM ai_tasks WHERE id = $1`, [ids[0]]);
    expect(stored[0].v).toBe(`upload:${upload.id}`);
  });

  it('retries a failed upload like a failed create, and fails a task whose upload does not exist (INVALID_TASK)', async () => {
    const upload = await storedUpload([1, 2, 3]);
    sim.setOptions({ faults: { upload: { kind: 'http', status: 503, times: 1 } } });
    await start();
    const [id] = await tasksWithImage(`upload:${upload.id}`, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(sim.counters().callsByEndpoint.upload).toBe(2);

    const [missing] = await tasksWithImage('upload:00000000-0000-4000-8000-000000000000', 1);
    const [failed] = await waitForStatuses(db.pool, [missing!], ['SUCCESS', 'FAILED']);
    expect(failed).toMatchObject({ status: 'FAILED', error_code: 'INVALID_TASK', attempts: 1 });
    expect(failed!.error_message).toContain('names upload 00000000-0000-4000-8000-000000000000, which does not exist');
  });

  it("keeps its claim while slow uploads run longer than the claim's lease: one create, no LEASE_EXPIRED", async () => {
    const [red, blue] = [await storedUpload([200, 0, 0]), await storedUpload([0, 0, 200])];
    // Two uploads of 1 s each, one after the other, against a lease of 1.5 s that housekeeping looks at every 200 ms.
    sim.setOptions({ faults: { upload: { kind: 'delay', ms: 1_000, times: 2 } } });
    await start({ claimLeaseMs: 1_500, pollIntervalMs: 200 });
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list)
       VALUES ('shot', 'two-refs', 'Two refs', '1904136902449209346',
               jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'two references'),
                                 jsonb_build_object('nodeId', '10', 'fieldName', 'image', 'fieldValue', $1::text),
                                 jsonb_build_object('nodeId', '10', 'fieldName', 'image', 'fieldValue', $2::text)))
       RETURNING id`,
      [`upload:${red.id}`, `upload:${blue.id}`],
    );
    const [row] = await waitForStatuses(db.pool, [rows[0]!.id], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(sim.counters().callsByEndpoint.upload).toBe(2);
    expect(sim.counters().tasksCreated).toBe(1);
    expect(processor!.counters().recovered).toBe(0);
  });

  it('fails the task for good when RunningHub refuses the file (809 is permanent)', async () => {
    const upload = await storedUpload([9, 9, 9]);
    sim.setOptions({ faults: { upload: { kind: 'code', code: 809 } } });
    await start();
    const [id] = await tasksWithImage(`upload:${upload.id}`, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: '809', attempts: 1 });
    expect(sim.counters().tasksCreated).toBe(0);
  });

  it('runs the shots of a storyboard that POST /api/storyboards stored with an upload reference', async () => {
    const app = await startTestApp(db.pool, { uploadDir: settings.uploadDir });
    try {
      const { id } = (await request(app.server).post('/api/uploads').attach('file', solidPngForTests([70, 80, 90]), 'hero.png').expect(201)).body as { id: string };
      const image = { nodeId: '10', fieldName: 'image', fieldValue: `upload:${id}` };
      const res = await request(app.server)
        .post('/api/storyboards')
        .send({
          name: 'The same hero',
          entityType: 'project',
          entityId: 'p-refs',
          workflowId: '1904136902449209346',
          shots: ['at dawn', 'at noon', 'at dusk'].map((text) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: text }, image] })),
        })
        .expect(201);
      await start();
      const ids = (res.body.details as { id: string }[]).map((d) => d.id);
      const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
      // The simulator refuses (803) an image field naming a file this key did not upload: SUCCESS proves the name.
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(sim.counters().callsByEndpoint.upload).toBe(1);
    } finally {
      await app.close();
    }
  });
});
