// The real image (`npm run test:image`, run by .ci/run after `npm test`): docker/Dockerfile built on a local
// Docker engine (../shared/tools/local-docker.sh: no bridge network, local stand-ins for node:*-bookworm-slim),
// run as container storyboard-api with --network host against the test PostgreSQL and the simulator on
// loopback, and checked from outside with the operations guide's own commands.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { createTaskAndWaitForSuccess, ctl, parseStatus, startSimulatorProgram, waitForRunning, type RunningProgram } from './support/system.js';

const LOCAL_DOCKER = path.resolve(ROOT, '../shared/tools/local-docker.sh');
const DOCKER = '/usr/bin/docker'; // Debian's client, matching Debian's engine (API 1.41)
const CONTAINER = 'storyboard-api';
const IMAGE = `storyboard-api:test-${randomBytes(3).toString('hex')}`;

let dockerHost = '';
let engineWasRunning = false;
let database: TestDatabase;
let simulator: RunningProgram;
let apiUrl = '';
const logDir = mkdtempSync(path.join(os.tmpdir(), 'storyboard-image-logs-'));
chmodSync(logDir, 0o755);

function docker(args: string[], timeoutMs = 120_000) {
  const result = spawnSync(DOCKER, args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: dockerHost }, timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}
const exec = (...args: string[]) => docker(['exec', CONTAINER, ...args]);
const ctlInContainer = (args: string[]) => ctl(args, { command: ['env', `DOCKER_HOST=${dockerHost}`, DOCKER, 'exec', CONTAINER, 'supervisorctl'] });

function localDocker(verb: 'start' | 'base' | 'stop', timeoutMs: number): string {
  const result = spawnSync('bash', [LOCAL_DOCKER, verb], { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) throw new Error(`local-docker.sh ${verb} failed (${result.status ?? result.signal}):\n${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  if (!existsSync(LOCAL_DOCKER)) throw new Error(`${LOCAL_DOCKER} is missing (shared/ beside the checkout)`);
  const socketDir = process.env.LOCAL_DOCKER_DIR ?? path.join(process.env.TMPDIR ?? '/tmp', 'local-docker');
  const probe = spawnSync(DOCKER, ['info'], { env: { ...process.env, DOCKER_HOST: `unix://${socketDir}/docker.sock` }, stdio: 'ignore' });
  engineWasRunning = probe.status === 0;
  const exported = /export DOCKER_HOST=(\S+)/.exec(localDocker('start', 120_000));
  if (!exported) throw new Error('local-docker.sh start printed no DOCKER_HOST');
  dockerHost = exported[1]!;
  localDocker('base', 900_000);

  const build = docker(['build', '--network', 'host', '-f', path.join(ROOT, 'docker/Dockerfile'), '-t', IMAGE, ROOT], 900_000);
  if (build.status !== 0) throw new Error(`docker build failed:\n${build.output.slice(-4000)}`);

  database = await createTestDatabase('image');
  simulator = await startSimulatorProgram();
  const port = await findFreePort();
  apiUrl = `http://127.0.0.1:${port}`;
  docker(['rm', '-f', CONTAINER]);
  const run = docker([
    'run', '-d', '--network', 'host', '--name', CONTAINER,
    '-v', `${logDir}:/app/logs`,
    '-e', `DATABASE_URL=${database.url}`,
    '-e', `RUNNINGHUB_BASE_URL=${simulator.url}`,
    '-e', 'RUNNINGHUB_API_KEY=image-test-key',
    '-e', `PORT=${port}`,
    '-e', 'HOST=127.0.0.1',
    '-e', 'POLL_INTERVAL=500ms',
    IMAGE,
  ]);
  if (run.status !== 0) throw new Error(`docker run failed:\n${run.output}`);
}, 1_200_000);

afterAll(async () => {
  if (dockerHost) {
    docker(['rm', '-f', CONTAINER]);
    docker(['rmi', IMAGE]);
    // The engine is stopped only if this test started it (a person's engine is left as it was).
    if (!engineWasRunning) localDocker('stop', 60_000);
  }
  await simulator?.stop();
  await database?.drop();
  rmSync(logDir, { recursive: true, force: true });
}, 120_000);

describe('the storyboard-api image, run with --network host', () => {
  it('docker exec storyboard-api supervisorctl status: both programs RUNNING', async () => {
    const statuses = await waitForRunning(['api', 'task-processor'], () => ctlInContainer(['status']), 90_000);
    expect([...statuses.keys()]).toEqual(['api', 'task-processor']);
    // PID 1 is tini, supervisord runs as root, the programs as "app".
    expect(exec('cat', '/proc/1/cmdline').stdout.split('\0')[0]).toBe('/usr/bin/tini');
    const apiPid = statuses.get('api')!.pid!;
    expect(exec('stat', '-c', '%U', `/proc/${apiPid}`).stdout.trim()).toBe('app');
    expect(exec('stat', '-c', '%U', '/proc/1').stdout.trim()).toBe('root');
  });

  it('takes a task to SUCCESS', async () => {
    const task = await createTaskAndWaitForSuccess(apiUrl, 'image-1');
    const rows = await database.pool.query<{ status: string }>('SELECT status FROM ai_tasks WHERE id = $1', [task.id]);
    expect(rows.rows[0]?.status).toBe('SUCCESS');
  });

  it('has the log files of the guide, the processor log on the host mount', async () => {
    for (const file of ['api.out.log', 'api.err.log', 'task-processor.out.log', 'task-processor.err.log']) {
      expect(exec('test', '-f', `/var/log/supervisor/${file}`).status, file).toBe(0);
    }
    await waitFor('task_processor.log on the host', () => existsSync(path.join(logDir, 'task_processor.log')));
    expect(readFileSync(path.join(logDir, 'task_processor.log'), 'utf8')).toContain('task processor started');
    const inside = exec('tail', '-n', '50', '/app/logs/task_processor.log');
    expect(inside.status).toBe(0);
    expect(inside.stdout).toContain('"name":"task-processor"');
    const tail = ctlInContainer(['tail', '-1000', 'task-processor', 'stderr']);
    expect(tail.status).toBe(0);
    // docker logs shows supervisord's own log (nodaemon): spawns, state changes.
    expect(docker(['logs', CONTAINER]).output).toMatch(/success: api entered RUNNING state/);
  });

  it('docker exec storyboard-api supervisorctl restart task-processor', async () => {
    const before = parseStatus(ctlInContainer(['status']).output).get('task-processor')!;
    const restart = ctlInContainer(['restart', 'task-processor']);
    expect(restart.output).toBe('task-processor: stopped\ntask-processor: started\n');
    const after = (await waitForRunning(['task-processor'], () => ctlInContainer(['status']))).get('task-processor')!;
    expect(after.pid).not.toBe(before.pid);
  });

  it('docker restart storyboard-api brings both programs back', async () => {
    const before = docker(['inspect', '--format', '{{.State.StartedAt}}', CONTAINER]).stdout.trim();
    const restart = docker(['restart', '-t', '75', CONTAINER]);
    expect(restart.status).toBe(0);
    expect(docker(['inspect', '--format', '{{.State.StartedAt}}', CONTAINER]).stdout.trim()).not.toBe(before);
    await waitForRunning(['api', 'task-processor'], () => ctlInContainer(['status']), 90_000);
    // A restart asked for by hand is not a crash: the alert's RestartCount stays 0.
    expect(docker(['inspect', '--format', '{{.RestartCount}}', CONTAINER]).stdout.trim()).toBe('0');
  });

  it('reports healthy through its HEALTHCHECK', async () => {
    const health = await waitFor(
      'docker health status healthy',
      () => docker(['inspect', '--format', '{{.State.Health.Status}}', CONTAINER]).stdout.trim() === 'healthy',
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(health).toBe(true);
  });

  it('docker stop ends it within the grace period with exit 0', () => {
    const started = Date.now();
    const stop = docker(['stop', '-t', '75', CONTAINER]);
    const seconds = (Date.now() - started) / 1000;
    expect(stop.status).toBe(0);
    expect(seconds).toBeLessThan(30);
    expect(docker(['inspect', '--format', '{{.State.ExitCode}}', CONTAINER]).stdout.trim()).toBe('0');
    const logs = docker(['logs', CONTAINER]).output;
    expect(logs).toMatch(/stopped: task-processor \(exit status 0\)/);
    expect(logs).toMatch(/stopped: api \(exit status 0\)/);
  });
});
