// The requests colorAi/RunningHub-AI-Client (services/api.ts, a TypeScript desktop client) sends, and the
// reply fields it reads: the AI app id as a JSON *string*, `apiKey` in the body plus the Bearer header,
// `Host: www.runninghub.cn` on outputs and accountStatus, `code === 0` compared strictly as a number, a
// thrown error on any non-2xx status before the body is read, and a v2 /query reply that must not look like
// a `{code, msg}` envelope (the client would then read its `data`).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningSimulator } from '../../../src/runninghub/simulator/index.js';
import { KEY, pngForm, QUEUED_MS, RUNNING_MS, send, startClientSimulator, WEBAPP_ID } from './harness.js';

const BEARER = { Authorization: `Bearer ${KEY}` };
const JSON_BEARER = { 'Content-Type': 'application/json', ...BEARER };
/** The client's TaskRuntimeStatus: what normalizeTaskStatus keeps as it is (anything else reads QUEUED). */
const runtimeStatus = z.enum(['QUEUED', 'RUNNING', 'SUCCESS', 'FAILED']);

describe('colorAi RunningHub-AI-Client (services/api.ts) against the simulator', () => {
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

  it('getNodeList, uploadMediaV2, submitTask, queryTaskResult (v2 then v1 outputs) and getAccountInfo', async () => {
    const list = await send(sim, 'GET', `/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=${WEBAPP_ID}`, { headers: { Accept: 'application/json', ...BEARER } });
    expect(list.status).toBe(200);
    const demo = z
      .object({
        code: z.literal(0),
        data: z.looseObject({ webappName: z.string().min(1), nodeInfoList: z.array(z.looseObject({ nodeId: z.string(), nodeName: z.string(), fieldName: z.string(), fieldType: z.string() })) }),
      })
      .parse(list.json).data;
    expect(demo.nodeInfoList.find((n) => n.fieldName === 'image')?.fieldType).toBe('IMAGE');

    const upload = await send(sim, 'POST', '/openapi/v2/media/upload/binary', { headers: BEARER, body: pngForm({}) });
    expect(upload.status).toBe(200);
    const uploaded = z.object({ code: z.literal(0), data: z.object({ fileName: z.string().min(1), type: z.string(), download_url: z.string(), size: z.string() }) }).parse(upload.json).data;

    // normalizeNodeInfo's shape, every value a string, then the submit body with webappId as a string.
    const nodeInfoList = demo.nodeInfoList.map((n) => ({ ...n, fieldValue: n.fieldType === 'IMAGE' ? uploaded.fileName : 'a paper boat', description: n.fieldName }));
    const submit = await send(sim, 'POST', '/task/openapi/ai-app/run', { headers: JSON_BEARER, body: JSON.stringify({ webappId: WEBAPP_ID, apiKey: KEY, nodeInfoList, instanceType: 'default' }) });
    expect(submit.status).toBe(200);
    const task = z.object({ code: z.literal(0), data: z.object({ taskId: z.string().regex(/^\d{19}$/), clientId: z.string(), taskStatus: runtimeStatus, promptTips: z.string() }) }).parse(submit.json).data;

    const queryV2 = async () => {
      const reply = await send(sim, 'POST', '/openapi/v2/query', { headers: JSON_BEARER, body: JSON.stringify({ taskId: task.taskId }) });
      expect(reply.status).toBe(200);
      const body = z.looseObject({ taskId: z.string().min(1), status: runtimeStatus, errorCode: z.string().nullable(), results: z.array(z.looseObject({ url: z.string() })).nullable() }).parse(reply.json);
      expect('code' in body && ('msg' in body || 'message' in body)).toBe(false); // isWrappedApiResponse must say no
      return body;
    };
    const outputs = async () => {
      const reply = await send(sim, 'POST', '/task/openapi/outputs', { headers: { ...JSON_BEARER, Host: 'www.runninghub.cn' }, body: JSON.stringify({ apiKey: KEY, taskId: task.taskId }) });
      expect(reply.status).toBe(200);
      return z.looseObject({ code: z.number(), msg: z.string(), data: z.unknown() }).parse(reply.json);
    };
    expect((await queryV2()).status).toBe('QUEUED');
    expect((await outputs()).code).toBe(813); // normalizeLegacyQueryStatus: 813 → QUEUED
    sim.advance(QUEUED_MS);
    expect((await queryV2()).status).toBe('RUNNING');
    expect((await outputs()).code).toBe(804); // → RUNNING
    sim.advance(RUNNING_MS);
    const done = await queryV2();
    expect(done).toMatchObject({ status: 'SUCCESS', errorCode: '' });
    expect(done.results).toHaveLength(1);
    // queryTaskResult then reads usage from the v1 outputs' first item.
    const legacy = await outputs();
    const first = z.array(z.looseObject({ fileUrl: z.string().min(1), consumeCoins: z.string(), taskCostTime: z.string() })).min(1).parse(legacy.data)[0];
    expect(legacy.code).toBe(0);
    expect(first?.fileUrl).toBe(done.results?.[0]?.url);

    const account = await send(sim, 'POST', '/uc/openapi/accountStatus', { headers: { ...JSON_BEARER, Host: 'www.runninghub.cn' }, body: JSON.stringify({ apikey: KEY }) });
    expect(account.json).toMatchObject({ code: 0, data: { remainCoins: expect.any(String) as string, currentTaskCounts: '0', apiType: 'NORMAL' } });
  });

  it('a refused submit is HTTP 200 with a numeric code the client maps (803), and a failed task reads 805 with failedReason', async () => {
    const submit = await send(sim, 'POST', '/task/openapi/ai-app/run', {
      headers: JSON_BEARER,
      body: JSON.stringify({ webappId: WEBAPP_ID, apiKey: KEY, nodeInfoList: [{ nodeId: '999', nodeName: 'Input', fieldName: 'prompt', fieldValue: 'x', fieldType: 'STRING', description: '' }] }),
    });
    expect(submit.status).toBe(200);
    expect(submit.json).toEqual({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO', data: null });

    const ok = await send(sim, 'POST', '/task/openapi/ai-app/run', { headers: JSON_BEARER, body: JSON.stringify({ webappId: WEBAPP_ID, apiKey: KEY, nodeInfoList: [{ nodeId: '122', fieldName: 'prompt', fieldValue: '[sim:fail]' }] }) });
    const taskId = z.object({ data: z.object({ taskId: z.string() }) }).parse(ok.json).data.taskId;
    sim.advance(QUEUED_MS + RUNNING_MS);
    const v2 = await send(sim, 'POST', '/openapi/v2/query', { headers: JSON_BEARER, body: JSON.stringify({ taskId }) });
    expect(v2.json).toMatchObject({ status: 'FAILED', errorCode: expect.stringMatching(/^\d+$/) as string, errorMessage: expect.any(String) as string });
    const legacy = await send(sim, 'POST', '/task/openapi/outputs', { headers: { ...JSON_BEARER, Host: 'www.runninghub.cn' }, body: JSON.stringify({ apiKey: KEY, taskId }) });
    expect(legacy.json).toMatchObject({ code: 805, data: { failedReason: { node_name: expect.any(String) as string, exception_message: expect.any(String) as string, traceback: expect.any(String) as string } } });
  });
});
