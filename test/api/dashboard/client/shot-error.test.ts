import { describe, expect, it } from 'vitest';
import { shotErrorText } from '../../../../src/api/dashboard/client/shot-error.js';

describe('shotErrorText', () => {
  it("puts RunningHub's last part (the reason) first, and the code with the rest after it", () => {
    expect(shotErrorText({ code: '805', message: 'APIKEY_TASK_STATUS_ERROR | KSampler, node 3 | RuntimeError: out of memory' })).toEqual({
      reason: 'RuntimeError: out of memory',
      source: '805: APIKEY_TASK_STATUS_ERROR | KSampler, node 3',
    });
  });
  it('keeps a one-part message whole, with its code as the source', () => {
    expect(shotErrorText({ code: 'TIMEOUT', message: 'no result 600 s after its submission (timeout 600 s)' })).toEqual({
      reason: 'no result 600 s after its submission (timeout 600 s)',
      source: 'TIMEOUT',
    });
  });
  it('falls back to the code when the message is empty', () => {
    expect(shotErrorText({ code: 'FAILED', message: ' ' })).toEqual({ reason: 'FAILED', source: '' });
  });
});
