import { describe, expect, it } from 'vitest';
import { loadProcessorConfig } from '../../src/processor/index.js';

const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', RUNNINGHUB_API_KEY: 'k' };

describe('processor configuration', () => {
  it("defaults to the original design's settings", () => {
    const { settings, logFile } = loadProcessorConfig(base);
    expect(settings).toMatchObject({
      pollIntervalMs: 3_000,
      maxPendingBatch: 5,
      maxActiveBatch: 20,
      taskTimeoutMs: 600_000,
      maxConsecutiveErrors: 10,
      errorBackoffMs: 3_000,
      errorBackoffMaxMs: 30_000,
      maxRunning: 3,
      checkIntervalMs: 5_000,
      webhookUrl: undefined,
    });
    expect(logFile).toBe('logs/task_processor.log');
  });

  it('reads durations with units and builds the webhook URL with the secret', () => {
    const { settings } = loadProcessorConfig({
      ...base,
      POLL_INTERVAL: '500ms',
      TASK_TIMEOUT: '2m',
      RUNNINGHUB_WEBHOOK_URL: 'http://127.0.0.1:8000/api/runninghub/webhook',
      RUNNINGHUB_WEBHOOK_SECRET: 'sixteen-chars-or-more',
    });
    expect(settings.pollIntervalMs).toBe(500);
    expect(settings.taskTimeoutMs).toBe(120_000);
    expect(settings.webhookUrl).toBe('http://127.0.0.1:8000/api/runninghub/webhook?secret=sixteen-chars-or-more');
    // With webhooks on, RunningHub is asked less often.
    expect(settings.checkIntervalMs).toBe(15_000);
  });

  it('reads the callback and retention settings; retention is off unless RETENTION_MAX_AGE is set', () => {
    const plain = loadProcessorConfig(base).settings;
    expect(plain.retention).toBeUndefined();
    expect(plain.callbacks).toEqual({ signingSecret: undefined, maxAttempts: 8, backoffMs: 5_000, backoffMaxMs: 600_000, timeoutMs: 10_000 });
    const { settings } = loadProcessorConfig({
      ...base,
      CALLBACK_SIGNING_SECRET: 'sixteen-chars-or-more',
      CALLBACK_MAX_ATTEMPTS: '3',
      CALLBACK_TIMEOUT: '2s',
      RETENTION_MAX_AGE: '720h',
      RETENTION_MODE: 'archive',
      RETENTION_BATCH_SIZE: '100',
    });
    expect(settings.callbacks).toMatchObject({ signingSecret: 'sixteen-chars-or-more', maxAttempts: 3, timeoutMs: 2_000 });
    expect(settings.retention).toEqual({ maxAgeMs: 30 * 86_400_000, batchSize: 100, intervalMs: 60_000, mode: 'archive' });
    expect(() => loadProcessorConfig({ ...base, RETENTION_MODE: 'shred' })).toThrow(/RETENTION_MODE/);
    expect(() => loadProcessorConfig({ ...base, RETENTION_BATCH_SIZE: '0' })).toThrow(/RETENTION_BATCH_SIZE/);
  });

  it('reads where the account limit comes from and how often RunningHub is asked for it', () => {
    expect(loadProcessorConfig(base).settings).toMatchObject({ accountLimitSource: 'config', accountLimitIntervalMs: 60_000 });
    const { settings } = loadProcessorConfig({ ...base, RUNNINGHUB_ACCOUNT_LIMIT_SOURCE: 'runninghub', RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL: '5m' });
    expect(settings).toMatchObject({ accountLimitSource: 'runninghub', accountLimitIntervalMs: 300_000 });
    expect(() => loadProcessorConfig({ ...base, RUNNINGHUB_ACCOUNT_LIMIT_SOURCE: 'plan' })).toThrow(/RUNNINGHUB_ACCOUNT_LIMIT_SOURCE/);
    expect(() => loadProcessorConfig({ ...base, RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL: '0s' })).toThrow(/RUNNINGHUB_ACCOUNT_LIMIT_INTERVAL.*at least 100ms/s);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadProcessorConfig({ RUNNINGHUB_API_KEY: 'k' })).toThrow(/DATABASE_URL/);
    expect(() => loadProcessorConfig({ ...base, MAX_PENDING_BATCH: '0' })).toThrow(/MAX_PENDING_BATCH/);
    expect(() => loadProcessorConfig({ ...base, CLAIM_LEASE: '5s', RUNNINGHUB_TIMEOUT: '15s' })).toThrow(/CLAIM_LEASE/);
    expect(() => loadProcessorConfig({ ...base, RUNNINGHUB_WEBHOOK_URL: 'http://127.0.0.1/hook' })).toThrow(/RUNNINGHUB_WEBHOOK_SECRET/);
  });

  it('never puts the API key into an error message', () => {
    expect(() => loadProcessorConfig({ ...base, RUNNINGHUB_API_KEY: 'super-secret', POLL_INTERVAL: 'soon' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('super-secret') }),
    );
  });
});
