// The container without Docker: the built dist/ under the production supervisor/supervisord.conf, with tini as
// PID 1 of a new PID namespace (as in the image), against a real PostgreSQL and the RunningHub simulator.
// Only the file locations of the config are moved into a temp folder (the socket, /var/log/supervisor, /app);
// every program setting is the production one.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';
import { descendants } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { readRepoFile, requireCommand } from './support/files.js';
import {
  createTaskAndWaitForSuccess,
  ctl,
  parseStatus,
  startSimulatorProgram,
  supervisordCommand,
  waitForRunning,
  type RunningProgram,
} from './support/system.js';

const isRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-rehearsal-'));
chmodSync(scratch, 0o755);
const logDir = path.join(scratch, 'log'); // /var/log/supervisor
const appLogs = path.join(scratch, 'app-logs'); // /app/logs
const appData = path.join(scratch, 'app-data'); // /app/data (the image's OUTPUT_DIR and UPLOAD_DIR)
const runDir = path.join(scratch, 'run'); // /var/run
const config = path.join(scratch, 'supervisord.conf');

/** The production file with its locations moved; `user=app` becomes `nobody` (root) or goes (not root). */
function renderConfig(): string {
  const text = readRepoFile('supervisor/supervisord.conf')
    .replaceAll('/var/run/', `${runDir}/`)
    .replaceAll('/var/log/supervisor', logDir)
    .replaceAll('/app/logs', appLogs)
    .replaceAll('/app/', `${ROOT}`)
    .replace(/^directory=\/app$/gm, `directory=${ROOT.replace(/\/$/, '')}`)
    .replace(/^user=root$/m, isRoot ? 'user=root' : '')
    .replace(/^user=app$/gm, isRoot ? 'user=nobody' : '');
  const settings = text.split('\n').filter((line) => !line.startsWith(';'));
  if (settings.some((line) => /(^|[=\s"])\/(app|var\/run|var\/log)\b/.test(line))) throw new Error(`a production path is left in the rehearsal config:\n${text}`);
  return text;
}

let database: TestDatabase;
let simulator: RunningProgram;
let init: ChildProcess; // unshare → tini (PID 1) → supervisord (PID 2)
let initOutput = '';
let apiUrl = '';
const status = () => ctl(['status'], { config });

beforeAll(async () => {
  const unshare = requireCommand('unshare', 'util-linux');
  const tini = requireCommand('tini', 'tini');
  for (const dir of [logDir, appLogs, appData, runDir]) mkdirSync(dir, { recursive: true });
  // The programs run as an unprivileged user and write the processor's log and the kept outputs here, like
  // /app/logs and /app/data in the image.
  chmodSync(appLogs, 0o777);
  chmodSync(appData, 0o777);
  writeFileSync(config, renderConfig());
  database = await createTestDatabase('rehearsal');
  simulator = await startSimulatorProgram('rehearsal-key');
  const port = await findFreePort();
  apiUrl = `http://127.0.0.1:${port}`;
  init = spawn(unshare, ['--pid', '--fork', '--mount-proc', '--kill-child', tini, '--', ...supervisordCommand(), '-n', '-c', config], {
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      DATABASE_URL: database.url,
      RUNNINGHUB_BASE_URL: simulator.url,
      RUNNINGHUB_API_KEY: 'rehearsal-key',
      PORT: String(port),
      HOST: '127.0.0.1',
      POLL_INTERVAL: '500ms',
      // The image's ENV (docker/Dockerfile).
      OUTPUT_DIR: path.join(appData, 'outputs'),
      UPLOAD_DIR: path.join(appData, 'uploads'),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  init.stdout!.on('data', (chunk: Buffer) => (initOutput += chunk.toString()));
  init.stderr!.on('data', (chunk: Buffer) => (initOutput += chunk.toString()));
  await waitFor('the control socket', () => {
    if (init.exitCode !== null) throw new Error(`supervisord ended (${init.exitCode}):\n${initOutput}`);
    return existsSync(path.join(runDir, 'supervisor.sock'));
  });
}, 120_000);

afterAll(async () => {
  if (init && init.exitCode === null && init.signalCode === null) {
    // --kill-child: killing unshare takes the whole namespace down.
    init.kill('SIGKILL');
    await once(init, 'exit');
  }
  await simulator?.stop();
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Host pids: unshare's child is tini (the namespace's PID 1), tini's child is supervisord. */
function tree() {
  const below = descendants(init.pid!);
  const find = (fragment: string) => below.find((p) => p.cmdline.includes(fragment));
  return { tini: below[0], supervisord: find('-n -c'), api: find('dist/api.js'), processor: find('dist/task-processor.js') };
}

describe('container rehearsal: tini → supervisord with supervisor/supervisord.conf', () => {
  it('supervisorctl status shows api and task-processor RUNNING under PID 1 = tini', async () => {
    // The programs, and the event listeners of supervisor/supervisord.conf (log forwarder, memmon, crash notice).
    const everything = ['api', 'crash-notice', 'log-forwarder', 'memmon', 'task-processor'];
    const statuses = await waitForRunning(everything, status, 90_000);
    expect([...statuses.keys()]).toEqual(everything);
    for (const s of statuses.values()) expect(s.description).toMatch(/^pid \d+, uptime \d+:\d\d:\d\d$/);
    const { tini } = tree();
    expect(tini?.cmdline).toMatch(/tini -- /);
    expect(readFileSync(`/proc/${tini!.pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    // The programs run as the unprivileged user, supervisord as root.
    const { api, supervisord } = tree();
    if (isRoot) {
      expect(readFileSync(`/proc/${api!.pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m);
      expect(readFileSync(`/proc/${supervisord!.pid}/status`, 'utf8')).toMatch(/^Uid:\s+0\s/m);
    }
  });

  it('writes the child logs and the processor log where the guide says', async () => {
    for (const name of ['api', 'task-processor']) {
      for (const stream of ['out', 'err']) expect(existsSync(path.join(logDir, `${name}.${stream}.log`)), `${name}.${stream}.log`).toBe(true);
    }
    await waitFor('logs/task_processor.log', () => existsSync(path.join(appLogs, 'task_processor.log')));
    expect(existsSync(path.join(logDir, 'supervisord.log'))).toBe(true);
  });

  it('takes a task to SUCCESS through the api and the processor', async () => {
    const task = await createTaskAndWaitForSuccess(apiUrl, 'rehearsal-1');
    expect(task.status).toBe('SUCCESS');
    const rows = await database.pool.query<{ status: string }>('SELECT status FROM ai_tasks WHERE id = $1', [task.id]);
    expect(rows.rows[0]?.status).toBe('SUCCESS');
  });

  it('restarts the task processor on `supervisorctl restart task-processor`', async () => {
    const before = parseStatus(status().output).get('task-processor')!;
    const restart = ctl(['restart', 'task-processor'], { config });
    expect(restart.output).toBe('task-processor: stopped\ntask-processor: started\n');
    expect(restart.status).toBe(0);
    const after = (await waitForRunning(['task-processor'], status)).get('task-processor')!;
    expect(after.pid).not.toBe(before.pid);
  });

  it('heals a kill -9 of the api process', async () => {
    await waitForRunning(['api'], status);
    const killed = tree().api!;
    process.kill(killed.pid, 'SIGKILL');
    await waitFor('supervisord to see the api exit', () => tree().api?.pid !== killed.pid, { timeoutMs: 30_000 });
    // startsecs=5: RUNNING again once the new process has stayed up that long.
    const healed = (await waitForRunning(['api'], status, 60_000)).get('api')!;
    expect(healed.pid).toBeDefined();
    expect(tree().api!.pid).not.toBe(killed.pid);
    const log = readFileSync(path.join(logDir, 'supervisord.log'), 'utf8');
    expect(log).toMatch(/exited: api \(terminated by SIGKILL/);
    const health = await waitFor('the new api to answer /healthz', async () => (await fetch(`${apiUrl}/healthz`)).ok);
    expect(health).toBe(true);
  });

  it('stops everything on SIGTERM to PID 1 within stopwaitsecs, exit 0, no process left', async () => {
    const before = tree();
    const pids = [before.tini, before.supervisord, before.api, before.processor].map((p) => p!.pid);
    const started = Date.now();
    process.kill(before.tini!.pid, 'SIGTERM');
    const [code] = (await once(init, 'exit')) as [number | null];
    const seconds = (Date.now() - started) / 1000;
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(30);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} is gone`).toBe(false);
    const log = readFileSync(path.join(logDir, 'supervisord.log'), 'utf8');
    // Each program stopped on its own after SIGTERM, none needed SIGKILL.
    for (const name of ['api', 'task-processor']) expect(log).toMatch(new RegExp(`stopped: ${name} \\((exit status 0|terminated by SIGTERM)\\)`));
    expect(log.slice(log.lastIndexOf('waiting for'))).not.toMatch(/killing .*SIGKILL/);
  });
});
