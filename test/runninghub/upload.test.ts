// The upload client (v1 and v2) against the simulator's upload endpoints over real HTTP, and the
// simulator's rule (requireUploadedImages) that a LoadImage `image` names a file uploaded with the same key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRunningHubClient, isRunningHubError, uploadFileV1, uploadFileV2 } from '../../src/runninghub/index.js';
import { startSimulator, type RunningSimulator } from '../../src/runninghub/simulator/index.js';
import { solidPngForTests } from '../support/images.js';

const KEY = 'upload-test-key-0123456789abcdef';
const OTHER = 'another-key-0123456789abcdef0123';

describe('RunningHub uploads (client and simulator)', () => {
  let sim: RunningSimulator;
  const target = () => ({ baseUrl: sim.url, apiKey: KEY, timeoutMs: 5_000 });
  const file = { bytes: solidPngForTests(), fileName: 'ref.png', contentType: 'image/png' };

  beforeAll(async () => {
    sim = await startSimulator({ queuedMs: [0, 0], runningMs: [0, 0] });
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.reset();
    sim.setOptions({ faults: {}, requireUploadedImages: false, acceptAnyKey: true, keys: {} });
  });

  it('uploads with v1 (multipart apiKey) and v2 (Bearer), answering the documented file names', async () => {
    const v1 = await uploadFileV1(target(), file);
    expect(v1).toEqual({ fileName: expect.stringMatching(/^api\/[0-9a-f]{64}\.png$/), downloadUrl: null });
    const v2 = await uploadFileV2(target(), file);
    expect(v2.fileName).toMatch(/^openapi\/[0-9a-f]{64}\.png$/);
    expect(v2.downloadUrl).toBe(`${sim.url}/uploads/${v2.fileName}`);
    expect(sim.counters().callsByEndpoint).toMatchObject({ upload: 1, uploadV2: 1 });
  });

  it('classifies refusals: an unknown key is permanent (802), 808 and 5xx are retryable, the key never shows', async () => {
    sim.setOptions({ acceptAnyKey: false, keys: { [OTHER]: {} } });
    const refused = await uploadFileV1(target(), file).catch((e: unknown) => e);
    expect(isRunningHubError(refused) && { code: refused.code, kind: refused.kind }).toEqual({ code: '802', kind: 'permanent' });
    expect(String(refused)).not.toContain(KEY);
    sim.setOptions({ acceptAnyKey: true, faults: { upload: { kind: 'code', code: 808, times: 1 } } });
    const failed = await uploadFileV1(target(), file).catch((e: unknown) => e);
    expect(isRunningHubError(failed) && { code: failed.code, kind: failed.kind }).toEqual({ code: '808', kind: 'retryable' });
    sim.setOptions({ faults: { uploadV2: { kind: 'http', status: 502, times: 1 } } });
    const gateway = await uploadFileV2(target(), file).catch((e: unknown) => e);
    expect(isRunningHubError(gateway) && { code: gateway.code, kind: gateway.kind }).toEqual({ code: 'HTTP_502', kind: 'retryable' });
  });

  it('with requireUploadedImages, refuses a create whose image was not uploaded with the same key (803)', async () => {
    sim.setOptions({ requireUploadedImages: true });
    const client = createRunningHubClient({ baseUrl: sim.url, apiKey: KEY, timeoutMs: 5_000 });
    const { fileName } = await uploadFileV1(target(), file);
    const withImage = (value: string) => ({ workflowId: '1904136902449209346', nodeInfoList: [{ nodeId: '10', fieldName: 'image', fieldValue: value }] });
    await expect(client.createTask(withImage(fileName))).resolves.toMatchObject({ taskId: expect.stringMatching(/^\d+$/) });
    const unknown = await client.createTask(withImage('api/never-uploaded.png')).catch((e: unknown) => e);
    expect(isRunningHubError(unknown) && unknown.code).toBe('803');
    const { fileName: othersFile } = await uploadFileV1({ ...target(), apiKey: OTHER }, file);
    const foreign = await client.createTask(withImage(othersFile)).catch((e: unknown) => e);
    expect(isRunningHubError(foreign) && foreign.code).toBe('803');
  });
});
