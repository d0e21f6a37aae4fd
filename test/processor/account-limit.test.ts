import { describe, expect, it } from 'vitest';
import { accountLimitFromReport } from '../../src/processor/account-limit.js';

describe('the account limit RunningHub reports', () => {
  it('is followed when it is within the configured maximum', () => {
    expect(accountLimitFromReport(2, 3)).toEqual({ limit: 2, note: null });
    expect(accountLimitFromReport(3, 3)).toEqual({ limit: 3, note: null });
    expect(accountLimitFromReport('1', 3)).toEqual({ limit: 1, note: null });
  });

  it('never exceeds the configured maximum', () => {
    expect(accountLimitFromReport(10, 3)).toEqual({ limit: 3, note: 'RunningHub allows 10; RUNNINGHUB_MAX_RUNNING caps it at 3' });
  });

  it('falls back to the configured maximum, saying why, when the report is unusable', () => {
    for (const reported of [0, -1, 2.5, 'many', '', null, undefined, {}]) {
      const result = accountLimitFromReport(reported, 3);
      expect(result.limit, JSON.stringify(reported)).toBe(3);
      expect(result.note).toMatch(/not a whole number from 1; using RUNNINGHUB_MAX_RUNNING 3/);
    }
  });
});
