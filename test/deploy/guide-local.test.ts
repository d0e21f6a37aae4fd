// The operations guide, literally, against `npm start` (the local equivalents of README "Operations guide"):
// `npx supervisorctl status` from the checkout with no flags (and the real supervisorctl), both restarts,
// every `tail -f` of the guide's local log paths, the greps for a submitted task and a provoked retry and
// failure, `tail -100 …err.log` naming the provoked error, `supervisorctl tail -1000 task-processor stderr`,
// the guide's psql query, and `storyboard stats`. The alert rules fire in test/deploy/alerts.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { follow, GUIDE_STATUS_LINE, provokeRetryAndFailure, createTask, waitForTaskStatus, type ProvokedTasks } from './support/guide.js';
import { parseStatus, waitForRunning } from './support/system.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-guide-'));
chmodSync(scratch, 0o755);
const dir = path.join(scratch, 'checkout');
for (const file of ['package.json', 'tsconfig.json', 'scripts', 'supervisor', 'supervisord.conf']) cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
for (const link of ['src', 'bin', 'node_modules']) symlinkSync(path.join(ROOT, link), path.join(dir, link));
chmodSync(dir, 0o755);

let npmStart: ChildProcess | undefined;
let output = '';
afterAll(async () => {
  if (npmStart && npmStart.exitCode === null && npmStart.signalCode === null) {
    process.kill(-npmStart.pid!, 'SIGINT');
    await once(npmStart, 'exit');
  }
  rmSync(scratch, { recursive: true, force: true });
}, 90_000);

/** A command as an operator types it in the checkout. */
function sh(command: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync('bash', ['-c', command], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

describe('the operations guide against npm start', () => {
  let apiUrl = '';
  let simulatorUrl = '';
  let databaseUrl = '';
  let databasePort = 0;

  it('supervisorctl status (npx, no flags, from the checkout): both programs RUNNING in the guide format', async () => {
    const [port, simulatorPort] = [await findFreePort(), await findFreePort()];
    databasePort = await findFreePort();
    apiUrl = `http://127.0.0.1:${port}`;
    simulatorUrl = `http://127.0.0.1:${simulatorPort}`;
    databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${databasePort}/postgres`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      SIMULATOR_PORT: String(simulatorPort),
      EMBEDDED_DATABASE_PORT: String(databasePort),
      POLL_INTERVAL: '500ms',
      RETRY_BACKOFF: '500ms',
      SIMULATOR_QUEUED: '100ms',
      SIMULATOR_RUNNING: '300ms-600ms',
    };
    for (const name of ['DATABASE_URL', 'RUNNINGHUB_API_KEY', 'RUNNINGHUB_BASE_URL', 'LOG_LANGUAGE']) delete env[name];
    npmStart = spawn(process.execPath, ['scripts/start.mjs'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    npmStart.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npmStart.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await waitForRunning(['api', 'task-processor'], () => {
      if (npmStart!.exitCode !== null) throw new Error(`npm start ended:\n${output}`);
      const result = sh('npx supervisorctl status');
      return { status: result.status, output: result.output };
    }, 150_000);
    const status = sh('npx supervisorctl status');
    expect(status.stdout).toMatch(GUIDE_STATUS_LINE('api'));
    expect(status.stdout).toMatch(GUIDE_STATUS_LINE('task-processor'));
    // The real supervisorctl finds the same socket through ./supervisord.conf.
    const real = sh('/usr/bin/supervisorctl status');
    expect(real.stdout).toMatch(GUIDE_STATUS_LINE('api'));
    expect(real.stdout).toMatch(GUIDE_STATUS_LINE('task-processor'));
    expect(sh('npx supervisorctl status task-processor').stdout).toMatch(GUIDE_STATUS_LINE('task-processor'));
  }, 240_000);

  let provoked: ProvokedTasks;
  let submitted = '';

  it('tail -f of every log path and the grep -E of the guide show a submitted task, retries, failures and errors', async () => {
    const processorLog = follow(['tail', '-f', path.join(dir, 'logs/task_processor.log')]);
    const processorOut = follow(['tail', '-f', path.join(dir, 'logs/task-processor.out.log')]);
    const apiOut = follow(['tail', '-f', path.join(dir, 'logs/api.out.log')]);
    const monitored = follow(['bash', '-c', `tail -f ${dir}/logs/task-processor.out.log | grep --line-buffered -E "(错误|失败|超时|重试)"`]);
    try {
      const task = await createTask(apiUrl, 'guide-local');
      submitted = (await waitForTaskStatus(apiUrl, task.id, 'SUCCESS')).runninghubTaskId ?? '';
      expect(submitted).toMatch(/^\d+$/);
      provoked = await provokeRetryAndFailure(apiUrl, simulatorUrl, 'guide-local', 'refused-on-create');
      await processorLog.until('the submission in task_processor.log', (text) => text.includes(submitted) && text.includes('提交任务'));
      await processorOut.until('the failure in task-processor.out.log', (text) => text.includes('任务失败 803：APIKEY_INVALID_NODE_INFO'));
      await apiOut.until('the POST in api.out.log', (text) => text.includes('"url":"/api/tasks"'));
      const lines = await monitored.until('错误, 重试 and 失败 in the grep', (text) => ['错误', '重试', '失败'].every((word) => text.includes(word)));
      expect(lines.split('\n').filter(Boolean).every((line) => /错误|失败|超时|重试/.test(line))).toBe(true);
    } finally {
      for (const follower of [processorLog, processorOut, apiOut, monitored]) follower.stop();
    }
  }, 240_000);

  it('grep "提交任务" finds the submitted tasks', () => {
    const grep = sh('grep "提交任务" logs/task-processor.out.log');
    expect(grep.status).toBe(0);
    expect(grep.stdout).toContain(submitted);
    expect(grep.stdout).toContain(provoked.retried.runninghubTaskId!);
  });

  it('tail -100 task-processor.err.log and supervisorctl tail -1000 task-processor stderr name the provoked error', () => {
    const errLog = sh('tail -100 logs/task-processor.err.log');
    expect(errLog.stdout).toMatch(/"event":"processor\.error".*RUNNINGHUB_NETWORK/);
    expect(errLog.stdout).toMatch(/"event":"task\.failed"/);
    // stdout keeps every line, errors included.
    expect(sh('grep -c "processor.error" logs/task-processor.out.log').stdout.trim()).not.toBe('0');
    const viaCtl = sh('npx supervisorctl tail -1000 task-processor stderr');
    expect(viaCtl.stdout).toContain('处理器错误 RUNNINGHUB_NETWORK');
  }, 120_000);

  it('psql: the guide query lists the tasks', () => {
    const psql = sh(`psql "${databaseUrl}" -c "SELECT id, status, entity_name, created_at FROM ai_tasks ORDER BY created_at DESC LIMIT 10;"`);
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stdout).toContain(provoked.failed.id);
    expect(psql.stdout).toMatch(/FAILED\s+\|\s+guide guide-local-failed/);
    expect(psql.stdout).toMatch(/\(3 rows\)/);
  });

  it('storyboard stats (npx) shows the queue, processors and slots', () => {
    const stats = sh('npx storyboard stats', { EMBEDDED_DATABASE_PORT: String(databasePort), DATABASE_URL: '' });
    expect(stats.status, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^ {2}SUCCESS\s+2$/m);
    expect(stats.stdout).toMatch(/^ {2}FAILED\s+1$/m);
    expect(stats.stdout).toMatch(/RunningHub slots in use: 0 \/ 3/);
    expect(stats.stdout).toMatch(/LIVE/);
  }, 120_000);

  it('/metrics shows a live processor and the finished tasks', async () => {
    const text = await waitFor('finished tasks in /metrics', async () => {
      const body = await (await fetch(`${apiUrl}/metrics`)).text();
      return /storyboard_ai_tasks_finished_total\{outcome="FAILED"\} 1/.test(body) ? body : undefined;
    });
    expect(text).toMatch(/^storyboard_task_processors_live 1$/m);
  });

  it('supervisorctl restart task-processor and restart api', async () => {
    const before = parseStatus(sh('npx supervisorctl status').stdout);
    expect(sh('npx supervisorctl restart task-processor').stdout).toBe('task-processor: stopped\ntask-processor: started\n');
    expect(sh('npx supervisorctl restart api').stdout).toBe('api: stopped\napi: started\n');
    const after = await waitForRunning(['api', 'task-processor'], () => {
      const result = sh('npx supervisorctl status');
      return { status: result.status, output: result.output };
    });
    expect(after.get('task-processor')!.pid).not.toBe(before.get('task-processor')!.pid);
    expect(after.get('api')!.pid).not.toBe(before.get('api')!.pid);
  }, 180_000);
});
