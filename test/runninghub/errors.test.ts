import { describe, expect, it } from 'vitest';
import { RunningHubError, classifyCode, isBalanceFailure } from '../../src/runninghub/index.js';

describe('classifyCode', () => {
  it.each(['421', '415', '814', '1520', '1003', 'HTTP_429'])('%s is a capacity refusal: retry, not a failure', (code) => {
    expect(classifyCode(code)).toEqual({ kind: 'retryable', capacity: true });
  });

  it.each(['500', 'NETWORK', 'TIMEOUT', 'ABORTED', 'MALFORMED_REPLY', 'HTTP_502', 'HTTP_503', '1011'])('%s is retryable', (code) => {
    expect(classifyCode(code)).toEqual({ kind: 'retryable', capacity: false });
  });

  it.each(['802', '801', '380', '901', '803', '416', '301', '807', '412', '433', 'HTTP_404', '99999'])('%s is permanent', (code) => {
    expect(classifyCode(code)).toEqual({ kind: 'permanent', capacity: false });
  });

  it('keeps the code and message and names both in the error message', () => {
    const error = new RunningHubError({ operation: 'create', code: '802', remoteMessage: 'APIKEY_UNAUTHORIZED' });
    expect(error).toMatchObject({ kind: 'permanent', code: '802', remoteMessage: 'APIKEY_UNAUTHORIZED', operation: 'create', retryable: false });
    expect(error.message).toBe('RunningHub create failed: 802 APIKEY_UNAUTHORIZED');
  });
});

describe('isBalanceFailure', () => {
  it.each([
    'Insufficient balance: not enough coins to run this task',
    'insufficient balance',
    'Your wallet balance is not enough',
    '账户余额不足',
    'coins exhausted',
  ])('"%s" says the coins ran out', (message) => {
    expect(isBalanceFailure(message)).toBe(true);
  });

  it.each([
    "Error in node ColorBalance: expected 3 channels, got 4",
    'simulated failure',
    'CUDA out of memory',
    'insufficient memory on the GPU',
  ])('"%s" does not', (message) => {
    expect(isBalanceFailure(message)).toBe(false);
  });
});
