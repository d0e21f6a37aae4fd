import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { createRunningHubClient } from '../../src/runninghub/index.js';
import { connectSimulator } from '../../src/runninghub/simulator/index.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

/** `node dist/runninghub-simulator.js` with `env` (added to this process's), stdout and stderr together in `all`. */
const simulatorProgram = (env: Record<string, string>) =>
  execa(process.execPath, [distProgram('runninghub-simulator')], { env, reject: false, all: true });

/** The program, once it says it listens; killed again if it never does. */
async function startSimulatorProgram(env: Record<string, string>) {
  const child = simulatorProgram(env);
  let output = '';
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor('the listening line', () => output.includes('simulator.listening'), { timeoutMs: 30_000 });
  } catch (error) {
    child.kill('SIGKILL');
    await child;
    throw error;
  }
  return { child, output: () => output };
}

/** The storyboard workflow the simulator ships (src/runninghub/simulator/workflows). */
const WORKFLOW = '1904136902449209346';

describe('dist/runninghub-simulator.js as a process', () => {
  it('starts from env, serves the API, and exits 0 on SIGTERM', async () => {
    const port = await findFreePort();
    const { child, output } = await startSimulatorProgram({
      SIMULATOR_PORT: String(port),
      SIMULATOR_QUEUED: '1500ms',
      SIMULATOR_RUNNING: '20ms-40ms',
      SIMULATOR_CONCURRENCY: '2',
      SIMULATOR_API_KEYS: 'process-test-key',
      LOG_LEVEL: 'debug',
    });
    try {
      // Tasks stay QUEUED 1.5 s: long enough for the three creates below to meet two in flight.
      const client = createRunningHubClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'process-test-key' });
      const created = await client.createTask({ workflowId: WORKFLOW });
      await client.createTask({ workflowId: WORKFLOW });
      // SIMULATOR_CONCURRENCY=2 reached the process.
      await expect(client.createTask({ workflowId: WORKFLOW })).rejects.toMatchObject({ code: '421' });
      const outcome = await waitFor('SUCCESS', async () => {
        const o = await client.getOutputs(created.taskId);
        return o.status === 'SUCCESS' ? o : undefined;
      });
      if (outcome.status === 'SUCCESS') expect((await fetch(outcome.outputs[0]!.fileUrl)).status).toBe(200);

      // The control client, as a test or benchmark would use it against a separate process.
      const control = connectSimulator(`http://127.0.0.1:${port}`);
      expect(await control.counters()).toMatchObject({ tasksCreated: 2, createsRefused421: 1, maxInFlight: 2 });
      expect((await control.tasks()).map((t) => t.taskId)).toContain(created.taskId);
      expect(await control.setOptions({ concurrency: 5 })).toMatchObject({ concurrency: 5 });
      await expect(control.setOptions({ concurrency: -1 })).rejects.toThrow(/HTTP 400.*concurrency/);
      await waitFor('both tasks to end', async () => (await control.counters()).inFlight === 0);
      expect(await control.occupy('process-test-key', 5)).toHaveLength(5);
      await expect(client.createTask({ workflowId: WORKFLOW })).rejects.toMatchObject({ code: '421' });
      expect(await control.release()).toBe(5);
      await control.reset();
      expect((await control.counters()).tasksCreated).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.signal).toBeUndefined();
    expect(output()).toContain('simulator.stopped');
    expect(output()).not.toContain('process-test-key');
  });

  it('refuses a bad environment with a message naming the variable', async () => {
    const result = await simulatorProgram({ SIMULATOR_PORT: 'eighty', SIMULATOR_FAILURE_RATE: '3' });
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/SIMULATOR_PORT/);
    expect(result.all).toMatch(/SIMULATOR_FAILURE_RATE/);
  });

  it('exits 1 with a clear line when its port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const result = await simulatorProgram({ SIMULATOR_PORT: String(port) });
      expect(result.exitCode).toBe(1);
      expect(result.all).toMatch(/(cannot start: |无法启动（错误）：).*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('takes strict mode and workflows from SIMULATOR_STRICT and SIMULATOR_CONFIG_JSON', async () => {
    const port = await findFreePort();
    const config = { workflows: { '1904136902449209346': { nodes: { '6': ['text'] } } }, acceptAnyKey: false, keys: { 'strict-key': {} } };
    const { child } = await startSimulatorProgram({
      SIMULATOR_PORT: String(port),
      SIMULATOR_STRICT: 'true',
      SIMULATOR_CONFIG_JSON: JSON.stringify(config),
    });
    try {
      const client = createRunningHubClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'strict-key' });
      await expect(client.createTask({ workflowId: '1' })).rejects.toMatchObject({ code: '380' });
      await expect(
        client.createTask({ workflowId: '1904136902449209346', nodeInfoList: [{ nodeId: '6', fieldName: 'seed', fieldValue: '1' }] }),
      ).rejects.toMatchObject({ code: '803' });
      const created = await client.createTask({ workflowId: '1904136902449209346', nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'ok' }] });
      expect(created.taskId).toMatch(/^\d{19}$/);
      const stranger = createRunningHubClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'other-key' });
      await expect(stranger.getAccountStatus()).rejects.toMatchObject({ code: '802' });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child).exitCode).toBe(0);
  });

  it('is strict by default: only SIMULATOR_API_KEYS, only the shipped workflow and its fields, served by getJsonApiFormat; SIMULATOR_STRICT=false is lenient', async () => {
    const port = await findFreePort();
    const { child } = await startSimulatorProgram({ SIMULATOR_PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      // `npm start` gives the processor the key "simulator", the default of SIMULATOR_API_KEYS.
      const client = createRunningHubClient({ baseUrl: base, apiKey: 'simulator' });
      const created = await client.createTask({
        workflowId: WORKFLOW,
        nodeInfoList: [
          { nodeId: '6', fieldName: 'text', fieldValue: 'a lighthouse at dawn' },
          { nodeId: '3', fieldName: 'seed', fieldValue: '42' },
          { nodeId: '10', fieldName: 'image', fieldValue: 'api/reference.png' },
        ],
      });
      expect(created.taskId).toMatch(/^\d{19}$/);
      await expect(client.createTask({ workflowId: '1' })).rejects.toMatchObject({ code: '380' });
      await expect(client.createTask({ webappId: '1877265245566922753' })).rejects.toMatchObject({ code: '901' });
      // A link input (node 3's model) is not a field one can set; neither is an unknown node.
      for (const bad of [
        { nodeId: '3', fieldName: 'model', fieldValue: 'x' },
        { nodeId: '99', fieldName: 'text', fieldValue: 'x' },
      ]) {
        await expect(client.createTask({ workflowId: WORKFLOW, nodeInfoList: [bad] })).rejects.toMatchObject({ code: '803' });
      }
      // A number where RunningHub wants a string: 803, as the real service answers.
      const numeric = await fetch(`${base}/task/openapi/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: 'simulator', workflowId: WORKFLOW, nodeInfoList: [{ nodeId: '3', fieldName: 'seed', fieldValue: 42 }] }),
      });
      expect(await numeric.json()).toEqual({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO', data: null });
      await expect(createRunningHubClient({ baseUrl: base, apiKey: 'stranger' }).createTask({ workflowId: WORKFLOW })).rejects.toMatchObject({ code: '802' });

      const format = await fetch(`${base}/api/openapi/getJsonApiFormat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: 'simulator', workflowId: WORKFLOW }),
      });
      const reply = (await format.json()) as { code: number; data: { prompt: string } };
      expect(reply.code).toBe(0);
      const prompt = JSON.parse(reply.data.prompt) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
      expect(prompt['6']?.class_type).toBe('CLIPTextEncode');
      expect(prompt['3']?.inputs).toHaveProperty('seed');
      expect(prompt['10']).toMatchObject({ class_type: 'LoadImage', inputs: { image: expect.any(String) } });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await child).exitCode).toBe(0);

    const lenientPort = await findFreePort();
    const lenient = await startSimulatorProgram({ SIMULATOR_PORT: String(lenientPort), SIMULATOR_STRICT: 'false' });
    try {
      const anyone = createRunningHubClient({ baseUrl: `http://127.0.0.1:${lenientPort}`, apiKey: 'anyone' });
      expect((await anyone.createTask({ workflowId: '1', nodeInfoList: [{ nodeId: '1', fieldName: 'x', fieldValue: 'y' }] })).taskId).toMatch(/^\d{19}$/);
    } finally {
      lenient.child.kill('SIGTERM');
    }
    expect((await lenient.child).exitCode).toBe(0);
  });

  it('refuses SIMULATOR_CONFIG_JSON that is not JSON (exit 2) or names an unknown option (exit 1)', async () => {
    const notJson = await simulatorProgram({ SIMULATOR_PORT: '0', SIMULATOR_CONFIG_JSON: '{oops' });
    expect(notJson.exitCode).toBe(2);
    expect(notJson.all).toMatch(/SIMULATOR_CONFIG_JSON: not valid JSON/);
    const unknown = await simulatorProgram({ SIMULATOR_PORT: '0', SIMULATOR_CONFIG_JSON: '{"concurency":5}' });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.all).toMatch(/(cannot start: |无法启动（错误）：).*concurency/);
  });
});
