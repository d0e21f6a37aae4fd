// The operations guide's commands (../shared/seeds/000_…, README "Operations guide") as the tests run
// them: a `tail -f` followed until what the guide says it shows appears, the failures an operator greps
// for provoked through the RunningHub simulator, and the guide's `supervisorctl status` format.
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { connectSimulator } from '../../../src/runninghub/simulator/index.js';
import { waitFor } from '../../support/wait.js';

/** The guide's expected status line: `api               RUNNING   pid 10, uptime 0:05:23`. */
export const GUIDE_STATUS_LINE = (name: string) => new RegExp(`^${name}\\s+RUNNING\\s+pid \\d+, uptime \\d+:\\d\\d:\\d\\d$`, 'm');

export interface Follower {
  output: () => string;
  /** Resolves with the output once `check` holds; fails after the deadline with what was seen. */
  until(what: string, check: (output: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): void;
}

/** Runs a never-ending command (`tail -f …`, `tail -f … | grep …`) and watches its output. */
export function follow(command: string[]): Follower {
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    output: () => text,
    async until(what, check, timeoutMs = 60_000) {
      try {
        await waitFor(what, () => check(text), { timeoutMs, intervalMs: 100 });
      } catch (error) {
        throw new Error(`${(error as Error).message}; ${command.join(' ')} showed:\n${text.slice(-3000)}`, { cause: error });
      }
      return text;
    },
    stop() {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
    },
  };
}

const taskReply = z.object({ id: z.string(), status: z.string(), runninghubTaskId: z.string().nullable().optional() }).loose();
export type TaskReply = z.infer<typeof taskReply>;

export async function createTask(apiUrl: string, label: string): Promise<TaskReply> {
  const reply = await fetch(`${apiUrl}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      entityType: 'storyboard',
      entityId: label,
      entityName: `guide ${label}`,
      workflowId: '1904136902449209346',
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a lighthouse at dawn' }],
    }),
  });
  if (reply.status !== 201) throw new Error(`POST /api/tasks answered ${reply.status}: ${await reply.text()}`);
  return taskReply.parse(await reply.json());
}

export async function waitForTaskStatus(apiUrl: string, id: string, status: string, timeoutMs = 60_000): Promise<TaskReply> {
  let last: TaskReply | undefined;
  try {
    return await waitFor(
      `task ${id} to reach ${status}`,
      async () => {
        last = taskReply.parse(await (await fetch(`${apiUrl}/api/tasks/${id}`)).json());
        return last.status === status ? last : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last: ${JSON.stringify(last)}`, { cause: error });
  }
}

export interface ProvokedTasks {
  /** Submitted after RunningHub dropped the first create: a processor error and a retry, then SUCCESS. */
  retried: TaskReply;
  /** Failed at RunningHub. */
  failed: TaskReply;
}

/**
 * What the guide's greps look for, made to happen: the simulator drops the next create (the processor
 * logs 错误 and 重试, then the retry succeeds), then the next task fails (失败): at RunningHub, or refused
 * by RunningHub on create.
 */
export async function provokeRetryAndFailure(
  apiUrl: string,
  simulatorUrl: string,
  label: string,
  failure: 'at-runninghub' | 'refused-on-create' = 'at-runninghub',
): Promise<ProvokedTasks> {
  const simulator = connectSimulator(simulatorUrl);
  await simulator.setOptions({ faults: { create: { kind: 'drop', afterHandling: false, times: 1 } } });
  const first = await createTask(apiUrl, `${label}-retried`);
  const retried = await waitForTaskStatus(apiUrl, first.id, 'SUCCESS', 90_000);
  // With a webhook (npm start) a failure at RunningHub is recorded by the api, and the processor logs
  // nothing about it; a create RunningHub refuses (803) is always the processor's to log.
  if (failure === 'at-runninghub') await simulator.setOptions({ nextOutcomes: ['FAILED'] });
  else await simulator.setOptions({ faults: { create: { kind: 'code', code: 803, msg: 'APIKEY_INVALID_NODE_INFO', times: 1 } } });
  const second = await createTask(apiUrl, `${label}-failed`);
  const failed = await waitForTaskStatus(apiUrl, second.id, 'FAILED', 90_000);
  return { retried, failed };
}
