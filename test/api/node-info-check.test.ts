// VALIDATE_NODE_INFO: POST /api/tasks checks nodeInfoList against the workflow's API format, fetched
// from the (strict) simulator over HTTP through getJsonApiFormat once per workflow, before queueing.
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNodeInfoChecker, loadApiConfig } from '../../src/api/index.js';
import { createRunningHubClient } from '../../src/runninghub/index.js';
import { startSimulator, type RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestApp, validTask } from './support.js';

const KEY = 'node-info-check-key';
/** A second workflow, configured by options only (the shipped one is 1904136902449209346). */
const OTHER_WORKFLOW = '1904136902449209999';

describe('VALIDATE_NODE_INFO', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_node_info_check');
    sim = await startSimulator({ keys: { [KEY]: {} }, workflows: { [OTHER_WORKFLOW]: { nodes: { '12': ['prompt'] } } } });
    const checker = createNodeInfoChecker(createRunningHubClient({ baseUrl: sim.url, apiKey: KEY }));
    app = await startTestApp(db.pool, { checkNodeInfo: checker });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.stop();
    await db?.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE ai_tasks');
    sim.setOptions({ faults: {} });
  });

  const post = (body: object) => request(app.server).post('/api/tasks').send(body);
  const stored = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM ai_tasks')).rows[0]?.n);

  it('accepts a nodeInfoList that names nodes and fields of the workflow, and asks RunningHub once per workflow', async () => {
    await post(validTask).expect(201);
    await post({ ...validTask, nodeInfoList: [{ nodeId: '3', fieldName: 'seed', fieldValue: '7' }, { nodeId: '10', fieldName: 'image', fieldValue: 'api/a.png' }] }).expect(201);
    expect(sim.counters().callsByEndpoint.getJsonApiFormat).toBe(1);
    expect(await stored()).toBe(2);
  });

  it('answers 422 naming the node or the field, before anything is queued', async () => {
    const node = await post({ ...validTask, nodeInfoList: [validTask.nodeInfoList[0], { nodeId: '99', fieldName: 'text', fieldValue: 'x' }] }).expect(422);
    expect(node.body.error).toMatchObject({ code: 'NODE_INFO_INVALID', details: { path: 'nodeInfoList.1.nodeId', nodeId: '99' } });
    expect(node.body.error.message).toMatch(/nodeInfoList\[1\].*no node 99/);
    const field = await post({ ...validTask, nodeInfoList: [{ nodeId: '6', fieldName: 'seed', fieldValue: '1' }] }).expect(422);
    expect(field.body.error).toMatchObject({ code: 'NODE_INFO_INVALID', details: { path: 'nodeInfoList.0.fieldName', fieldName: 'seed' } });
    expect(field.body.error.message).toMatch(/node 6 \(CLIPTextEncode\) has no field "seed"; it has "text"/);
    // A link input (node 3's model) is not settable either.
    await post({ ...validTask, nodeInfoList: [{ nodeId: '3', fieldName: 'model', fieldValue: 'x' }] }).expect(422);
    const unknown = await post({ ...validTask, workflowId: '1' }).expect(422);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_WORKFLOW', details: { path: 'workflowId' } });
    expect(await stored()).toBe(0);
  });

  it('answers 503 when RunningHub cannot be asked, and asks again next time (a failure is not cached)', async () => {
    sim.setOptions({ faults: { getJsonApiFormat: { kind: 'http', status: 502, times: 1 } } });
    const body = { ...validTask, workflowId: OTHER_WORKFLOW, nodeInfoList: [{ nodeId: '12', fieldName: 'prompt', fieldValue: 'x' }] };
    const down = await post(body).expect(503);
    expect(down.body.error.code).toBe('RUNNINGHUB_UNAVAILABLE');
    expect(await stored()).toBe(0);
    await post(body).expect(201);
  });

  it('leaves AI app tasks unchecked (getJsonApiFormat is for workflows)', async () => {
    await post({ entityType: 'shot', entityId: 'a', entityName: 'A', webappId: '1877265245566922753', nodeInfoList: [{ nodeId: '1', fieldName: 'x', fieldValue: 'y' }] }).expect(201);
  });

  it('is off by default, and needs a RunningHub key when on (named in the error)', () => {
    expect(loadApiConfig({}).nodeInfoValidation).toBeUndefined();
    expect(() => loadApiConfig({ VALIDATE_NODE_INFO: 'true' })).toThrow(/RUNNINGHUB_API_KEY/);
    expect(loadApiConfig({ VALIDATE_NODE_INFO: 'true', RUNNINGHUB_API_KEY: 'k' }).nodeInfoValidation).toMatchObject({ apiKey: 'k' });
  });
});
