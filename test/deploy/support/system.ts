// Driving the whole system from outside, as an operator does: supervisorctl, the HTTP API, the simulator.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { findFreePort } from '../../../src/db/index.js';
import { distProgram } from '../../support/programs.js';
import { waitFor } from '../../support/wait.js';

/**
 * The supervisord/supervisorctl under test: ours by default. STORYBOARD_TEST_SUPERVISORD=/usr/bin/supervisord
 * (and …_SUPERVISORCTL) runs the same tests against the reference Python implementation.
 */
export const supervisordCommand = (): string[] =>
  process.env.STORYBOARD_TEST_SUPERVISORD ? [process.env.STORYBOARD_TEST_SUPERVISORD] : [process.execPath, distProgram('supervisord')];
export const supervisorctlCommand = (): string[] =>
  process.env.STORYBOARD_TEST_SUPERVISORCTL ? [process.env.STORYBOARD_TEST_SUPERVISORCTL] : [process.execPath, distProgram('supervisorctl')];

export interface CtlResult {
  status: number | null;
  output: string;
}

/** Run supervisorctl with a config file (a prefix such as `docker exec …` replaces the command). */
export function ctl(args: string[], options: { config?: string; command?: string[] } = {}): CtlResult {
  const command = options.command ?? supervisorctlCommand();
  const full = [...command.slice(1), ...(options.config ? ['-c', options.config] : []), ...args];
  const result = spawnSync(command[0]!, full, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export interface ProcessStatus {
  state: string;
  pid: number | undefined;
  description: string;
}

/** `supervisorctl status` lines → name → state and pid. */
export function parseStatus(output: string): Map<string, ProcessStatus> {
  const statuses = new Map<string, ProcessStatus>();
  for (const line of output.split('\n')) {
    const match = /^(\S+)\s+([A-Z]+)\s*(.*)$/.exec(line.trim());
    if (!match) continue;
    const pid = /pid (\d+),/.exec(match[3]!);
    statuses.set(match[1]!, { state: match[2]!, pid: pid ? Number(pid[1]) : undefined, description: match[3]! });
  }
  return statuses;
}

/** Wait until every named program is RUNNING; returns the status lines. */
export async function waitForRunning(names: string[], run: () => CtlResult, timeoutMs = 60_000): Promise<Map<string, ProcessStatus>> {
  let last = '';
  try {
    return await waitFor(
      `${names.join(', ')} RUNNING in supervisorctl status`,
      () => {
        const result = run();
        last = result.output;
        const statuses = parseStatus(result.output);
        return names.every((n) => statuses.get(n)?.state === 'RUNNING') ? statuses : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast status:\n${last}`, { cause: error });
  }
}

export interface RunningProgram {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** dist/runninghub-simulator.js on a free loopback port, with short task times. */
/** The simulator program, strict as RunningHub: it accepts only `apiKey`, the key the system under test is given. */
export async function startSimulatorProgram(apiKey: string): Promise<RunningProgram> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [distProgram('runninghub-simulator')], {
    env: {
      ...process.env,
      SIMULATOR_HOST: '127.0.0.1',
      SIMULATOR_PORT: String(port),
      SIMULATOR_QUEUED: '100ms',
      SIMULATOR_RUNNING: '300ms-600ms',
      SIMULATOR_API_KEYS: apiKey,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the RunningHub simulator to listen', async () => {
    if (child.exitCode !== null) throw new Error(`simulator exited ${child.exitCode}: ${text}`);
    const reply = await fetch(`${url}/__sim/counters`);
    return reply.ok;
  });
  return {
    child,
    url,
    output: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

const taskReply = z.object({ id: z.string(), status: z.string() }).loose();

/** The README's curl: create a task; then poll it until SUCCESS (or fail with its last state). */
export async function createTaskAndWaitForSuccess(apiUrl: string, label: string, timeoutMs = 60_000): Promise<z.infer<typeof taskReply>> {
  const created = await fetch(`${apiUrl}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      entityType: 'storyboard',
      entityId: label,
      entityName: `deploy test ${label}`,
      workflowId: '1904136902449209346',
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a lighthouse at dawn' }],
    }),
  });
  const body: unknown = await created.json();
  if (created.status !== 201) throw new Error(`POST /api/tasks answered ${created.status}: ${JSON.stringify(body)}`);
  const task = taskReply.parse(body);
  let last = task;
  try {
    return await waitFor(
      `task ${task.id} to reach SUCCESS`,
      async () => {
        const reply = await fetch(`${apiUrl}/api/tasks/${task.id}`);
        last = taskReply.parse(await reply.json());
        if (last.status === 'FAILED' || last.status === 'CANCELLED') throw new Error(`task ended ${JSON.stringify(last)}`);
        return last.status === 'SUCCESS' ? last : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last: ${JSON.stringify(last)}`, { cause: error });
  }
}

/** Processes (other than zombies) whose command line contains `marker`. */
export function processesMentioning(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (cmdline.includes(marker)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}
