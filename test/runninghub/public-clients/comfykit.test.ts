// The requests ComfyKit's RunningHubClient (comfykit/comfyui/runninghub_client.py, aiohttp) sends, and what
// it reads: JSON bodies from json.dumps with the key as `apiKey` and no Authorization header, a v1 upload
// with only `apiKey` and `file` (no fileType), and `code == 0` on every reply (anything else is an error
// carrying `msg`), so its executor polls /task/openapi/status and reads /outputs only after SUCCESS.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningSimulator } from '../../../src/runninghub/simulator/index.js';
import { KEY, pngForm, QUEUED_MS, RUNNING_MS, send, startClientSimulator, WORKFLOW_ID } from './harness.js';

const JSON_ONLY = { 'Content-Type': 'application/json' };
/** Python's json.dumps(data) with its default separators. */
const pythonJson = (value: unknown) => JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "');

describe('ComfyKit (runninghub_client.py) against the simulator', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startClientSimulator();
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.reset();
  });

  it('get_workflow_json, upload_file, create_task, query_task_status to SUCCESS, query_task_result', async () => {
    const format = await send(sim, 'POST', '/api/openapi/getJsonApiFormat', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, workflowId: WORKFLOW_ID }) });
    const prompt = z.object({ code: z.literal(0), data: z.object({ prompt: z.string().min(2) }) }).parse(format.json).data.prompt;
    expect(JSON.parse(prompt)).toHaveProperty('10.class_type', 'LoadImage');

    const upload = await send(sim, 'POST', '/task/openapi/upload', { body: pngForm({ apiKey: KEY }) });
    const fileName = z.object({ code: z.literal(0), data: z.object({ fileName: z.string().startsWith('api/') }) }).parse(upload.json).data.fileName;

    const nodeInfoList = [
      { nodeId: '6', fieldName: 'text', fieldValue: 'a red kite' },
      { nodeId: '10', fieldName: 'image', fieldValue: fileName },
    ];
    const created = await send(sim, 'POST', '/task/openapi/create', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, workflowId: WORKFLOW_ID, nodeInfoList }) });
    const taskId = z.object({ code: z.literal(0), data: z.looseObject({ taskId: z.string().regex(/^\d{19}$/) }) }).parse(created.json).data.taskId;

    // query_task_status returns {status: data, msg, code}; the executor keeps polling until SUCCESS or FAILED.
    const status = async () => z.object({ code: z.literal(0), msg: z.string(), data: z.string() }).parse((await send(sim, 'POST', '/task/openapi/status', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, taskId }) })).json).data;
    expect(await status()).toBe('QUEUED');
    sim.advance(QUEUED_MS);
    expect(await status()).toBe('RUNNING');
    sim.advance(RUNNING_MS);
    expect(await status()).toBe('SUCCESS');
    const outputs = await send(sim, 'POST', '/task/openapi/outputs', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, taskId }) });
    expect(z.object({ code: z.literal(0), data: z.array(z.looseObject({ fileUrl: z.url(), fileType: z.literal('png') })).length(1) }).safeParse(outputs.json).success).toBe(true);
  });

  it('refusals are HTTP 200 with a non-zero code and a msg naming them (what the client raises)', async () => {
    const bad = await send(sim, 'POST', '/task/openapi/create', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, workflowId: WORKFLOW_ID, nodeInfoList: [{ nodeId: '6', fieldName: 'seed', fieldValue: '1' }] }) });
    expect(bad.status).toBe(200);
    expect(bad.json).toEqual({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO', data: null });
    const missing = await send(sim, 'POST', '/task/openapi/outputs', { headers: JSON_ONLY, body: pythonJson({ apiKey: KEY, taskId: '1234567890123456789' }) });
    expect(missing.json).toEqual({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND', data: null });
  });
});
