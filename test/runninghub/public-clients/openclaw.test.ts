// The requests HM-RunningHub/OpenClaw_RH_Skills (runninghub/scripts/runninghub_app.py and runninghub.py,
// RunningHub's own skill, curl-based) sends for `--check` and `--run WEBAPP_ID --node … --file …`, and the
// reply fields it reads. Its quirks on purpose: Python's json.dump spacing, the AI app id as a JSON *integer*
// of 19 digits, `apikey` plus Bearer for accountStatus, no Authorization header on the v1 upload and run
// (the key is in the body), a `Host` header, a v1-created task followed through v2 /query, and curl's
// --fail-with-body (any HTTP status ≥ 400 is a failure before the body is read).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningSimulator } from '../../../src/runninghub/simulator/index.js';
import { KEY, pngForm, QUEUED_MS, RUNNING_MS, send, startClientSimulator, WEBAPP_ID } from './harness.js';

/** Python's json.dumps(payload) with its default separators. */
function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "');
}

describe('OpenClaw (runninghub_app.py) against the simulator', () => {
  let sim: RunningSimulator;
  let host: string;
  beforeAll(async () => {
    sim = await startClientSimulator();
    host = new URL(sim.url).host;
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.reset();
    sim.setOptions({ keys: { [KEY]: {} } });
  });

  it('--check: accountStatus with {"apikey"} and the Bearer header', async () => {
    const reply = await send(sim, 'POST', '/uc/openapi/accountStatus', {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
      body: pythonJson({ apikey: KEY }),
    });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ code: 0, data: { remainMoney: null, currency: null, remainCoins: expect.stringMatching(/^\d+$/) as string, currentTaskCounts: '0', apiType: 'NORMAL' } });
    // The skill is written for enterprise keys: it reads float(remainMoney) > 0 as "ready".
    sim.setOptions({ keys: { [KEY]: { apiType: 'SHARED', remainMoney: 12.5 } } });
    const shared = await send(sim, 'POST', '/uc/openapi/accountStatus', { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: pythonJson({ apikey: KEY }) });
    expect(shared.json).toMatchObject({ code: 0, data: { remainMoney: '12.5', currency: 'CNY', apiType: 'SHARED' } });
  });

  it('--run: apiCallDemo, v1 upload, ai-app/run with an integer webappId, v2 /query to SUCCESS, download', async () => {
    // get_node_info: a bare GET (no Authorization), the key in the query.
    const demo = await send(sim, 'GET', `/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=${WEBAPP_ID}`);
    expect(demo.status).toBe(200);
    const nodes = z
      .object({ code: z.literal(0), data: z.object({ nodeInfoList: z.array(z.looseObject({ nodeId: z.string(), fieldName: z.string(), fieldValue: z.string() })).min(1) }) })
      .parse(demo.json).data.nodeInfoList;

    // upload_file: multipart apiKey, fileType=input, file; the script insists on msg "success".
    const upload = await send(sim, 'POST', '/task/openapi/upload', { headers: { Host: host }, body: pngForm({ apiKey: KEY, fileType: 'input' }) });
    const uploaded = z.object({ code: z.literal(0), msg: z.literal('success'), data: z.object({ fileName: z.string().startsWith('api/') }) }).parse(upload.json);

    // apply_modifications, then submit_task: the whole demo list, edited; webappId as int(webapp_id).
    const edited = nodes.map((n) => (n.fieldName === 'image' ? { ...n, fieldValue: uploaded.data.fileName } : { ...n, fieldValue: 'a girl dancing' }));
    const body = pythonJson({ apiKey: KEY, webappId: '@ID@', nodeInfoList: edited }).replace('"@ID@"', WEBAPP_ID);
    expect(body).toContain(`"webappId": ${WEBAPP_ID},`);
    const run = await send(sim, 'POST', '/task/openapi/ai-app/run', { headers: { 'Content-Type': 'application/json', Host: host }, body });
    expect(run.status).toBe(200);
    const data = z.object({ code: z.literal(0), data: z.object({ taskId: z.string().regex(/^\d{19}$/), promptTips: z.string() }) }).parse(run.json).data;
    expect(z.object({ node_errors: z.record(z.string(), z.unknown()) }).parse(JSON.parse(data.promptTips)).node_errors).toEqual({});
    expect(sim.tasks()[0]?.targetId).toBe(WEBAPP_ID); // the 19-digit integer arrived exactly

    // poll_task: v2 /query with the Bearer header; "SUCCESS" ends it, anything but "FAILED" keeps polling.
    const poll = async () => {
      const reply = await send(sim, 'POST', '/openapi/v2/query', { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: pythonJson({ taskId: data.taskId }) });
      expect(reply.status).toBe(200);
      return z.looseObject({ status: z.string() }).parse(reply.json);
    };
    expect((await poll()).status).toBe('QUEUED');
    sim.advance(QUEUED_MS);
    expect((await poll()).status).toBe('RUNNING');
    sim.advance(RUNNING_MS);
    const final = z
      .object({
        status: z.literal('SUCCESS'),
        results: z.array(z.looseObject({ url: z.string().min(1), outputType: z.string() })).min(1),
        usage: z.looseObject({ consumeMoney: z.unknown(), thirdPartyConsumeMoney: z.unknown(), taskCostTime: z.string() }),
      })
      .parse(await poll());
    const file = await fetch(final.results[0]!.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('answers business errors with HTTP 200 and {code, msg}, so the script reports them instead of a curl failure', async () => {
    const demo = await send(sim, 'GET', `/api/webapp/apiCallDemo?apiKey=${KEY}&webappId=1234567890123456789`);
    expect(demo.status).toBe(200);
    expect(demo.json).toEqual({ code: 901, msg: 'WEBAPP_NOT_EXISTS', data: null });
    const unknownKey = await send(sim, 'GET', `/api/webapp/apiCallDemo?apiKey=not-a-key&webappId=${WEBAPP_ID}`);
    expect(unknownKey.json).toEqual({ code: 802, msg: 'APIKEY_UNAUTHORIZED', data: null });
    const body = pythonJson({ apiKey: KEY, webappId: '@ID@', nodeInfoList: [{ nodeId: '7', fieldName: 'prompt', fieldValue: 'x' }] }).replace('"@ID@"', WEBAPP_ID);
    const run = await send(sim, 'POST', '/task/openapi/ai-app/run', { headers: { 'Content-Type': 'application/json', Host: host }, body });
    expect(run.status).toBe(200);
    expect(run.json).toEqual({ code: 803, msg: 'APIKEY_INVALID_NODE_INFO', data: null });
  });
});
