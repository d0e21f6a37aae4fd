// Shared by the benchmarks that run the real programs (dist/api.js, dist/task-processor.js): a fresh build
// and database to run them on, start them, stop them, and wait for a condition with a deadline.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, runMigrations, startEmbeddedPostgres, type Pool, type RunningPostgres } from '../src/db/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface BenchDatabase {
  /** A temporary folder for the bench's files (the database's data is in it; removed by stop). */
  dataRoot: string;
  pg: RunningPostgres;
  /** A migrated pool on it. */
  pool: Pool;
  stop: () => Promise<void>;
}

/** dist/ built as the programs run it, and an ephemeral embedded PostgreSQL in a temporary folder, migrated. */
export async function startBenchDatabase(name: string): Promise<BenchDatabase> {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BUILD_QUIET: '1' } });
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), `bench-${name}-`));
  // As root PostgreSQL runs as the "postgres" user, which must be able to enter the folder.
  await chmod(dataRoot, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataRoot, 'data'), ephemeral: true });
  const pool = createPool({ connectionString: pg.url, applicationName: `bench-${name}`, max: 4 });
  const stop = async (): Promise<void> => {
    await pool.end();
    await pg.stop();
    await rm(dataRoot, { recursive: true, force: true });
  };
  try {
    await runMigrations(pool);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dataRoot, pg, pool, stop };
}

/** Every program started here, so a bench's `finally` can stop (or kill) what is left. */
export const children: ChildProcess[] = [];

/** `dist`: another build's folder (bench:processor's BENCH_BEFORE_DIST compares two builds in one run). */
export function startProgram(name: 'api' | 'task-processor', env: Record<string, string>, dist = path.join(ROOT, 'dist')): ChildProcess {
  const child = spawn(process.execPath, [path.join(dist, `${name}.js`)], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

export async function stopProgram(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 300_000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
