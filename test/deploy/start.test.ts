// `npm start` (scripts/start.mjs) end to end, in a throwaway checkout: the build, our supervisord with
// supervisor/supervisord.dev.conf, the embedded PostgreSQL, the simulator, the api and the processor; a
// task to SUCCESS; Ctrl-C with nothing left behind. Then the same command with an external database and
// RunningHub given by the environment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createTestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { createTaskAndWaitForSuccess, ctl, parseStatus, startSimulatorProgram, waitForRunning } from './support/system.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-start-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A checkout without the generated folders: sources linked, the files npm start reads copied. */
function makeCheckout(name: string): string {
  const dir = path.join(scratch, name);
  for (const file of ['package.json', 'tsconfig.json', 'scripts', 'supervisor']) cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
  for (const link of ['src', 'bin', 'node_modules']) symlinkSync(path.join(ROOT, link), path.join(dir, link));
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

async function npmStart(dir: string, extraEnv: Record<string, string>): Promise<Started> {
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', POLL_INTERVAL: '500ms', ...extraEnv };
  for (const name of ['DATABASE_URL', 'RUNNINGHUB_API_KEY', 'RUNNINGHUB_BASE_URL', 'STORYBOARD_SKIP_BUILD']) {
    if (!(name in extraEnv)) delete env[name];
  }
  // Its own process group, as a terminal runs a foreground job: Ctrl-C is a SIGINT to the whole group.
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text, config: path.join(dir, 'supervisor', 'supervisord.dev.conf'), apiUrl: `http://127.0.0.1:${port}` };
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
    const simulator = await startSimulatorProgram();
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
});
