// The real image (`npm run test:image`, run by .ci/run after `npm test`): docker/Dockerfile built on a local
// Docker engine (../shared/tools/local-docker.sh: no bridge network, local stand-ins for node:*-bookworm-slim),
// run as container storyboard-api with --network host against the test PostgreSQL and the simulator on
// loopback, and checked from outside with the operations guide's own commands.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { createTaskAndWaitForSuccess, ctl, parseStatus, startSimulatorProgram, waitForRunning, type RunningProgram } from './support/system.js';
import { follow, GUIDE_STATUS_LINE, provokeRetryAndFailure, type ProvokedTasks } from './support/guide.js';

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
// A processor log left by another user (a host's `npm start` as root): the EACCES case.
writeFileSync(path.join(logDir, 'task_processor.log'), '{"left":"by root"}\n', { mode: 0o644 });

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
  simulator = await startSimulatorProgram('image-test-key');
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
    '-e', 'RETRY_BACKOFF=500ms',
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
    // The programs, and the event listeners of supervisor/supervisord.conf (log forwarder, memmon, crash notice).
    const everything = ['api', 'crash-notice', 'log-forwarder', 'memmon', 'task-processor'];
    const statuses = await waitForRunning(everything, () => ctlInContainer(['status']), 90_000);
    expect([...statuses.keys()]).toEqual(everything);
    // PID 1 is tini, supervisord runs as root, the programs as "app".
    expect(exec('cat', '/proc/1/cmdline').stdout.split('\0')[0]).toBe('/usr/bin/tini');
    const apiPid = statuses.get('api')!.pid!;
    expect(exec('stat', '-c', '%U', `/proc/${apiPid}`).stdout.trim()).toBe('app');
    expect(exec('stat', '-c', '%U', '/proc/1').stdout.trim()).toBe('root');
  });

  it('takes a task to SUCCESS', async () => {
    // RUNNING (startsecs) says the process stayed up, not that it listens yet on a loaded machine.
    await waitFor('the api to answer /healthz', async () => (await fetch(`${apiUrl}/healthz`)).ok, { timeoutMs: 60_000, intervalMs: 250 });
    const task = await createTaskAndWaitForSuccess(apiUrl, 'image-1');
    const rows = await database.pool.query<{ status: string }>('SELECT status FROM ai_tasks WHERE id = $1', [task.id]);
    expect(rows.rows[0]?.status).toBe('SUCCESS');
  });

  it('has the log files of the guide, the processor log on the host mount', async () => {
    for (const file of ['api.out.log', 'api.err.log', 'task-processor.out.log', 'task-processor.err.log']) {
      expect(exec('test', '-f', `/var/log/supervisor/${file}`).status, file).toBe(0);
    }
    await waitFor('task_processor.log on the host', () => existsSync(path.join(logDir, 'task_processor.log')));
    await waitFor('the processor start in task_processor.log', () => readFileSync(path.join(logDir, 'task_processor.log'), 'utf8').includes('任务处理器已启动'));
    // The root-owned file was handed to "app" by the entrypoint, and kept.
    expect(readFileSync(path.join(logDir, 'task_processor.log'), 'utf8')).toContain('{"left":"by root"}');
    const inside = exec('tail', '-n', '50', '/app/logs/task_processor.log');
    expect(inside.status).toBe(0);
    expect(inside.stdout).toContain('"name":"task-processor"');
    const tail = ctlInContainer(['tail', '-1000', 'task-processor', 'stderr']);
    expect(tail.status).toBe(0);
    // docker logs shows supervisord's own log (nodaemon): spawns, state changes.
    expect(docker(['logs', CONTAINER]).output).toMatch(/success: api entered RUNNING state/);
  });

  it('has the tools of the guide: bash, psql, ps, kill, tail, grep, storyboard', () => {
    const tools = exec('bash', '-c', 'command -v bash psql ps kill tail grep storyboard');
    expect(tools.stdout.trim().split('\n')).toHaveLength(7);
    expect(exec('ps', '-eo', 'user,args').stdout).toMatch(/^root\s+node .*supervisord\.js/m);
    expect(exec('kill', '-0', '1').status).toBe(0);
  });

  let provoked: ProvokedTasks;
  it('the guide: tail -f of every log path, grep "提交任务", the grep -E for 错误|失败|超时|重试', async () => {
    const dockerExec = `DOCKER_HOST=${dockerHost} ${DOCKER} exec ${CONTAINER}`;
    const followers = {
      supervisorOut: follow(['bash', '-c', `${dockerExec} tail -f /var/log/supervisor/task-processor.out.log`]),
      appLogInside: follow(['bash', '-c', `${dockerExec} tail -f /app/logs/task_processor.log`]),
      appLogOnHost: follow(['tail', '-f', path.join(logDir, 'task_processor.log')]),
      apiOut: follow(['bash', '-c', `${dockerExec} tail -f /var/log/supervisor/api.out.log`]),
      monitored: follow(['bash', '-c', `${dockerExec} tail -f /var/log/supervisor/task-processor.out.log | grep --line-buffered -E "(错误|失败|超时|重试)"`]),
    };
    try {
      provoked = await provokeRetryAndFailure(apiUrl, simulator.url, 'image');
      const submitted = provoked.retried.runninghubTaskId!;
      await followers.supervisorOut.until('the submission', (text) => text.includes(submitted) && text.includes('提交任务'));
      await followers.appLogInside.until('the failure', (text) => text.includes('任务失败'));
      await followers.appLogOnHost.until('the failure', (text) => text.includes('任务失败'));
      await followers.apiOut.until('the task POST', (text) => text.includes('"url":"/api/tasks"'));
      await followers.monitored.until('错误, 重试 and 失败', (text) => ['错误', '重试', '失败'].every((word) => text.includes(word)));
    } finally {
      for (const follower of Object.values(followers)) follower.stop();
    }
    const grep = exec('grep', '提交任务', '/var/log/supervisor/task-processor.out.log');
    expect(grep.status).toBe(0);
    expect(grep.stdout).toContain(provoked.retried.runninghubTaskId!);
  }, 300_000);

  it('the guide: tail -100 task-processor.err.log and supervisorctl tail -1000 task-processor stderr name the error', () => {
    const errLog = exec('tail', '-100', '/var/log/supervisor/task-processor.err.log');
    expect(errLog.stdout).toMatch(/"event":"processor\.error".*RUNNINGHUB_NETWORK/);
    expect(errLog.stdout).toContain('"event":"task.failed"');
    const viaCtl = ctlInContainer(['tail', '-1000', 'task-processor', 'stderr']);
    expect(viaCtl.output).toContain('处理器错误 RUNNINGHUB_NETWORK');
  });

  it("the guide: psql inside the container runs the guide's query", () => {
    const url = new URL(database.url);
    const query = 'SELECT id, status, entity_name, created_at FROM ai_tasks ORDER BY created_at DESC LIMIT 10;';
    const psql = docker([
      'exec', '-e', `PGPASSWORD=${decodeURIComponent(url.password)}`, CONTAINER, 'bash', '-c',
      `psql -h ${url.hostname} -p ${url.port} -U ${decodeURIComponent(url.username)} -d ${url.pathname.slice(1)} -c "${query}"`,
    ]);
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stdout).toContain(provoked.failed.id);
    expect(psql.stdout).toMatch(/FAILED\s+\|\s+guide image-failed/);
    const backlog = exec('bash', '-c', `psql "$DATABASE_URL" -tAc "SELECT COUNT(*) FROM ai_tasks WHERE status = 'PENDING'"`);
    expect(backlog.stdout.trim()).toBe('0');
  });

  it('docker exec storyboard-api storyboard stats (and --json)', () => {
    const stats = exec('storyboard', 'stats');
    expect(stats.status, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^ {2}FAILED\s+1$/m);
    expect(stats.stdout).toMatch(/LIVE/);
    const json = JSON.parse(exec('storyboard', 'stats', '--json').stdout) as { countsByStatus: Record<string, number> };
    expect(json.countsByStatus.SUCCESS).toBeGreaterThanOrEqual(1);
    expect(json.countsByStatus.FAILED).toBe(1);
  });

  it('docker exec storyboard-api supervisorctl status: the guide format', () => {
    const status = ctlInContainer(['status']);
    expect(status.output).toMatch(GUIDE_STATUS_LINE('api'));
    expect(status.output).toMatch(GUIDE_STATUS_LINE('task-processor'));
  });

  it("docker logs shows supervisord's lines and every program's, tagged (the log forwarder)", async () => {
    // The forwarder writes each program's JSON line as JSON with "program" and "stream" in front.
    const logs = await waitFor('lines of both programs in docker logs', () => {
      const text = docker(['logs', CONTAINER]).output;
      return /"program":"task-processor"[^\n]*提交任务/.test(text) && /"program":"api"/.test(text) ? text : false;
    });
    expect(logs).toMatch(/INFO success: api entered RUNNING state/);
    const forwarded = logs.split('\n').filter((line) => line.startsWith('{"program":'));
    expect(forwarded.length).toBeGreaterThan(0);
    for (const line of forwarded) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // Nothing else: no V8 warning on top ("disabling flag --expose_wasm", lite mode's without --no-expose-wasm).
    const supervisordLine = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ /;
    expect(logs.split('\n').filter((line) => line !== '' && !line.startsWith('{"program":') && !supervisordLine.test(line))).toEqual([]);
  });

  it('docker exec storyboard-api supervisorctl restart task-processor, then restart api', async () => {
    const before = parseStatus(ctlInContainer(['status']).output).get('task-processor')!;
    const restart = ctlInContainer(['restart', 'task-processor']);
    expect(restart.output).toBe('task-processor: stopped\ntask-processor: started\n');
    const after = (await waitForRunning(['task-processor'], () => ctlInContainer(['status']))).get('task-processor')!;
    expect(after.pid).not.toBe(before.pid);
    // The guide's second restart.
    const apiBefore = parseStatus(ctlInContainer(['status']).output).get('api')!;
    expect(ctlInContainer(['restart', 'api']).output).toBe('api: stopped\napi: started\n');
    const apiAfter = (await waitForRunning(['api'], () => ctlInContainer(['status']))).get('api')!;
    expect(apiAfter.pid).not.toBe(apiBefore.pid);
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
