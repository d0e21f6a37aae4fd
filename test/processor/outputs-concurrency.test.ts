// Kept outputs downloaded side by side (OUTPUT_KEEP_CONCURRENCY): the simulator's output URLs point at a
// gate (a real HTTP server on loopback, the simulator's publicUrl) that forwards to the simulator and
// holds the first requests until `limit` of them are in flight at once. Sequential downloads would never
// open it; a processor going past the limit would show a higher peak.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskProcessor } from '../../src/processor/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { outputFilePath } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { ACCOUNT, getAccountUsage, inProcessProcessor, insertTasks, resetTestState, startTestSimulator, testSettings, waitForStatuses } from './harness.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const SHIPPED_WORKFLOW = '1904136902449209346'; // what insertTasks (test/support/ai-tasks.ts) submits

interface KeptRow {
  fileUrl: string;
  size: number;
  sha256: string;
}

/** Forwards GET /files/… to the simulator; holds requests until `openAt` are in flight; counts the peak. */
class FileGate {
  target = '';
  openAt = Infinity;
  inFlight = 0;
  peak = 0;
  requests: string[] = [];
  /** Paths answered with half their bytes, then a dropped connection. */
  breakPath: (path: string) => boolean = () => false;
  private held: (() => void)[] = [];
  private readonly server: Server = createServer((req, res) => {
    void this.handle(req, res);
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(openAt: number): void {
    this.openAt = openAt;
    this.inFlight = 0;
    this.peak = 0;
    this.requests = [];
    this.breakPath = () => false;
  }

  async close(): Promise<void> {
    for (const release of this.held.splice(0)) release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const urlPath = req.url ?? '/';
    this.requests.push(urlPath);
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    res.on('close', () => this.inFlight--);
    if (this.inFlight >= this.openAt) {
      this.openAt = 0; // open for good: everything held goes on, later requests pass at once
      for (const release of this.held.splice(0)) release();
    } else if (this.openAt > 0) {
      await new Promise<void>((resolve) => this.held.push(resolve));
    }
    const upstream = await fetch(`${this.target}${urlPath}`);
    const body = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'content-length': body.length });
    if (this.breakPath(urlPath)) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  }
}

describe('kept outputs side by side (OUTPUT_KEEP_CONCURRENCY)', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  const gate = new FileGate();
  let processor: TaskProcessor | undefined;
  const settings = testSettings();

  beforeAll(async () => {
    db = await createTestDatabase('processor_outputs_concurrency');
    const gateUrl = await gate.listen();
    sim = await startTestSimulator({ publicUrl: gateUrl });
    gate.target = sim.url;
  });
  afterAll(async () => {
    await gate.close();
    await sim.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await resetTestState(db.pool, sim);
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

  it('downloads up to the limit at once, outputs of one task and of several, every checksum right', async () => {
    // Two tasks of three outputs each: six downloads, three at once at most.
    sim.setOptions({ outputBytes: 200_000, workflows: { [SHIPPED_WORKFLOW]: { nodes: { '6': ['text'] }, outputs: [{ nodeId: '9', fileType: 'png', count: 3 }] } } });
    gate.reset(3);
    await start({ outputKeepConcurrency: 3 });
    const ids = await insertTasks(db.pool, 2);
    const rows = await waitForStatuses(db.pool, ids, ['SUCCESS', 'FAILED']);
    // The gate opened (three downloads were under way together) and never saw a fourth at once.
    expect(gate.peak).toBe(3);
    expect(gate.requests).toHaveLength(6);
    for (const row of rows) {
      expect(row.status).toBe('SUCCESS');
      const outputs = row.outputs as unknown as KeptRow[];
      expect(outputs).toHaveLength(3);
      for (const [n, output] of outputs.entries()) {
        const served = new Uint8Array(await (await fetch(output.fileUrl.replace(/^http:\/\/[^/]+/, sim.url))).arrayBuffer());
        expect(output).toMatchObject({ size: 200_000, sha256: sha256(served) });
        expect(sha256(await readFile(outputFilePath(settings.outputDir, row.id, n)))).toBe(output.sha256);
      }
      // Nothing but the three kept files in the task's folder (no temporary file left over).
      expect((await readdir(path.dirname(outputFilePath(settings.outputDir, row.id, 0)))).sort()).toEqual(['0', '1', '2']);
    }
  });

  it('one output that cannot be kept fails the task (OUTPUTS_NOT_KEPT, naming it) and leaves no file of the task behind', async () => {
    sim.setOptions({ outputBytes: 150_000, workflows: { [SHIPPED_WORKFLOW]: { nodes: { '6': ['text'] }, outputs: [{ nodeId: '9', fileType: 'png', count: 3 }] } } });
    gate.reset(3);
    // The second output of every task breaks off half-way, every time.
    gate.breakPath = (urlPath) => sim.tasks().some((t) => t.outputs[1] !== undefined && new URL(t.outputs[1]).pathname === urlPath);
    await start({ outputKeepConcurrency: 3, outputKeepAttempts: 2 });
    const [id] = await insertTasks(db.pool, 1);
    const [row] = await waitForStatuses(db.pool, [id!], ['SUCCESS', 'FAILED']);
    expect(row).toMatchObject({ status: 'FAILED', error_code: 'OUTPUTS_NOT_KEPT' });
    expect(row!.error_message).toMatch(/^output 1 \(http:.*\): the body broke off: .*; 2 attempts$/);
    // All three were downloaded at once, the broken one twice; the two good ones were kept and then removed.
    expect(gate.peak).toBe(3);
    expect(gate.requests.length).toBe(4);
    // Removed by the keeper right after it recorded the failure (a FAILED task's files are served by nobody).
    const taskDir = path.dirname(outputFilePath(settings.outputDir, id!, 0));
    await waitFor('the failed task\'s folder to be empty', async () => (await readdir(taskDir).catch(() => [])).length === 0);
    expect((row!.outputs as unknown as KeptRow[]).map((o) => o.fileUrl)).toEqual(sim.tasks()[0]!.outputs);
  });
});
