// The whole system for the dashboard's browser test and bench: a migrated database, the RunningHub
// simulator, `node dist/task-processor.js` and `node dist/api.js` as real child processes on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../../../src/db/index.js';
import type { RunningSimulator } from '../../../src/runninghub/simulator/index.js';
import { spawnProcessor, startTestSimulator, testSettings, type ProcessorProgram } from '../../processor/harness.js';
import { distProgram } from '../../support/programs.js';
import { validTask } from '../support.js';
import { waitFor } from '../../support/wait.js';

export interface ApiProgram {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** `node dist/api.js` on a free loopback port (or `port`: an api started again), once /readyz answers 200. */
export async function spawnApi(databaseUrl: string, env: Record<string, string> = {}, port?: number): Promise<ApiProgram> {
  port ??= await findFreePort();
  const child = spawn(process.execPath, [distProgram('api')], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`the api on ${url} to be ready (output: ${output.slice(-500)})`, async () => {
    if (child.exitCode !== null) throw new Error(`the api exited: ${output.slice(-2000)}`);
    const response = await fetch(`${url}/readyz`);
    return response.status === 200;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface DashboardSystem {
  api: ApiProgram;
  sim: RunningSimulator;
  processor: ProcessorProgram;
  /** Stop the api, run `whileDown`, and start it again on the same port (system.api is then the new one). */
  restartApi(whileDown: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function startDashboardSystem(databaseUrl: string, apiEnv: Record<string, string> = {}): Promise<DashboardSystem> {
  const sim = await startTestSimulator();
  const settings = testSettings({ processorId: 'dashboard-test' });
  const processor = await spawnProcessor(databaseUrl, sim.url, settings);
  // The api serves the outputs the processor kept (/api/tasks/:id/outputs/:n): the same output store.
  const env = { OUTPUT_DIR: settings.outputDir, ...apiEnv };
  const system: DashboardSystem = {
    api: await spawnApi(databaseUrl, env),
    sim,
    processor,
    async restartApi(whileDown) {
      await system.api.stop();
      await whileDown();
      system.api = await spawnApi(databaseUrl, env, Number(new URL(system.api.url).port));
    },
    async stop() {
      await Promise.allSettled([system.api.stop(), processor.cleanup()]);
      await sim.stop();
    },
  };
  return system;
}

/** The api as a test calls it beside the page (JSON in and out, with `token`); `system` is read at each call. */
export function apiClient(system: () => DashboardSystem, token: string) {
  const api = async <T>(method: string, path: string, body?: object): Promise<T> => {
    const response = await fetch(`${system().api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    api,
    createTask: (entityId: string) => api<{ id: string }>('POST', '/api/tasks', { ...validTask, entityId, entityName: `Shot ${entityId}` }),
    taskStatus: async (id: string) => (await api<{ status: string }>('GET', `/api/tasks/${id}`)).status,
  };
}
