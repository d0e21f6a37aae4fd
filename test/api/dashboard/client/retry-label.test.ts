// What the storyboard page's retry button says: cancelled shots are not called failed.
import { describe, expect, it } from 'vitest';
import { retryLabel } from '../../../../src/api/dashboard/client/retry-label.js';

describe('retryLabel', () => {
  it('names the failed and the cancelled shots apart', () => {
    expect(retryLabel({ failed: 1, cancelled: 0 })).toBe('Retry 1 failed');
    expect(retryLabel({ failed: 0, cancelled: 9 })).toBe('Retry 9 cancelled');
    expect(retryLabel({ failed: 2, cancelled: 3 })).toBe('Retry 2 failed and 3 cancelled');
  });
});
