// `npm start` (scripts/start.mjs) end to end, in a throwaway checkout: the build, our supervisord with
// supervisor/supervisord.dev.conf, the embedded PostgreSQL, the simulator, the api and the processor; a
// task to SUCCESS; Ctrl-C with nothing left behind. Then the same command with an external database and
// RunningHub given by the environment. The first run explains itself: the ready line, a program's cause of
// death, a second start refused; and `npm run db`, which outlives its terminal.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createTestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { createTaskAndWaitForSuccess, ctl, parseStatus, startSimulatorProgram, waitForRunning } from './support/system.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-start-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A checkout without the generated folders: sources linked, the files npm start reads copied. `prebuilt`
 * links the dist/ of this test run too (then start with STORYBOARD_SKIP_BUILD=1), for the tests not about the build.
 */
function makeCheckout(name: string, { prebuilt = false } = {}): string {
  const dir = path.join(scratch, name);
  for (const file of ['package.json', 'tsconfig.json', 'scripts', 'supervisor']) cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
  for (const link of ['src', 'bin', 'node_modules', ...(prebuilt ? ['dist'] : [])]) symlinkSync(path.join(ROOT, link), path.join(dir, link));
  chmodSync(dir, 0o755);
  return dir;
}

/** Processes started from the checkout: cwd inside it or its path on the command line (postgres -D …). */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  config: string;
  apiUrl: string;
}

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGTERM');
      await once(child, 'exit');
    }
  }
});

async function npmStart(dir: string, extraEnv: Record<string, string>, args: string[] = []): Promise<Started> {
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', POLL_INTERVAL: '500ms', ...extraEnv };
  for (const name of ['DATABASE_URL', 'RUNNINGHUB_API_KEY', 'RUNNINGHUB_BASE_URL', 'STORYBOARD_SKIP_BUILD']) {
    if (!(name in extraEnv)) delete env[name];
  }
  // Its own process group, as a terminal runs a foreground job: Ctrl-C is a SIGINT to the whole group.
  const child = spawn(process.execPath, ['scripts/start.mjs', ...args], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text, config: path.join(dir, 'supervisor', 'supervisord.dev.conf'), apiUrl: `http://127.0.0.1:${extraEnv.PORT ?? port}` };
}

/** The output's line that starts with `prefix`, once it is there. */
function lineOf(run: Started, prefix: string, timeoutMs = 120_000): Promise<string> {
  return waitFor(
    `a line "${prefix}…" from npm start`,
    () => {
      if (run.child.exitCode !== null) throw new Error(`npm start ended (${run.child.exitCode}):\n${run.output()}`);
      return run.output().split('\n').find((line) => line.startsWith(prefix));
    },
    { timeoutMs, intervalMs: 100 },
  );
}

describe('npm start', () => {
  it('runs database, simulator, api and processor under supervisord; a task reaches SUCCESS; Ctrl-C leaves nothing', async () => {
    const dir = makeCheckout('embedded');
    const [simulatorPort, databasePort] = [await findFreePort(), await findFreePort()];
    const run = await npmStart(dir, { SIMULATOR_PORT: String(simulatorPort), EMBEDDED_DATABASE_PORT: String(databasePort) });
    const status = () => {
      if (run.child.exitCode !== null) throw new Error(`npm start ended (${run.child.exitCode}):\n${run.output()}`);
      return ctl(['status'], { config: run.config });
    };
    const statuses = await waitForRunning(['database', 'runninghub-simulator', 'api', 'task-processor'], status, 120_000);
    expect([...statuses.keys()].sort()).toEqual(['api', 'database', 'runninghub-simulator', 'task-processor']);

    // One line says where to go once /readyz answers; the URLs in it work.
    const ready = await lineOf(run, 'npm start: ready');
    const api = run.apiUrl;
    expect(ready).toMatch(new RegExp(`^npm start: ready: API ${api}/api/tasks, docs ${api}/docs(, dashboard ${api}/)?; Ctrl-C to stop$`));
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    expect((await fetch(`${api}/docs`)).status).toBe(200);

    // A second start in the same checkout says so and leaves dist/ as it is.
    const built = statSync(path.join(dir, 'dist', 'api.js')).mtimeMs;
    const second = spawnSync(process.execPath, ['scripts/start.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PORT: '1' } });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/^npm start: already running in this checkout \(supervisord pid \d+\): `npm run ctl -- status` to look/);
    expect(second.stdout).toBe('');
    expect(statSync(path.join(dir, 'dist', 'api.js')).mtimeMs).toBe(built);
    expect(parseStatus(status().output).get('api')?.pid).toBe(statuses.get('api')?.pid);

    // The package.json script the README shows.
    const npmCtl = spawnSync('npm', ['run', '--silent', 'ctl', '--', 'status'], { cwd: dir, encoding: 'utf8' });
    expect(parseStatus(npmCtl.stdout).get('api')?.state).toBe('RUNNING');

    const task = await createTaskAndWaitForSuccess(run.apiUrl, 'npm-start');
    expect(task.status).toBe('SUCCESS');
    const logs = readdirSync(path.join(dir, 'logs'));
    expect(logs).toEqual(expect.arrayContaining(['api.out.log', 'task-processor.out.log', 'database.out.log', 'task_processor.log', 'supervisord.log']));

    const postgresRunning = leftovers(dir).some((p) => p.includes('postgres -D'));
    expect(postgresRunning).toBe(true);
    process.kill(-run.child.pid!, 'SIGINT');
    const [code] = (await once(run.child, 'exit')) as [number | null];
    expect(code, run.output()).toBe(0);
    // supervisord waits for every program, PostgreSQL's stop included, before it exits.
    expect(leftovers(dir)).toEqual([]);
    expect(readFileSync(path.join(dir, 'logs', 'database.out.log'), 'utf8')).toContain('PostgreSQL stopped');
  });

  it('uses DATABASE_URL and RUNNINGHUB_API_KEY instead of the embedded database and the simulator', async () => {
    const dir = makeCheckout('external');
    const database = await createTestDatabase('npm_start');
    const simulator = await startSimulatorProgram('external-key');
    try {
      const run = await npmStart(dir, { DATABASE_URL: database.url, RUNNINGHUB_API_KEY: 'external-key', RUNNINGHUB_BASE_URL: simulator.url });
      const status = () => ctl(['status'], { config: run.config });
      await waitForRunning(['api', 'task-processor'], status, 90_000);
      const statuses = parseStatus(status().output);
      expect(statuses.get('database')?.state).toBe('STOPPED');
      expect(statuses.get('runninghub-simulator')?.state).toBe('STOPPED');

      const task = await createTaskAndWaitForSuccess(run.apiUrl, 'npm-start-external');
      const rows = await database.pool.query<{ status: string }>('SELECT status FROM ai_tasks WHERE id = $1', [task.id]);
      expect(rows.rows[0]?.status).toBe('SUCCESS');

      run.child.kill('SIGTERM');
      const [code] = (await once(run.child, 'exit')) as [number | null];
      expect(code, run.output()).toBe(0);
      await waitFor('no process of the checkout left', () => leftovers(dir).length === 0, { timeoutMs: 5_000 });
    } finally {
      await simulator.stop();
      await database.drop();
    }
  });

  it('shows why a program cannot start: the end of its stderr log, at its first exit', async () => {
    const dir = makeCheckout('port-taken', { prebuilt: true });
    const database = await createTestDatabase('npm_start_port');
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const run = await npmStart(dir, {
        PORT: String(port),
        DATABASE_URL: database.url,
        RUNNINGHUB_API_KEY: 'unused',
        RUNNINGHUB_BASE_URL: 'http://127.0.0.1:9',
        STORYBOARD_SKIP_BUILD: '1',
      });
      await lineOf(run, 'npm start: api exited; the end of logs/api.err.log:', 90_000);
      await waitFor('the cause under it', () => run.output().includes('EADDRINUSE'), { timeoutMs: 10_000 });
      const cause = run.output().slice(run.output().indexOf('npm start: api exited'));
      expect(cause).toMatch(/\n {4}api: cannot start: listen EADDRINUSE[^\n]*127\.0\.0\.1:\d+/);
      // Retries that fail the same way do not repeat it.
      await waitFor('a second exit of the api', () => run.output().split('exited: api (').length > 2, { timeoutMs: 60_000 });
      expect(run.output().split('npm start: api exited').length).toBe(2);
      expect(run.output()).not.toContain('npm start: ready');

      run.child.kill('SIGTERM');
      const [code] = (await once(run.child, 'exit')) as [number | null];
      expect(code, run.output()).toBe(0);
    } finally {
      taken.close();
      await database.drop();
    }
  });
});

describe('npm run db', () => {
  it('runs only PostgreSQL and the simulator, says where they are, and outlives its terminal (SIGHUP)', async () => {
    const dir = makeCheckout('db', { prebuilt: true });
    const [simulatorPort, databasePort] = [await findFreePort(), await findFreePort()];
    expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).scripts.db).toBe('node scripts/start.mjs --db');
    const run = await npmStart(
      dir,
      // npm run db is the embedded parts whatever the environment says.
      { SIMULATOR_PORT: String(simulatorPort), EMBEDDED_DATABASE_PORT: String(databasePort), STORYBOARD_SKIP_BUILD: '1', DATABASE_URL: 'postgresql://elsewhere/x' },
      ['--db'],
    );
    const databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${databasePort}/postgres`;
    const ready = await lineOf(run, 'npm run db: ready');
    expect(ready).toBe(`npm run db: ready: PostgreSQL ${databaseUrl}, RunningHub simulator http://127.0.0.1:${simulatorPort}; Ctrl-C or \`npm run ctl -- shutdown\` to stop`);
    const status = () => parseStatus(ctl(['status'], { config: run.config }).output);
    const before = status();
    expect(before.get('database')?.state).toBe('RUNNING');
    expect(before.get('runninghub-simulator')?.state).toBe('RUNNING');
    expect(before.get('api')?.state).toBe('STOPPED');
    expect(before.get('task-processor')?.state).toBe('STOPPED');
    // The simulator answers HTTP (any status: the request is not a RunningHub call).
    expect((await fetch(`http://127.0.0.1:${simulatorPort}/`)).status).toBeGreaterThanOrEqual(200);

    const query = async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one;
      } finally {
        await client.end();
      }
    };
    expect(await query()).toBe(1);

    // The terminal closes: SIGHUP to its foreground process group.
    process.kill(-run.child.pid!, 'SIGHUP');
    await lineOf(run, 'npm run db: SIGHUP ignored');
    expect(await query()).toBe(1);
    const after = status().get('database');
    expect(after?.state).toBe('RUNNING');
    expect(after?.pid).toBe(before.get('database')?.pid);
    expect(run.child.exitCode).toBeNull();

    process.kill(-run.child.pid!, 'SIGINT');
    const [code] = (await once(run.child, 'exit')) as [number | null];
    expect(code, run.output()).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  });
});
