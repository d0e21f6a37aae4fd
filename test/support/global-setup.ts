import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/db/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the one PostgreSQL server shared by every test file of this run. */
    postgresUrl: string;
  }
}

let server: RunningPostgres | undefined;
let dataRoot: string | undefined;

/** One real PostgreSQL per test run: `TEST_DATABASE_URL` if given, else an embedded one. */
export async function setup(project: TestProject): Promise<void> {
  // Integration tests run the bundled programs in dist/, so bring them up to date first.
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit', env: { ...process.env, BUILD_QUIET: '1' } });
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return;
  }
  // /tmp is reachable by the postgres OS user when we run as root.
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'storyboard-test-pg-'));
  await chmod(dataRoot, 0o755);
  server = await startEmbeddedPostgres({ dataDir: path.join(dataRoot, 'data'), ephemeral: true });
  project.provide('postgresUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
}
