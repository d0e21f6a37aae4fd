// The requests difyz9/runninghub-sdk-go (runninghub/*.go) sends, byte for byte where it matters: every
// request with `Authorization: Bearer <key>` and its User-Agent, v1 bodies with `apiKey` (accountStatus:
// `apikey`), ids as JSON strings, Go's encoder's trailing newline; and its reply types as Go decodes them
// (types.go): a number where it declares a string, or a string where it declares an int, fails its decode.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningSimulator } from '../../../src/runninghub/simulator/index.js';
import { waitFor } from '../../support/wait.js';
import { goBool, goDigits, goInt, goString, KEY, pngForm, QUEUED_MS, RUNNING_MS, send, startClientSimulator, startReceiver, WEBAPP_ID, WORKFLOW_ID, type Receiver } from './harness.js';

const HEADERS = { Authorization: `Bearer ${KEY}`, 'User-Agent': 'runninghub-go-sdk/0.1' };

const envelope = <T extends z.ZodType>(data: T) => z.object({ code: z.number().int(), msg: goString, data: data.nullable() });
const taskCreateResponse = z.object({ netWssUrl: goString, taskId: goDigits, clientId: goString, taskStatus: goString, promptTips: goString });
const taskOutputItem = z.object({ fileUrl: z.string(), fileType: goString, taskCostTime: goString, nodeId: goString, consumeCoins: goString });
const queryV2Response = z.object({
  taskId: goString,
  status: goString,
  errorCode: goString,
  errorMessage: goString,
  results: z.array(z.object({ url: goString, nodeId: goString, outputType: goString, text: goString })).nullable().optional(),
  clientId: goString,
  promptTips: goString,
  failedReason: z.record(z.string(), z.unknown()).nullable().optional(),
  usage: z.object({ thirdPartyConsumeMoney: goString, consumeMoney: goString, consumeCoins: goString, taskCostTime: goString }).nullable().optional(),
});
const webhookDetailData = z.object({
  id: goDigits,
  userApiKey: goString,
  taskId: goDigits,
  webhookUrl: goString,
  event: goString,
  eventData: z.string(),
  callbackStatus: z.string(),
  callbackResponse: goString,
  retryCount: goInt,
  createTime: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
  updateTime: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
});

/** A JSON request as the SDK's doJSON sends it. */
function goJson(sim: RunningSimulator, path: string, body: unknown) {
  return send(sim, 'POST', path, { headers: { ...HEADERS, 'Content-Type': 'application/json' }, body: `${JSON.stringify(body)}\n` });
}

describe('difyz9/runninghub-sdk-go against the simulator', () => {
  let sim: RunningSimulator;
  let receiver: Receiver;
  beforeAll(async () => {
    sim = await startClientSimulator();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await sim.stop();
  });
  beforeEach(() => {
    sim.reset();
    receiver.bodies.length = 0;
  });

  it('v1: getJsonApiFormat, accountStatus, create, status and outputs through QUEUED and RUNNING, webhook, getWebhookDetail, retryWebhook', async () => {
    const format = envelope(z.object({ prompt: z.string() })).parse((await goJson(sim, '/api/openapi/getJsonApiFormat', { apiKey: KEY, workflowId: WORKFLOW_ID })).json);
    expect(Object.keys(JSON.parse(format.data?.prompt ?? '{}') as object)).toEqual(expect.arrayContaining(['3', '6', '10']));
    const account = envelope(z.object({ remainCoins: goString, currentTaskCounts: goString, apiType: goString })).parse((await goJson(sim, '/uc/openapi/accountStatus', { apikey: KEY })).json);
    expect(account).toMatchObject({ code: 0, data: { currentTaskCounts: '0', apiType: 'NORMAL' } });

    const createBody = { apiKey: KEY, workflowId: WORKFLOW_ID, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a lighthouse' }], webhookUrl: receiver.url, instanceType: 'default' };
    const created = envelope(taskCreateResponse).parse((await goJson(sim, '/task/openapi/create', createBody)).json);
    expect(created).toMatchObject({ code: 0, data: { taskStatus: 'QUEUED', netWssUrl: null } });
    const taskId = created.data?.taskId ?? '';
    expect(BigInt(taskId) < 2n ** 63n).toBe(true); // the SDK keeps it as an int64

    const status = async () => envelope(z.string()).parse((await goJson(sim, '/task/openapi/status', { apiKey: KEY, taskId })).json);
    const outputs = async () => z.object({ code: z.number().int(), msg: z.string(), data: z.unknown() }).parse((await goJson(sim, '/task/openapi/outputs', { apiKey: KEY, taskId })).json);
    expect(await status()).toEqual({ code: 0, msg: '', data: 'QUEUED' });
    expect(await outputs()).toEqual({ code: 813, msg: 'APIKEY_TASK_IS_QUEUED', data: null });
    sim.advance(QUEUED_MS);
    expect((await status()).data).toBe('RUNNING');
    // GetTaskOutputsDeprecated: code 804 with data.netWssUrl is "running" and hands the socket back.
    const running = await outputs();
    expect(running).toMatchObject({ code: 804, msg: 'APIKEY_TASK_IS_RUNNING' });
    expect(z.object({ netWssUrl: z.string().regex(/^wss?:\/\/.+\/ws\/c_instance\?.*clientId=[0-9a-f]{32}/) }).safeParse(running.data).success).toBe(true);
    sim.advance(RUNNING_MS);
    expect((await status()).data).toBe('SUCCESS');
    const done = await outputs();
    expect(done.code).toBe(0);
    expect(z.array(taskOutputItem).parse(done.data)).toEqual([expect.objectContaining({ fileType: 'png', nodeId: '9', consumeCoins: expect.any(String) as string })]);

    await waitFor('the TASK_END webhook', () => receiver.bodies.length === 1);
    const event = z.object({ event: z.literal('TASK_END'), taskId: z.literal(taskId), eventData: z.string() }).parse(JSON.parse(receiver.bodies[0]!));
    await waitFor('the delivery to be recorded', () => sim.counters().webhooksDelivered === 1);
    const detail = envelope(webhookDetailData).parse((await goJson(sim, '/task/openapi/getWebhookDetail', { apiKey: KEY, taskId })).json);
    expect(detail.data).toMatchObject({ taskId, webhookUrl: receiver.url, eventData: event.eventData, callbackStatus: 'SUCCESS', callbackResponse: '{"ok":true}', retryCount: 0 });
    expect(detail.data?.id).not.toBe(taskId);
    expect(JSON.stringify(detail)).not.toContain(KEY);

    const retried = await goJson(sim, '/task/openapi/retryWebhook', { apiKey: KEY, webhookId: detail.data?.id, webhookUrl: receiver.url });
    expect(retried.json).toEqual({ code: 0, msg: '', data: null });
    await waitFor('the event sent again', () => receiver.bodies.length === 2);
    expect(receiver.bodies[1]).toBe(receiver.bodies[0]);
  });

  it('v1: simple create, cancel, outputs 805 with failedReason, 807 for an unknown task; AI app through apiCallDemo and ai-app/run', async () => {
    const simple = envelope(taskCreateResponse).parse((await goJson(sim, '/task/openapi/create', { apiKey: KEY, workflowId: WORKFLOW_ID })).json);
    const taskId = simple.data?.taskId ?? '';
    expect((await goJson(sim, '/task/openapi/cancel', { apiKey: KEY, taskId })).json).toEqual({ code: 0, msg: 'success', data: null });
    const cancelled = z.object({ code: z.literal(805), data: z.object({ failedReason: z.object({ exception_type: z.string().min(1), node_id: goString, node_name: goString, exception_message: goString }) }) });
    expect(cancelled.safeParse((await goJson(sim, '/task/openapi/outputs', { apiKey: KEY, taskId })).json).success).toBe(true);
    expect((await goJson(sim, '/task/openapi/status', { apiKey: KEY, taskId: '1234567890123456789' })).json).toEqual({ code: 807, msg: 'APIKEY_TASK_NOT_FOUND', data: null });

    // GetAIAppAPICallDemo: a GET with the key and the app in the (sorted) query, and the Bearer header.
    const demo = await send(sim, 'GET', `/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=${WEBAPP_ID}`, { headers: HEADERS });
    const demoData = z.object({ curl: goString, accessEncrypted: goBool, webappName: z.string().min(1), nodeInfoList: z.array(z.object({ nodeId: z.string(), fieldName: z.string(), fieldType: goString })) });
    expect(envelope(demoData).parse(demo.json).data?.nodeInfoList.map((n) => `${n.nodeId}:${n.fieldName}`).sort()).toEqual(['122:prompt', '39:image']);
    const run = await goJson(sim, '/task/openapi/ai-app/run', { apiKey: KEY, webappId: WEBAPP_ID, nodeInfoList: [{ nodeId: '122', fieldName: 'prompt', fieldValue: 'a fox', description: 'prompt' }] });
    expect(envelope(taskCreateResponse).parse(run.json).code).toBe(0);
    expect(sim.tasks().find((t) => t.kind === 'app')?.targetId).toBe(WEBAPP_ID);
  });

  it('v2: queue/status, upload/binary, run/workflow with the upload, query to SUCCESS, the webhook as a QueryV2Response', async () => {
    const queue = envelope(z.object({ apiKeyType: goString, concurrentLimit: goInt, runningCount: goString, queuedCount: goString, totalCurrentTasks: goString })).parse(
      (await send(sim, 'GET', '/openapi/v2/queue/status', { headers: HEADERS })).json,
    );
    expect(queue).toMatchObject({ code: 0, data: { concurrentLimit: 3, totalCurrentTasks: '0' } });

    // UploadBinaryFile decodes a MessageEnvelope: code, then data.
    const upload = z.object({ code: z.number().int(), data: z.object({ type: goString, download_url: z.string().min(1), fileName: z.string().min(1), size: z.string() }) }).parse(
      (await send(sim, 'POST', '/openapi/v2/media/upload/binary', { headers: HEADERS, body: pngForm({}) })).json,
    );
    expect(upload.code).toBe(0);

    const runBody = { nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a castle' }, { nodeId: '10', fieldName: 'image', fieldValue: upload.data.fileName }], instanceType: 'default', webhookUrl: receiver.url };
    const submitted = queryV2Response.parse((await goJson(sim, `/openapi/v2/run/workflow/${WORKFLOW_ID}`, runBody)).json);
    expect(submitted.taskId).toMatch(/^\d{19}$/); // the SDK's success test: a taskId
    const query = async () => queryV2Response.parse((await goJson(sim, '/openapi/v2/query', { taskId: submitted.taskId })).json);
    expect((await query()).status).toBe('QUEUED');
    sim.advance(QUEUED_MS);
    expect((await query()).status).toBe('RUNNING');
    sim.advance(RUNNING_MS);
    const done = await query();
    expect(done).toMatchObject({ status: 'SUCCESS', errorCode: '', results: [{ outputType: 'png', url: expect.stringMatching(/^http:\/\/.+\.png$/) as string }] });

    await waitFor('the v2 webhook', () => receiver.bodies.length === 1);
    expect(queryV2Response.parse(JSON.parse(receiver.bodies[0]!))).toMatchObject({ taskId: submitted.taskId, status: 'SUCCESS' });

    // An AI app through v2, with the app's id in the path.
    const app = queryV2Response.parse((await goJson(sim, `/openapi/v2/run/ai-app/${WEBAPP_ID}`, { nodeInfoList: [{ nodeId: '122', fieldName: 'prompt', fieldValue: 'a bird' }], instanceType: 'default' })).json);
    expect(app.taskId).toMatch(/^\d{19}$/);
  });

  it('refusals: v2 as a flat {errorCode, errorMessage} with no taskId (HTTP 200), v1 as {code, msg}', async () => {
    const other = { Authorization: 'Bearer not-a-key', 'User-Agent': 'runninghub-go-sdk/0.1', 'Content-Type': 'application/json' };
    const refused = await send(sim, 'POST', `/openapi/v2/run/workflow/${WORKFLOW_ID}`, { headers: other, body: '{"nodeInfoList":[]}\n' });
    expect(refused.status).toBe(200);
    const flat = queryV2Response.parse(refused.json);
    expect(flat.taskId ?? '').toBe('');
    expect(Number.parseInt(flat.errorCode ?? '', 10)).toBe(802);
    const account = await send(sim, 'POST', '/uc/openapi/accountStatus', { headers: other, body: '{"apikey":"not-a-key"}\n' });
    expect(account.json).toEqual({ code: 802, msg: 'APIKEY_UNAUTHORIZED', data: null });
  });
});
