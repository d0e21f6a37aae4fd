// Pure rules: unit tests without mocks of anything.
import { describe, expect, it } from 'vitest';
import { accountFingerprint, errorBackoffMs, retryBackoffMs } from '../../src/processor/index.js';

describe('processor policy', () => {
  it('backs off 3 s, 6 s, 9 s … up to 30 s after consecutive errors (the original design)', () => {
    expect([1, 2, 3, 4, 10, 11, 50].map((n) => errorBackoffMs(n, 3_000, 30_000))).toEqual([
      3_000, 6_000, 9_000, 12_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('doubles the retry backoff per attempt, capped', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryBackoffMs(n, 5_000, 30_000))).toEqual([5_000, 10_000, 20_000, 30_000, 30_000]);
  });

  it('identifies the account by a hash that does not contain the key', () => {
    const fingerprint = accountFingerprint('my-secret-key');
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint).toBe(accountFingerprint('my-secret-key'));
    expect(fingerprint).not.toBe(accountFingerprint('my-secret-key2'));
    expect(fingerprint).not.toContain('my-secret-key');
  });
});
