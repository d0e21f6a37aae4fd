// 300 tasks through two processors while the simulator misbehaves in turn: HTTP 5xx, connections
// dropped before and after handling, replies slower than the client's timeout, 421 storms, malformed
// bodies, the wallet running dry mid-run, output downloads failing (HTTP errors, dropped connections,
// bodies cut short with and without a Content-Length, bodies that stall) and reference-image uploads
// failing. On both API generations: every task ends SUCCESS or FAILED with a named code, none is lost,
// the account's limit holds, duplicates come only from creates whose reply was lost (the claim window:
// RunningHub did create the task, we could not know), every kept output is byte for byte what the
// simulator served, and OUTPUT_DIR holds exactly the kept outputs (no partial or orphaned file).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSystemStats, insertUpload, type Pool } from '../../src/db/index.js';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { SimulatorFaultInput, SimulatorOptionsInput, RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { outputFilePath, uploadFilePath } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { solidPngForTests } from '../support/images.js';
import { waitFor } from '../support/wait.js';
import { ACCOUNT, API_KEY, getAccountUsage, inProcessProcessor, startTestSimulator, TEST_STORE_DIR, testSettings, waitForStatuses } from './harness.js';

const TASKS = 300;
const WORKFLOW_ID = '1904136902449209346';
const OUTPUTS_PER_TASK = 2;
/** Every 5th task names a reference image, one of IMAGES, so each image is used by 3 tasks far apart. */
const IMAGE_EVERY = 5;
const IMAGES = 20;
/** A stalled download fails after this long without a byte (short, so stalls cost the run little). */
const DOWNLOAD_IDLE_TIMEOUT_MS = 1_000;

type FaultPlan = {
  create?: SimulatorFaultInput;
  follow?: SimulatorFaultInput;
  /** GET of an output file (the simulator's /files/…): what keeping the outputs meets. */
  files?: SimulatorFaultInput;
  /** The reference-image upload (v1 or v2 form, as the client speaks). */
  upload?: SimulatorFaultInput;
  balanceRunsOut?: true;
  orphans?: number;
};

/** One phase per ~20 creates; `orphans` = creates that took effect although we saw a failure. */
const PLAN: FaultPlan[] = [
  {
    create: { kind: 'http', status: 503, times: 3 },
    follow: { kind: 'http', status: 500, times: 5 },
    files: { kind: 'http', status: 503, times: 4 },
    // The first task with an image meets it: its upload is retried like a create.
    upload: { kind: 'http', status: 503, times: 1 },
  },
  { create: { kind: 'code', code: 421, times: 15 }, follow: { kind: 'malformed', times: 3 }, files: { kind: 'drop', afterHandling: false, times: 3 }, upload: { kind: 'malformed', times: 1 } },
  {
    create: { kind: 'drop', afterHandling: false, times: 2 },
    follow: { kind: 'drop', afterHandling: false, times: 3 },
    // Half the body, then the connection drops: fewer bytes than Content-Length.
    files: { kind: 'truncate', times: 3 },
    upload: { kind: 'drop', afterHandling: false, times: 1 },
  },
  {
    create: { kind: 'drop', afterHandling: true, times: 2 },
    follow: { kind: 'delay', ms: 300, times: 5 },
    // Chunked, no Content-Length: only the missing last chunk shows the body is incomplete.
    files: { kind: 'truncate', chunked: true, times: 3 },
    // RunningHub stored the image, we never heard: the next attempt uploads it again.
    upload: { kind: 'drop', afterHandling: true, times: 1 },
    orphans: 2,
  },
  {
    create: { kind: 'malformed', times: 2 },
    follow: { kind: 'drop', afterHandling: true, times: 3 },
    // Half the body, then silence on an open connection: the download's idle timeout ends it.
    files: { kind: 'stall', times: 2 },
    upload: { kind: 'code', code: 808, times: 1 },
  },
  { balanceRunsOut: true, files: { kind: 'delay', ms: 300, times: 5 } },
  // Slower than the client's 2 s timeout: the create happened, its reply never arrived in time.
  { create: { kind: 'delay', ms: 2_500, times: 1 }, files: { kind: 'drop', afterHandling: true, times: 3 }, orphans: 1 },
  // An output URL that answers 404 (RunningHub's links expire): not retried, the task ends OUTPUTS_NOT_KEPT.
  { create: { kind: 'code', code: 421, times: 30 }, follow: { kind: 'http', status: 502, times: 4 }, files: { kind: 'http', status: 404, times: 1 } },
  { create: { kind: 'http', status: 500, times: 2 }, files: { kind: 'truncate', times: 4 } },
];

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface KeptRow {
  fileUrl: string;
  url: string;
  size: number;
  contentType: string;
  sha256: string;
}

/** Reference images as POST /api/uploads leaves them: a row and the file in the upload store. */
async function storeImages(pool: Pool, uploadDir: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const png = solidPngForTests([i * 10, 255 - i * 10, 77]);
    const hash = sha256(png);
    const file = uploadFilePath(uploadDir, hash);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, png);
    ids.push((await insertUpload(pool, { sha256: hash, size: png.length, contentType: 'image/png' })).id);
  }
  return ids;
}

/** The TASKS tasks, every IMAGE_EVERY-th with a LoadImage entry naming one of the uploads. */
async function insertFaultTasks(pool: Pool, uploadIds: string[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, max_attempts, created_at)
     SELECT 'shot', 'faults-' || g, 'Shot ' || g, $4,
            jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'shot ' || g))
              || CASE WHEN g % $2 = 1
                      THEN jsonb_build_array(jsonb_build_object('nodeId', '10', 'fieldName', 'image',
                             'fieldValue', 'upload:' || ($3::text[])[((g - 1) / $2) % cardinality($3::text[]) + 1]))
                      ELSE '[]'::jsonb END,
            6, clock_timestamp()
       FROM generate_series(1, $1) g RETURNING id`,
    [TASKS, IMAGE_EVERY, uploadIds, WORKFLOW_ID],
  );
  return rows.map((r) => r.id);
}

/** Every file under dir, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe.each(['v1', 'v2'] as const)('faults, %s', (api) => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  const processors: TaskProcessor[] = [];
  const outputDir = path.join(TEST_STORE_DIR, `faults-${api}`, 'outputs');
  const uploadDir = path.join(TEST_STORE_DIR, `faults-${api}`, 'uploads');

  beforeAll(async () => {
    db = await createTestDatabase(`processor_faults_${api}`);
    // RunningHub would take 10: the limit of 3 must come from the processors. 5 % of runs fail there (805).
    // An image field must name a file this key uploaded (803 otherwise): SUCCESS proves the upload's name.
    sim = await startTestSimulator({
      concurrency: 10,
      failureRate: 0.05,
      requireUploadedImages: true,
      // The shipped storyboard workflow's nodes, with two images out (the shipped one makes one).
      workflows: { [WORKFLOW_ID]: { nodes: { '6': ['text'], '10': ['image'] }, outputs: [{ nodeId: '9', fileType: 'png', count: OUTPUTS_PER_TASK }] } },
    } satisfies Partial<SimulatorOptionsInput>);
  });
  afterAll(async () => {
    await Promise.all(processors.map((p) => p.stop()));
    await sim.stop();
    await db.drop();
  });

  it(`${TASKS} tasks under injected faults: all end with a named code, none lost, ≤ 3 at RunningHub, duplicates only from lost create replies, kept outputs as served`, async () => {
    const createEndpoint = api === 'v1' ? 'create' : 'v2RunWorkflow';
    const followEndpoint = api === 'v1' ? 'outputs' : 'v2Query';
    const uploadEndpoint = api === 'v1' ? 'upload' : 'uploadV2';
    for (const id of ['a', 'b']) {
      const settings = testSettings({ processorId: `faults-${api}-${id}`, checkIntervalMs: 100, outputDir, uploadDir, outputDownloadIdleTimeoutMs: DOWNLOAD_IDLE_TIMEOUT_MS });
      const processor = inProcessProcessor(db.url, sim.url, settings, api);
      processors.push(processor);
      await processor.start();
    }
    const ids = await insertFaultTasks(db.pool, await storeImages(db.pool, uploadDir));

    let orphans = 0;
    let maxAccountRunning = 0;
    for (const [phase, plan] of PLAN.entries()) {
      const before = sim.counters().tasksCreated;
      sim.setOptions({
        faults: {
          ...(plan.create ? { [createEndpoint]: plan.create } : {}),
          ...(plan.follow ? { [followEndpoint]: plan.follow } : {}),
          ...(plan.files ? { files: plan.files } : {}),
          ...(plan.upload ? { [uploadEndpoint]: plan.upload } : {}),
        },
      });
      orphans += plan.orphans ?? 0;
      if (plan.balanceRunsOut) {
        sim.setBalance(API_KEY, 0);
        await waitFor('the account to pause', async () => (await getSystemStats(db.pool)).accountPauses[0]);
        sim.setBalance(API_KEY, 1_000_000);
        await waitFor('the account to resume', async () => ((await getSystemStats(db.pool)).accountPauses.length === 0 ? true : undefined));
      }
      // Event-driven phases: the next fault set once ~20 more tasks were created at RunningHub.
      await waitFor(`phase ${phase}: 20 more creates`, async () => {
        const usage = await getAccountUsage(db.pool, ACCOUNT);
        maxAccountRunning = Math.max(maxAccountRunning, usage?.running ?? 0);
        return sim.counters().tasksCreated >= Math.min(before + 20, TASKS) ? true : undefined;
      }, { timeoutMs: 60_000 });
    }
    sim.setOptions({ faults: {} });

    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED'], 180_000);
    expect(rows).toHaveLength(TASKS);
    const failed = rows.filter((r) => r.status === 'FAILED');
    for (const row of failed) expect(row.error_code, `task ${row.id}`).toMatch(/^[A-Z0-9_]+$/);
    // The 404 is not retried: at least that task's outputs could not be kept, and it says so.
    expect(failed.filter((r) => r.error_code === 'OUTPUTS_NOT_KEPT').length).toBeGreaterThanOrEqual(1);
    // Most tasks succeed: only RunningHub's own 5 % failures (805), outputs not kept and attempts used up end FAILED.
    const succeeded = rows.filter((r) => r.status === 'SUCCESS');
    expect(succeeded.length).toBeGreaterThan(TASKS * 0.8);

    // Every kept output is what the simulator served for it: the recorded SHA-256 and size, and the file on disk.
    const expectedFiles: string[] = [];
    for (const row of succeeded) {
      const outputs = row.outputs as unknown as KeptRow[];
      expect(outputs, `task ${row.id}`).toHaveLength(OUTPUTS_PER_TASK);
      for (const [n, kept] of outputs.entries()) {
        const served = sim.servedOutput(kept.fileUrl);
        expect(served, `task ${row.id} output ${n}: ${kept.fileUrl}`).toBeDefined();
        expect(served!.servedInFull, `task ${row.id} output ${n} went out whole`).toBeGreaterThanOrEqual(1);
        expect({ sha256: kept.sha256, size: kept.size, contentType: kept.contentType }, `task ${row.id} output ${n}`).toEqual({
          sha256: served!.sha256,
          size: served!.size,
          contentType: 'image/png',
        });
        expect(sha256(await readFile(outputFilePath(outputDir, row.id, n))), `task ${row.id} output ${n} on disk`).toBe(served!.sha256);
        expectedFiles.push(path.relative(outputDir, outputFilePath(outputDir, row.id, n)));
      }
    }
    // OUTPUT_DIR holds exactly the outputs of SUCCESS tasks: no partial (.part-…) file, nothing of a FAILED task.
    expect(await filesUnder(outputDir)).toEqual(expectedFiles.sort());

    const counters = sim.counters();
    expect(maxAccountRunning).toBeLessThanOrEqual(3);
    // At RunningHub: our 3, plus at most the orphans of lost create replies while they still ran.
    expect(counters.maxInFlightByKey[API_KEY] ?? 0).toBeLessThanOrEqual(3 + orphans);
    expect(counters.createsRefused421).toBe(0);
    expect(counters.duplicateCreates).toBeLessThanOrEqual(orphans);
    expect(counters.faultsInjected).toBeGreaterThan(50);
    // Upload faults were met (more upload calls than images) and downloads were retried (more GETs than files).
    expect(counters.callsByEndpoint[uploadEndpoint] ?? 0).toBeGreaterThan(IMAGES);
    expect(counters.callsByEndpoint.files ?? 0).toBeGreaterThan(succeeded.length * OUTPUTS_PER_TASK);
    expect(await getAccountUsage(db.pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
  });
});
