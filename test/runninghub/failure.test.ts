import { describe, expect, it } from 'vitest';
import { describeTaskFailure } from '../../src/runninghub/index.js';

const reason = { nodeId: null, nodeName: null, exceptionType: null, exceptionMessage: null, traceback: null };

describe('describeTaskFailure', () => {
  it('is RunningHub message alone when ComfyUI gave no detail', () => {
    expect(describeTaskFailure({ code: '805', message: 'APIKEY_TASK_STATUS_ERROR', failedReason: null })).toBe('APIKEY_TASK_STATUS_ERROR');
  });

  it('adds where ComfyUI failed and what it raised', () => {
    const failedReason = { ...reason, nodeId: '3', nodeName: 'KSampler', exceptionType: 'RuntimeError', exceptionMessage: 'out of memory' };
    expect(describeTaskFailure({ code: '805', message: 'APIKEY_TASK_STATUS_ERROR', failedReason })).toBe(
      'APIKEY_TASK_STATUS_ERROR | KSampler, node 3 | RuntimeError: out of memory',
    );
  });

  it('leaves out the parts RunningHub did not send', () => {
    const failedReason = { ...reason, exceptionMessage: 'out of memory' };
    expect(describeTaskFailure({ code: '805', message: 'failed', failedReason })).toBe('failed | out of memory');
  });
});
