import { describe, expect, it } from 'vitest';
import { runningHubClientOptionsFromEnv } from '../../src/runninghub/index.js';

describe('runningHubClientOptionsFromEnv', () => {
  it('reads base URL, key and timeout, defaulting to the local simulator', () => {
    expect(runningHubClientOptionsFromEnv({ RUNNINGHUB_API_KEY: 'k' })).toEqual({ baseUrl: 'http://127.0.0.1:8090', apiKey: 'k', timeoutMs: 15_000, api: 'v1' });
    expect(
      runningHubClientOptionsFromEnv({ RUNNINGHUB_API_KEY: 'k', RUNNINGHUB_BASE_URL: 'https://www.runninghub.cn', RUNNINGHUB_TIMEOUT: '2s', RUNNINGHUB_API: 'auto' }),
    ).toEqual({ baseUrl: 'https://www.runninghub.cn', apiKey: 'k', timeoutMs: 2000, api: 'auto' });
  });

  it('refuses an API generation it does not know, naming RUNNINGHUB_API', () => {
    expect(() => runningHubClientOptionsFromEnv({ RUNNINGHUB_API_KEY: 'k', RUNNINGHUB_API: 'v3' })).toThrow(/RUNNINGHUB_API\b/);
  });

  it('names the variable that is wrong, without echoing the key', () => {
    expect(() => runningHubClientOptionsFromEnv({})).toThrow(/RUNNINGHUB_API_KEY/);
    let message = '';
    try {
      runningHubClientOptionsFromEnv({ RUNNINGHUB_API_KEY: 'secret-key-value', RUNNINGHUB_BASE_URL: 'ftp://x', RUNNINGHUB_TIMEOUT: 'soon' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/RUNNINGHUB_BASE_URL/);
    expect(message).toMatch(/RUNNINGHUB_TIMEOUT/);
    expect(message).not.toContain('secret-key-value');
  });
});
