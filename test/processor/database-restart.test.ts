// A PostgreSQL of its own (it gets stopped mid-run), and the real processor program.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, runMigrations, startEmbeddedPostgres, type Pool, type RunningPostgres } from '../../src/db/index.js';
import type { RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { waitFor } from '../support/wait.js';
import {
  ACCOUNT,
  eventsIn,
  getAccountUsage,
  insertTasks,
  spawnProcessor,
  startTestSimulator,
  tasksById,
  testSettings,
  waitForStatuses,
  type ProcessorProgram,
} from './harness.js';

describe('database restart mid-run', () => {
  let root: string;
  let server: RunningPostgres;
  let pool: Pool;
  let sim: RunningSimulator;
  let program: ProcessorProgram | undefined;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'processor-pg-restart-'));
    // PostgreSQL runs as the postgres user when we are root: it must be able to enter the folder.
    await chmod(root, 0o755);
    server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data'), ephemeral: true });
    pool = createPool({ connectionString: server.url, applicationName: 'restart-test', max: 4 });
    await runMigrations(pool);
    sim = await startTestSimulator({ concurrency: 10, runningMs: [100, 200] });
  }, 120_000);
  afterAll(async () => {
    await program?.cleanup();
    await sim?.stop();
    await pool?.end();
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('keeps running through a restart and finishes every task', async () => {
    const ids = await insertTasks(pool, 24);
    program = await spawnProcessor(server.url, sim.url, testSettings({ processorId: 'survivor', claimLeaseMs: 4_000, maxConsecutiveErrors: 2 }));
    await waitFor('some tasks done', async () => (await tasksById(pool, ids)).filter((r) => r.status === 'SUCCESS').length >= 4, {
      timeoutMs: 30_000,
    });

    await server.stop();
    // Down long enough for the self-healing to re-create the pool and client (after 2 errors here).
    await waitFor('the processor to re-create its pool', () => eventsIn(program!.output(), 'processor.self_heal').length > 0, {
      timeoutMs: 20_000,
    });
    expect(program.child.exitCode).toBeNull();
    server = await startEmbeddedPostgres({ dataDir: server.dataDir, port: server.port, ephemeral: true });

    const rows = await waitForStatuses(pool, ids, ['SUCCESS', 'FAILED'], 60_000);
    expect(rows.filter((r) => r.status === 'SUCCESS')).toHaveLength(24);
    // Same process all along: it healed itself instead of crashing into a supervisord restart.
    expect(program.child.exitCode).toBeNull();
    expect(eventsIn(program.output(), 'processor.listener_lost').length).toBeGreaterThan(0);

    const counters = sim.counters();
    expect(Object.keys(counters.createsByFingerprint)).toHaveLength(24);
    expect(await getAccountUsage(pool, ACCOUNT)).toMatchObject({ running: 0, holders: 0 });
    console.log(`database restart: ${counters.duplicateCreates} duplicate create(s), ${eventsIn(program.output(), 'processor.error').length} processor errors logged`);
  });

  it('wakes on new work through the LISTEN connection it re-opened after the restart', async () => {
    await program?.cleanup();
    // Polls every 60 s: within the 15 s below only a notification can make it claim the new task.
    const settings = testSettings({ processorId: 'listener', pollIntervalMs: 60_000 });
    program = await spawnProcessor(server.url, sim.url, settings);
    const listening = async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [`task-processor-listen ${settings.processorId}`],
      );
      return rows[0]!.n === 1;
    };
    await waitFor('the processor to LISTEN', listening, { timeoutMs: 15_000 });

    await server.stop();
    await waitFor('the LISTEN connection to be lost', () => eventsIn(program!.output(), 'processor.listener_lost').length > 0, {
      timeoutMs: 15_000,
    });
    server = await startEmbeddedPostgres({ dataDir: server.dataDir, port: server.port, ephemeral: true });
    await waitFor('the processor to LISTEN again', listening, { timeoutMs: 15_000 });

    const [late] = await insertTasks(pool, 1);
    await waitFor(
      'the new task to be submitted',
      async () => (await tasksById(pool, [late!]))[0]?.runninghub_task_id ?? undefined,
      { timeoutMs: 15_000 },
    );
    expect(program.child.exitCode).toBeNull();
  });
});
